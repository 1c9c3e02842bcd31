/**
 * 3. Batch concurrency with a fixed latency on every fake AWS call, and 4. the AWS calls a successful request
 * costs, counted in the same fakes.
 */
import type { SQSEvent } from 'aws-lambda';
import { createAssociateHandler } from '../src/service/associate.ts';
import { type AwsCallCounts, fakeAws, resetCounts } from './lib/fakes.ts';
import { cleanBatch, lambdaContext } from './lib/records.ts';
import { row, type SectionResult, verdictOf } from './lib/report.ts';
import { median, ms, ratio } from './lib/stats.ts';

export const LATENCY_MS = 50;
export const PARALLEL_TARGET = 1.5;
/** "One after another" holds when ten same-domain requests take at least this many single requests' time. */
export const SERIAL_MINIMUM = 9;
export const PUT_EVENTS_TARGET = 0.1;

async function timeBatch(makeEvent: () => SQSEvent, repeats: number) {
  const fake = fakeAws({ latencyMs: LATENCY_MS });
  const handler = createAssociateHandler(fake.deps);
  // The first call pays for lazy initialisation; it is not a concurrency property.
  await handler(makeEvent(), lambdaContext());
  resetCounts(fake.counts);
  const durations: number[] = [];
  for (let index = 0; index < repeats; index += 1) {
    const event = makeEvent();
    const started = performance.now();
    const response = await handler(event, lambdaContext());
    durations.push(performance.now() - started);
    if (response.batchItemFailures.length > 0) throw new Error('a clean batch failed under latency');
    fake.deps.metrics.publishStoredMetrics();
  }
  return { durationMs: median(durations), counts: fake.counts };
}

export interface ConcurrencyResult {
  concurrency: SectionResult;
  calls: SectionResult;
}

