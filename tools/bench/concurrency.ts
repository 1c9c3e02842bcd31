/**
 * 3. Batch concurrency with a fixed latency on every fake AWS call, and 4. the AWS calls a successful request
 * costs, counted in the same fakes.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createAssociateHandler } from '../../src/service/associate.ts';
import { createTrackHandler } from '../../src/service/track.ts';
import { type AwsCallCounts, fakeAws, resetCounts } from './lib/fakes.ts';
import { cleanBatch, lambdaContext, trackerContext, trackingRecord } from './lib/records.ts';
import { row, type SectionResult, verdictOf } from './lib/report.ts';
import { median, ms, ratio } from './lib/stats.ts';

export const LATENCY_MS = 50;
export const PARALLEL_TARGET = 1.5;
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
    // Every record of a clean batch ends well, a batch for one domain too: its records share one operation.
    if (response.batchItemFailures.length > 0) throw new Error('a clean batch failed under latency');
    fake.deps.metrics.publishStoredMetrics();
  }
  return { durationMs: median(durations), counts: fake.counts };
}

/** The tracker's calls per followed request: the looks that find it still ASSOCIATING, then the one that ends it. */
interface TrackerCalls {
  again: AwsCallCounts;
  last: AwsCallCounts;
  requests: number;
}

/**
 * The associate handler's clean batches on fakes without latency, then their tracking messages through
 * createTrackHandler on the same ledger: the first look lists the package ASSOCIATING (the message comes back
 * later), the second ACTIVE (the request succeeds).
 */
async function trackerCalls(batches: number): Promise<TrackerCalls> {
  const fake = fakeAws({ looksUntilActive: 1, keepTrackingMessages: true });
  const associate = createAssociateHandler(fake.deps);
  const track = createTrackHandler(fake.deps);
  for (let index = 0; index < batches; index += 1) {
    const response = await associate(cleanBatch(), lambdaContext());
    if (response.batchItemFailures.length > 0) throw new Error('a clean batch failed');
  }
  const messages = fake.trackingMessages.map((message, index) => ({
    body: message.body,
    messageId: `tracking-${index}`,
  }));
  const deliver = async (receiveCount: number, expectFailed: boolean) => {
    resetCounts(fake.counts);
    for (let index = 0; index < messages.length; index += 10) {
      const records: SQSRecord[] = messages
        .slice(index, index + 10)
        .map(({ body, messageId }) => trackingRecord(body, messageId, receiveCount));
      const response = await track({ Records: records }, trackerContext());
      // A look that only schedules the next one records no metric (logMetrics would publish nothing).
      if (fake.deps.metrics.hasStoredMetrics()) fake.deps.metrics.publishStoredMetrics();
      // A look that finds it still running fails its record, which comes back for the next look.
      const failed = response.batchItemFailures.length;
      if (failed !== (expectFailed ? records.length : 0)) {
        throw new Error(`look ${receiveCount}: ${failed} of ${records.length} records failed`);
      }
    }
    return structuredClone(fake.counts);
  };
  const again = await deliver(1, true);
  const last = await deliver(2, false);
  return { again, last, requests: messages.length };
}

export interface ConcurrencyResult {
  concurrency: SectionResult;
  calls: SectionResult;
}

export async function concurrency(repeats: number): Promise<ConcurrencyResult> {
  const single = await timeBatch(() => cleanBatch(1), repeats);
  const parallel = await timeBatch(() => cleanBatch(10), repeats);
  let oneDomain = 0;
  const nextDomain = () => {
    oneDomain += 1;
    return `orders-one-${oneDomain}`;
  };
  const sameDomain = await timeBatch(() => cleanBatch(10, nextDomain()), repeats);
  const parallelRatio = parallel.durationMs / single.durationMs;
  const serialRatio = sameDomain.durationMs / single.durationMs;
  // One operation per domain: the ten share it (AssociatePackages), one per batch, never two at once.
  const operations = sameDomain.counts.associatePackage + sameDomain.counts.associatePackages;
  const serialised = sameDomain.counts.maxConcurrentPerDomain === 1 && operations === repeats;

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
      'one operation carries the ten',
      verdictOf(serialised),
    ),
  ];
  const calls = perRequest(parallel.counts, repeats * 10);
  const tracker = await trackerCalls(repeats);
  const again = perRequest(tracker.again, tracker.requests);
  const last = perRequest(tracker.last, tracker.requests);
  // One PutEvents per request's chain: the batch's events share the call, but each request waits for it.
  const chain = Math.round(
    calls.dynamoDB + calls.associatePackage + Math.ceil(calls.sqsSendMessage + calls.sqsSendMessageBatch) + 1,
  );
  const concurrencyDetails = `### 3. Batch concurrency

The same fakes with ${LATENCY_MS} ms added to every call (AssociatePackage, each ledger read and write, SendMessageBatch,
PutEvents); median of ${repeats} batches after one unrecorded batch. A request is a chain of ${chain} dependent calls
(${calls.getItem.toFixed(0)} ledger read and ${calls.putItem.toFixed(0)} ledger writes, AssociatePackage, PutEvents for the \`Started\` event and the tracking message's
SendMessageBatch: read, claim, call, follow, publish, send, clear), so one request takes about ${chain * LATENCY_MS} ms.
Records of different domains run concurrently (\`processInParallel\`), and the batcher holds
each tracking message and event until every running record has one, then sends them in one call, so ten domains cost about what one
does. Records of one domain share one operation: they meet at \`lock\` and one \`AssociatePackages\` carries them all
(docs/DESIGN.md, "Several packages in one operation"), so the fake saw at most ${sameDomain.counts.maxConcurrentPerDomain} operation in flight per domain
and one per batch of ten (${sameDomain.counts.associatePackages} AssociatePackages and ${sameDomain.counts.associatePackage} AssociatePackage in ${repeats} batches).
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
      'DynamoDB (ledger), associate function',
      `${calls.dynamoDB.toFixed(2)} (${calls.getItem.toFixed(2)} GetItem, ${calls.putItem.toFixed(2)} PutItem)`,
      '4 (read; claim, follow, clear)',
    ),
    row(
      'SQS calls (tracking messages)',
      `${(calls.sqsSendMessage + calls.sqsSendMessageBatch).toFixed(2)} (${calls.sqsSendMessageBatch.toFixed(2)} SendMessageBatch)`,
      '0.10 (1 per 10 messages)',
      '≤ 0.10',
      verdictOf(calls.sqsSendMessage + calls.sqsSendMessageBatch <= PUT_EVENTS_TARGET + 1e-9),
    ),
    row(
      'Tracker, each check that finds it running',
      `${again.getItem.toFixed(2)} GetItem, ${again.putItem.toFixed(2)} PutItem; ${again.listPackagesForDomain.toFixed(2)} ListPackagesForDomain, ${again.sqsChangeMessageVisibility.toFixed(2)} ChangeMessageVisibility`,
      '1 GetItem per check',
    ),
    row(
      'Tracker, the check that ends it',
      `${last.getItem.toFixed(2)} GetItem, ${last.putItem.toFixed(2)} PutItem; ${last.listPackagesForDomain.toFixed(2)} ListPackagesForDomain, ${last.putEvents.toFixed(2)} PutEvents`,
      '1 GetItem; 2 PutItem (conclude, clear)',
    ),
  ];
  const callDetails = `### 4. AWS calls per successful request

