import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

// Configured once per process from POWERTOOLS_* variables (service name, namespace, log level).
export const logger = new Logger();
export const metrics = new Metrics();
export const tracer = new Tracer();
