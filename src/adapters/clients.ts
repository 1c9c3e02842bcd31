import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { OpenSearchClient } from '@aws-sdk/client-opensearch';
import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from './observability.ts';

/** Traced through X-Ray when tracing is on; the client itself otherwise (what Tracer would return too). */
function traced<T>(client: T): T {
  return tracer === undefined ? client : tracer.captureAWSv3Client(client);
}

// One client per service for the life of the execution environment, so warm invocations reuse connections.
// AWS_ENDPOINT_URL (read by the SDK itself) points them at the local stack.
export const openSearchClient = traced(new OpenSearchClient({}));
// The SQS client sends each call to its QueueUrl's host unless given an explicit endpoint; with a local
// endpoint configured, that host must not win.
const sqsEndpoint = process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL;
export const sqsClient = traced(new SQSClient(sqsEndpoint ? { endpoint: sqsEndpoint } : {}));
export const eventBridgeClient = traced(new EventBridgeClient({}));
/**
 * The idempotency store's writes come after the events they guard: one that fails for good after PutEvents
 * lets a retry announce again. So the store retries throttling and 5xx harder than the SDK's default three
 * attempts (five attempts take at most a few seconds of backoff).
 */
const IDEMPOTENCY_STORE_MAX_ATTEMPTS = 5;
export const dynamoDBClient = traced(new DynamoDBClient({ maxAttempts: IDEMPOTENCY_STORE_MAX_ATTEMPTS }));