Counted by the fakes over the ${repeats} batches of ten requests for ten domains in section 3 (a request that ends
\`ASSOCIATING\`, the common case), divided by the number of requests. The tracker's rows come from ${tracker.requests / 10} more such
batches, without latency, whose tracking messages then go through \`createTrackHandler\` on the same ledger: at the
first look the fake lists the package \`ASSOCIATING\`, at the second \`ACTIVE\`.

- **AssociatePackage: 1** is the work itself.
- **PutEvents: 0.1.** The \`Started\` event must be published; PutEvents takes ten entries per call, so a full
  batch needs one call. A batch whose records are all for one domain needs one call per record
  (${sameDomainPutEvents.toFixed(2)} calls per event measured): those records run one after another, and a record
  may only finish once its event is out (its message is not deleted until the record's outbox is sent, so the
  event is not lost with the invocation).
- **DynamoDB: ${calls.getItem.toFixed(0)} GetItem and ${calls.putItem.toFixed(0)} PutItem in the associate function, measured.** The request
  ledger (docs/DESIGN.md, "The request ledger") reads the request's record first, a consistent read: whether this
  is a new request, a copy, a takeover or a key conflict is decided on what the ledger holds. Every write then
  is a whole-item PutItem conditional on the version read (\`attribute_not_exists(id)\` for a new record):
  \`claim\` creates the record \`ACCEPTED\` with a lease to this invocation *before* AssociatePackage, so a concurrent
  duplicate cannot call it a second time; \`follow\` moves it to \`TRACKING\` with the \`Started\` event and the tracking
  message in its outbox before either is sent, so an invocation that dies after the call leaves them in the ledger
  for any copy of the request to send; \`clear\` empties the outbox once both are out, and from then on a copy is a
  silent duplicate.
- **Tracker: 1 GetItem per check, then 2 PutItem.** Each look at a followed request reads its record
  (${again.getItem.toFixed(2)} GetItem measured per look that finds it still \`ASSOCIATING\`, ${again.putItem.toFixed(2)} PutItem; the same message is then hidden for the next
  delay with ChangeMessageVisibility), and the look that ends it writes the decision (\`conclude\`) and clears the
  outbox once the outcome event is out (${last.getItem.toFixed(2)} GetItem and ${last.putItem.toFixed(2)} PutItem measured). A request followed
  over *k* checks costs the ledger ${calls.getItem.toFixed(0)} + *k* reads and ${calls.putItem.toFixed(0)} + ${last.putItem.toFixed(0)} writes in all.
  The Powertools idempotency store the ledger replaced made 2 writes per request (a conditional put and an update)
  and none in the tracker; what the extra calls buy is the outbox (nothing announced is lost with an invocation)
  and a tracker that acts only on what the ledger says it follows. Write units depend on the item's size, which
  the outbox and the kept body raise: section 6 counts them. Batching does not help: BatchWriteItem takes no
  conditions, and TransactWriteItems fails the whole batch on one conflict at twice the price.
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
  listPackagesForDomain: number;
  putEvents: number;
  putEventsEntries: number;
  dynamoDB: number;
  putItem: number;
  getItem: number;
  sqsSendMessage: number;
  sqsSendMessageBatch: number;
  sqsChangeMessageVisibility: number;
}

function perRequest(counts: AwsCallCounts, total: number): PerRequestCalls {
  const { getItem, putItem } = counts.dynamoDB;
  return {
    associatePackage: counts.associatePackage / total,
    listPackagesForDomain: counts.listPackagesForDomain / total,
    putEvents: counts.putEvents / total,
    putEventsEntries: counts.putEventsEntries / total,
    dynamoDB: (getItem + putItem) / total,
    putItem: putItem / total,
    getItem: getItem / total,
    sqsSendMessage: counts.sqsSendMessage / total,
    sqsSendMessageBatch: counts.sqsSendMessageBatch / total,
    sqsChangeMessageVisibility: counts.sqsChangeMessageVisibility / total,
  };
}
