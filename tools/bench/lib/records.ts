/**
 * SQS events and Lambda contexts for the benchmarks: the test factories, which depend on nothing but Node,
 * so the child processes that import only these and a handler bundle measure the bundle's memory.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { ACCOUNT, lambdaContext as contextFor, REGION, sqsRecord } from '../../../test/helpers/factories.ts';

export { ACCOUNT, REGION };

let sequence = 0;
let domainSequence = 0;

/** A clean request for `domainName`/`packageId` as the event source mapping delivers it. */
export function requestRecord(domainName: string, packageId: string): SQSRecord {
  sequence += 1;
  return sqsRecord({ domainName, packageId, idempotencyKey: `bench-${sequence}`, requestedBy: 'bench' });
}

/** Ten clean requests for ten different domains (the common batch), or all for `sameDomain`. */
export function cleanBatch(size = 10, sameDomain?: string): SQSEvent {
  return {
    // A domain of its own for each request: a domain runs one package operation at a time, and the requests
    // of earlier batches still hold theirs (they are followed, never decided, in the benchmarks).
    Records: Array.from({ length: size }, () => {
      domainSequence += 1;
      return requestRecord(sameDomain ?? `orders-${domainSequence}`, `F${9001 + (sequence % 1000)}`);
    }),
  };
}

export const lambdaContext = () => contextFor('package-associator-bench-associatePackage');

export const TRACKING_QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:package-associator-tracking`;

/** A message of the tracking queue as the tracker's event source mapping delivers it, on its `receiveCount`th receipt. */
export function trackingRecord(body: string, messageId: string, receiveCount: number): SQSRecord {
  return { ...sqsRecord(body, { messageId, receiveCount }), eventSourceARN: TRACKING_QUEUE_ARN };
}

export const trackerContext = () => contextFor('package-associator-bench-trackAssociation');
