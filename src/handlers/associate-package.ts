import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { dynamoDBClient, eventBridgeClient, openSearchClient, sqsClient } from '../adapters/clients.ts';
import { logger, metrics, tracer } from '../adapters/observability.ts';
import { openSearchPackageAssociations } from '../adapters/opensearch.ts';
import { sqsQueues } from '../adapters/queues.ts';
import { loadConfig } from '../config.ts';
import { createAssociateHandler } from '../service/associate.ts';

const config = loadConfig(process.env);

export const handler = middy(
  createAssociateHandler({
    config,
    associations: openSearchPackageAssociations(openSearchClient),
    queues: sqsQueues(sqsClient),
    eventBridge: eventBridgeClient,
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: config.idempotencyTable,
      awsSdkV3Client: dynamoDBClient,
    }),
    logger,
    metrics,
    now: () => new Date(),
    random: () => Math.random(),
  }),
)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
