import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  dynamoDBClient,
  eventBridgeClient,
  openSearchClient,
  openSearchOperationsClient,
  sqsClient,
} from '../adapters/clients.ts';
import { dynamoDbLedger } from '../adapters/ledger.ts';
import { logger, metrics, tracer } from '../adapters/observability.ts';
import { openSearchPackageAssociations } from '../adapters/opensearch.ts';
import { sqsQueues } from '../adapters/queues.ts';
import { withRecentReads } from '../adapters/recent-reads.ts';
import { loadConfig } from '../config.ts';
import type { Runtime } from '../service/runtime.ts';

/** The real adapters, built once per execution environment; a bad setting stops the cold start here. */
export function lambdaDependencies(): Runtime {
  const config = loadConfig(process.env);
  return {
    config,
    associations: withRecentReads(
      openSearchPackageAssociations(openSearchClient, openSearchOperationsClient),
      config.readReuseMs,
    ),
    queues: sqsQueues(sqsClient),
    ledger: dynamoDbLedger(dynamoDBClient, config.ledgerTable),
    eventBridge: eventBridgeClient,
    logger,
    metrics,
    now: () => new Date(),
    random: () => Math.random(),
    newId: () => randomUUID(),
  };
}

type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Lambda context in every log line, metrics flushed per invocation, the invocation traced when tracing is on. */
export function withPowertools(handler: SqsBatchHandler) {
  const wrapped = middy(handler);
  // Without tracing the middleware would only check, on every invocation, that there is nothing to do.
  if (tracer !== undefined) wrapped.use(captureLambdaHandler(tracer));
  return wrapped.use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
