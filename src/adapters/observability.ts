import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';

// Configured once per process from POWERTOOLS_* variables (service name, namespace, log level).
export const logger = new Logger();
export const metrics = new Metrics();

/**
 * Tracer's own rule for switching itself on (`Tracer#setTracingEnabled` in @aws-lambda-powertools/tracer):
 * not when POWERTOOLS_TRACE_ENABLED is `false`, and only inside Lambda, outside SAM local and Amplify mocks.
 */
export function isTracingEnabled(environment: NodeJS.ProcessEnv): boolean {
  const executionEnvironment = environment.AWS_EXECUTION_ENV?.trim() ?? '';
  if (environment.POWERTOOLS_TRACE_ENABLED?.trim().toLowerCase() === 'false') return false;
  if ((environment.AWS_SAM_LOCAL?.trim() ?? '') !== '') return false;
  return executionEnvironment !== '' && executionEnvironment !== 'AWS_Lambda_amplify-mock';
}

// The X-Ray SDK behind Tracer is the largest single part of a cold start after the AWS SDK (docs/PERFORMANCE.md);
// where Tracer would switch itself off anyway, it is not loaded at all.
export const tracer: Tracer | undefined = isTracingEnabled(process.env)
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer()
  : undefined;
