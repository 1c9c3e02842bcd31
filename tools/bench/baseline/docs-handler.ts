/**
 * The baseline for the cold-start benchmark: the same job written the way the Powertools and AWS SDK docs
 * show it, with every utility and all four SDK clients created eagerly at module scope.
 * https://docs.powertools.aws.dev/lambda/typescript/latest/features/batch/
 * https://docs.powertools.aws.dev/lambda/typescript/latest/features/idempotency/
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AssociatePackageCommand, OpenSearchClient } from '@aws-sdk/client-opensearch';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();

const openSearch = tracer.captureAWSv3Client(new OpenSearchClient({}));
const sqs = tracer.captureAWSv3Client(new SQSClient({}));
const eventBridge = tracer.captureAWSv3Client(new EventBridgeClient({}));
const dynamoDB = tracer.captureAWSv3Client(new DynamoDBClient({}));

const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: process.env.IDEMPOTENCY_TABLE ?? 'idempotency',
  awsSdkV3Client: dynamoDB,
});
const idempotencyConfig = new IdempotencyConfig({ eventKeyJmesPath: 'idempotencyKey' });

interface Request {
  idempotencyKey: string;
  domainName: string;
  packageId: string;
}

const associate = makeIdempotent(
  async (request: Request) => {
    const response = await openSearch.send(
      new AssociatePackageCommand({ DomainName: request.domainName, PackageID: request.packageId }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: process.env.TRACKING_QUEUE_URL,
        MessageBody: JSON.stringify(request),
      }),
    );
    await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: process.env.EVENT_BUS_NAME,
            Source: 'package-associator',
            DetailType: 'PackageAssociationStarted',
            Detail: JSON.stringify({
              ...request,
              status: response.DomainPackageDetails?.DomainPackageStatus,
            }),
          },
        ],
      }),
    );
    metrics.addMetric('AssociationStarted', MetricUnit.Count, 1);
    return { status: response.DomainPackageDetails?.DomainPackageStatus };
  },
  { persistenceStore, config: idempotencyConfig },
);

const processor = new BatchProcessor(EventType.SQS);

const recordHandler = async (record: SQSRecord) => {
  await associate(JSON.parse(record.body) as Request);
};

export const handler = middy(async (event: SQSEvent, context: Context) => {
  idempotencyConfig.registerLambdaContext(context);
  return processPartialResponse(event, recordHandler, processor, { context });
})
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
