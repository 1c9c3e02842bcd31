/**
 * SQS events and Lambda contexts for the benchmarks, with no dependencies, so that the child processes which
 * import only these and a handler bundle measure the bundle's memory, not the bench's.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';
const REQUESTS_QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:package-associator-requests`;

let sequence = 0;

/** A clean request for `domainName`/`packageId` as the event source mapping delivers it. */
export function requestRecord(domainName: string, packageId: string): SQSRecord {
  sequence += 1;
  const messageId = `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`;
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body: JSON.stringify({
      domainName,
      packageId,
      idempotencyKey: `bench-${sequence}`,
      requestedBy: 'bench',
    }),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1767225600000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1767225600001',
    },
    messageAttributes: {},
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: REQUESTS_QUEUE_ARN,
    awsRegion: REGION,
  };
}

/** Ten clean requests for ten different domains (the common batch), or all for `sameDomain`. */
export function cleanBatch(size = 10, sameDomain?: string): SQSEvent {
  return {
    Records: Array.from({ length: size }, (_, index) =>
      requestRecord(sameDomain ?? `orders-${index + 1}`, `F${9001 + (sequence % 1000)}`),
    ),
  };
}

export function lambdaContext(): Context {
  const functionName = 'package-associator-bench-associatePackage';
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: `bench-${sequence}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
