/**
 * SQS events and Lambda contexts for the benchmarks: the test factories, which depend on nothing but Node,
 * so the child processes that import only these and a handler bundle measure the bundle's memory.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext as contextFor, sqsRecord } from '../../test/helpers/factories.ts';

export { ACCOUNT, REGION } from '../../test/helpers/factories.ts';

let sequence = 0;

/** A clean request for `domainName`/`packageId` as the event source mapping delivers it. */
export function requestRecord(domainName: string, packageId: string): SQSRecord {
  sequence += 1;
  return sqsRecord({ domainName, packageId, idempotencyKey: `bench-${sequence}`, requestedBy: 'bench' });
}

/** Ten clean requests for ten different domains (the common batch), or all for `sameDomain`. */
export function cleanBatch(size = 10, sameDomain?: string): SQSEvent {
  return {
    Records: Array.from({ length: size }, (_, index) =>
      requestRecord(sameDomain ?? `orders-${index + 1}`, `F${9001 + (sequence % 1000)}`),
    ),
  };
}

export const lambdaContext = () => contextFor('package-associator-bench-associatePackage');
