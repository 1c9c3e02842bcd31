import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { OpenSearchClient } from '@aws-sdk/client-opensearch';
import { SQSClient } from '@aws-sdk/client-sqs';
import { StandardRetryStrategy } from '@smithy/core/retry';
import type { RetryErrorInfo, StandardRetryToken } from '@smithy/types';
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
 * else the account does. Reads keep the SDK's standard retries (3 attempts; `AWS_RETRY_MODE`, the SDK's own
 * setting, still applies). The adaptive mode was tried and dropped: its client-side rate fell with every throttle,
 * and under the soak's random throttling a whole burst stalled (docs/PERFORMANCE.md, section 8).
 */
export const openSearchClient = traced(new OpenSearchClient({ requestHandler }));

/**
 * An operation (AssociatePackage, DissociatePackage) is retried by the SDK only after a throttle, which AWS
 * answers before doing anything. After a reset, a timeout or a 5xx the call may have taken effect: retried at
 * once, it would start a second operation on a package whose first one had already failed. It goes back to the
 * handler instead, which reads the listing before calling again (docs/DESIGN.md, "An unseen answer is read, not
 * repeated").
 */
export class ThrottlingRetriesOnly extends StandardRetryStrategy {
  override refreshRetryTokenForRetry(token: StandardRetryToken, errorInfo: RetryErrorInfo) {
    if (errorInfo.errorType !== 'THROTTLING') {
      return Promise.reject(new Error(`an operation is not retried after a ${errorInfo.errorType} error`));
    }
    return super.refreshRetryTokenForRetry(token, errorInfo);
  }
}

/** The SDK's 3 attempts, the later ones only after a throttle. */
export const operationsRetryStrategy = () => new ThrottlingRetriesOnly(3);

export const openSearchOperationsClient = traced(
  new OpenSearchClient({ requestHandler, retryStrategy: operationsRetryStrategy() }),
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