export async function concurrency(repeats: number): Promise<ConcurrencyResult> {
  const single = await timeBatch(() => cleanBatch(1), repeats);
  const parallel = await timeBatch(() => cleanBatch(10), repeats);
  const sameDomain = await timeBatch(() => cleanBatch(10, 'orders-1'), repeats);
  const parallelRatio = parallel.durationMs / single.durationMs;
  const serialRatio = sameDomain.durationMs / single.durationMs;
  const serialised = sameDomain.counts.maxConcurrentPerDomain === 1 && serialRatio >= SERIAL_MINIMUM;

  const concurrencyRows = [
    row('One request', ms(single.durationMs), `${LATENCY_MS} ms per AWS call`),
    row(
      'Ten requests, ten domains',
      `${ms(parallel.durationMs)} (${ratio(parallelRatio)})`,
      'one request',
      `≤ ${PARALLEL_TARGET}×`,
      verdictOf(parallelRatio <= PARALLEL_TARGET),
    ),
    row(
      'Ten requests, one domain',
      `${ms(sameDomain.durationMs)} (${ratio(serialRatio)}), ≤ ${sameDomain.counts.maxConcurrentPerDomain} in flight`,
      'one request',
      '≈ 10×, one at a time',
      verdictOf(serialised),
    ),
  ];
  const calls = perRequest(parallel.counts, repeats * 10);
  // One PutEvents per request's chain: the batch's events share the call, but each request waits for it.
  const chain = Math.round(
    calls.dynamoDB + calls.associatePackage + Math.ceil(calls.sqsSendMessage + calls.sqsSendMessageBatch) + 1,
  );
  const concurrencyDetails = `### 3. Batch concurrency

The same fakes with ${LATENCY_MS} ms added to every call (AssociatePackage, each persistence-store operation, SendMessageBatch,
PutEvents); median of ${repeats} batches after one unrecorded batch. A request is a chain of ${chain} dependent calls
(${calls.dynamoDB.toFixed(0)} persistence-store writes, AssociatePackage, the tracking message's SendMessageBatch and PutEvents), so one request
takes about ${chain * LATENCY_MS} ms. Records of different domains run concurrently (\`processInParallel\`), and the batcher holds
each tracking message and event until every running record has one, then sends them in one call, so ten domains cost about what one
does. Records of one domain run one after another (the API refuses a second package operation on a domain while
one runs), and the fake saw at most ${sameDomain.counts.maxConcurrentPerDomain} AssociatePackage call in flight per domain.
`;

  const sameDomainPutEvents = sameDomain.counts.putEvents / sameDomain.counts.putEventsEntries;
  const callRows = [
    row('AssociatePackage', calls.associatePackage.toFixed(2), '1', '', 'info'),
    row(
      'PutEvents calls',
      `${calls.putEvents.toFixed(2)} (${calls.putEventsEntries.toFixed(2)} events)`,
      '0.10 (1 event)',
      `≤ ${PUT_EVENTS_TARGET.toFixed(2)} (1 per 10 events)`,
      verdictOf(calls.putEvents <= PUT_EVENTS_TARGET + 1e-9),
    ),
    row(
      'DynamoDB (persistence store)',
      `${calls.dynamoDB.toFixed(2)} (${calls.putItem.toFixed(2)} put, ${calls.updateItem.toFixed(2)} update, ${calls.getItem.toFixed(2)} get)`,
      '2 (claim, outcome)',
    ),
    row(
      'SQS calls (tracking messages)',
      `${(calls.sqsSendMessage + calls.sqsSendMessageBatch).toFixed(2)} (${calls.sqsSendMessageBatch.toFixed(2)} SendMessageBatch)`,
      '0.10 (1 per 10 messages)',
      '≤ 0.10',
      verdictOf(calls.sqsSendMessage + calls.sqsSendMessageBatch <= PUT_EVENTS_TARGET + 1e-9),
    ),
  ];
  const callDetails = `### 4. AWS calls per successful request

Counted by the fakes over the ${repeats} batches of ten requests for ten domains in section 3 (a request that ends
\`ASSOCIATING\`, the common case), divided by the number of requests.

- **AssociatePackage: 1** is the work itself.
- **PutEvents: 0.1.** The \`Started\` event must be published; PutEvents takes ten entries per call, so a full
  batch needs one call. A batch whose records are all for one domain needs one call per record
  (${sameDomainPutEvents.toFixed(2)} calls per event measured): those records run one after another, and a record
  may only finish once its event is out (a record that finished without its event could never publish it again,
  the idempotency record already saying it is done).
- **DynamoDB: ${calls.dynamoDB.toFixed(0)} writes measured (${calls.putItem.toFixed(0)} conditional put, ${calls.updateItem.toFixed(0)} update; 1 WRU each, the items
  being under 1 KB), the least a claim-and-record scheme can do.** The request's key is claimed with a
  conditional put *before* AssociatePackage, or a concurrent duplicate would call it a second time, and the record
  is completed with the outcome once it is announced, or a redelivery within the idempotency window would
  announce it again. The call's answer is written only when announcing it fails: the record then completes as
  \`unannounced\` with the answer, and the retry announces that instead of calling AWS again (three writes on that
  path). What the saved writes cost: an environment that dies between AssociatePackage and the completing write
  leaves the claim to expire, and the retry calls AssociatePackage again; AWS answers that the package is already
  associated or being associated, which the service reads as "already in desired state" and follows. Until this
  was measured, a second record held the call's answer as soon as it came, four writes per request (the section
  5 and 2 figures fell by about a third when it went). Batching does not help: BatchWriteItem takes no
  conditions, and TransactWriteItems fails the whole batch on one duplicate at twice the price.
- **SQS: ${(calls.sqsSendMessage + calls.sqsSendMessageBatch).toFixed(2)} calls** hand the associations over to the tracker.
  The tracking messages of a batch go out in one SendMessageBatch (\`BatchedQueueSender\`), under the same rule as
  the events (\`InvocationBatcher\`: a call goes when every running record waits on one), which saves
  $0.36 per million associations at $0.40 per million SQS requests. Like PutEvents, records of one domain
  need a call each.
`;
  return {
    concurrency: {
      title: `3. Batch concurrency (${LATENCY_MS} ms per AWS call)`,
      rows: concurrencyRows,
      details: concurrencyDetails,
    },
    calls: { title: '4. AWS calls per successful request', rows: callRows, details: callDetails },
  };
}

export interface PerRequestCalls {
  associatePackage: number;
  putEvents: number;
  putEventsEntries: number;
  dynamoDB: number;
  putItem: number;
  updateItem: number;
  getItem: number;
  sqsSendMessage: number;
  sqsSendMessageBatch: number;
}

function perRequest(counts: AwsCallCounts, total: number): PerRequestCalls {
  const { getItem, putItem, updateItem, deleteItem } = counts.dynamoDB;
  return {
    associatePackage: counts.associatePackage / total,
    putEvents: counts.putEvents / total,
    putEventsEntries: counts.putEventsEntries / total,
    dynamoDB: (getItem + putItem + updateItem + deleteItem) / total,
    putItem: putItem / total,
    updateItem: updateItem / total,
    getItem: getItem / total,
    sqsSendMessage: counts.sqsSendMessage / total,
    sqsSendMessageBatch: counts.sqsSendMessageBatch / total,
  };
}
