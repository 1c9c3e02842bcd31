import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { OpenSearchClient } from '@aws-sdk/client-opensearch';
import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from './observability.ts';

/** Traced through X-Ray when tracing is on; the client itself otherwise (what Tracer would return too). */
function traced<T>(client: T): T {
  return tracer === undefined ? client : tracer.captureAWSv3Client(client);
}

/**
 * Every call has a deadline: a connection that hangs must fail the call (and let the record retry), not run
 * the invocation into its own timeout while it holds a request's lease. AWS answers these calls in well under
 * a second; the request timeout leaves room for a slow answer, not for a stalled one.
 */
const requestHandler = { connectionTimeout: 2_000, requestTimeout: 5_000 };

// One client per service for the life of the execution environment, so warm invocations reuse connections.
// AWS_ENDPOINT_URL (read by the SDK itself) points them at the local stack.
/**
 * The configuration API throttles per account and region (ThrottlingException, HTTP 400), shared with everything
 * else the account does. The adaptive mode adds to the standard retries a client-side rate that drops when AWS
 * throttles and climbs back when it stops, so a burst slows down instead of retrying into the limit
 * (docs/PERFORMANCE.md, section 7, measures both). `AWS_RETRY_MODE`, the SDK's own setting, still wins when set.
 * Attempts stay at the SDK's 3: a record that runs out of them is retried whole after its backoff.
 */
export const openSearchClient = traced(
  new OpenSearchClient({
    requestHandler,
    retryMode: process.env.AWS_RETRY_MODE === 'standard' ? 'standard' : 'adaptive',
  }),
);
// The SQS client sends each call to its QueueUrl's host unless given an explicit endpoint; with a local
// endpoint configured, that host must not win.
const sqsEndpoint = process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL;
export const sqsClient = traced(
  new SQSClient({ requestHandler, ...(sqsEndpoint !== undefined && { endpoint: sqsEndpoint }) }),
);
export const eventBridgeClient = traced(new EventBridgeClient({ requestHandler }));
/**
 * The ledger's `clear` comes after the sends it records: one that fails for good makes the next reader send
 * them again (under the same ids). Five attempts instead of the SDK's three make that rarer for a few seconds
 * of backoff; a retried write whose first answer was lost is recognised by its id (src/adapters/ledger.ts).
 */
const LEDGER_MAX_ATTEMPTS = 5;
export const dynamoDBClient = traced(
  new DynamoDBClient({ maxAttempts: LEDGER_MAX_ATTEMPTS, requestHandler }),
);
