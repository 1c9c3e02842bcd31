/**
 * 7. A rollout at scale: one rollout of 100 domains through the local stack (in a process of its own), its
 * control-plane calls per domain beside a plain request's, and its wall time beside the floor AWS's own
 * association delays set.
 */

import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListPackagesForDomainCommand, OpenSearchClient } from '@aws-sdk/client-opensearch';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CallCount, OperationName } from '../../local/opensearch/model.ts';
import { dynamoDbLedger } from '../../src/adapters/ledger.ts';
import { rolloutRecordId } from '../../src/domain/rollout.ts';
import { QueueCollector } from '../soak/queue-collector.ts';
import { DYNAMODB_ITEM_LIMIT, itemSize } from './lib/item-size.ts';
import { row, type SectionResult } from './lib/report.ts';
import type { StackCommand, StackReady, StackVariant } from './lib/stack-process.ts';
import { kib, ms, percent } from './lib/stats.ts';

const seconds = (value: number) => `${(value / 1000).toFixed(1)} s`;

const DOMAINS = 100;
const WAVE_SIZE = 10;
const ASSOCIATION_DELAY_MS = 3000;
const ROLLOUT_PACKAGE = 'F9001';
const PLAIN_PACKAGE = 'F9002';
const WAIT_LIMIT_MS = 150_000;
const ROLLOUT_ENDS = ['PackageRolloutCompleted', 'PackageRolloutHalted'];
const STACK: StackVariant = {
  associationDelayMs: ASSOCIATION_DELAY_MS,
  // The tracker at its shortest, as the integration tests run it; checks back off 1 s, 2 s, 2 s...
  handlerEnvironment: {
    TRACKING_FIRST_DELAY_SECONDS: '1',
    TRACKING_MAX_DELAY_SECONDS: '2',
    BACKOFF_BASE_SECONDS: '1',
    BACKOFF_MAX_SECONDS: '2',
  },
  conflictOnConcurrentOperations: true,
};
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const domainNames = Array.from({ length: DOMAINS }, (_, index) => `orders-${index + 1}`);

interface Event {
  'detail-type': string;
  detail: Record<string, unknown> & { occurredAt: string };
}

type Calls = Record<OperationName, CallCount>;

class Harness {
  readonly sqs: SQSClient;
  readonly openSearch: OpenSearchClient;
  readonly dynamo: DynamoDBClient;
  readonly events: QueueCollector;
  readonly ready: StackReady;

  constructor(ready: StackReady) {
    this.ready = ready;
    const client = { endpoint: ready.endpoint, region: ready.region, credentials };
    this.sqs = new SQSClient(client);
    this.openSearch = new OpenSearchClient(client);
    this.dynamo = new DynamoDBClient(client);
    this.events = new QueueCollector(this.sqs, ready.queueUrls.events);
  }

  received(): Event[] {
    return this.events.messages.map((message) => JSON.parse(message.Body ?? '{}') as Event);
  }

  async calls(): Promise<Calls> {
    const answer = await fetch(`${this.ready.endpoint}/_emulator/opensearch/call-counts`);
    return (await answer.json()) as Calls;
  }

  waitFor<T>(read: () => T | undefined, what: string): Promise<T> {
    return this.events.waitFor(read, WAIT_LIMIT_MS, what);
  }

  async stop(): Promise<void> {
    await this.events.stop();
    for (const client of [this.sqs, this.openSearch, this.dynamo]) client.destroy();
  }
}

/** Calls made between two readings of the emulator's counts, per operation that was called. */
function callsBetween(before: Calls, after: Calls): Partial<Record<OperationName, number>> {
  const out: Partial<Record<OperationName, number>> = {};
  for (const [name, count] of Object.entries(after) as [OperationName, CallCount][]) {
    const made = count.calls - (before[name]?.calls ?? 0);
    if (made > 0) out[name] = made;
  }
  return out;
}

const total = (calls: Partial<Record<OperationName, number>>) =>
  Object.values(calls).reduce((sum, count) => sum + count, 0);

const perDomain = (calls: Partial<Record<OperationName, number>>) =>
  Object.entries(calls)
    .map(([name, count]) => `${name} ${(count / DOMAINS).toFixed(2)}`)
    .join(', ');

const time = (event: Event | undefined) => Date.parse(event?.detail.occurredAt ?? '');

/** The same association as a rollout's child, without a rollout: one request per domain, all sent at once. */
async function plainRequests(harness: Harness) {
  const run = randomUUID().slice(0, 8);
  const keys = domainNames.map((domainName) => `bench-plain-${run}-${domainName}`);
  const before = await harness.calls();
  const sentAt = Date.now();
  for (let start = 0; start < DOMAINS; start += 10) {
    const entries = domainNames.slice(start, start + 10).map((domainName, index) => ({
      Id: String(index),
      MessageBody: JSON.stringify({
        domainName,
        packageId: PLAIN_PACKAGE,
        idempotencyKey: keys[start + index],
      }),
    }));
    await harness.sqs.send(
      new SendMessageBatchCommand({ QueueUrl: harness.ready.queueUrls.requests, Entries: entries }),
    );
  }
  const wanted = new Set(keys);
  const decisions = await harness.waitFor(() => {
    const found = harness
      .received()
      .filter(
        (event) =>
          event['detail-type'].endsWith('Succeeded') && wanted.has(String(event.detail.idempotencyKey)),
      );
    return new Set(found.map((event) => event.detail.idempotencyKey)).size === DOMAINS ? found : undefined;
  }, 'the plain requests to succeed');
  return {
    wallMs: Math.max(...decisions.map(time)) - sentAt,
    calls: callsBetween(before, await harness.calls()),
  };
}

interface Wave {
  spanMs: number;
  /** From the wave's start to its last child's call (its `Started` event). */
  dispatchMs: number;
  /** The longest child: from its call to the listing's `LastUpdated` when it turned ACTIVE. */
  longestMs: number;
  /** From the last child's ACTIVE to the wave's completion: the tracker noticing it, and the advance. */
  noticeMs: number;
}

/** Each wave's timing, from the rollout's events, its children's Started events and the domains' listings. */
async function waveTimings(harness: Harness, rolloutId: string, events: Event[]): Promise<Wave[]> {
  const ofRollout = events.filter((event) => event.detail.rolloutId === rolloutId);
  const started = ofRollout.find((event) => event['detail-type'] === 'PackageRolloutStarted');
  const waves = (started?.detail.waves ?? []) as string[][];
  const childStarted = new Map<string, number>();
  for (const event of ofRollout) {
    if (event['detail-type'] === 'PackageAssociationStarted') {
      childStarted.set(String(event.detail.domainName), time(event));
    }
  }
  const activeAt = new Map<string, number>();
  for (const domainName of domainNames) {
    const { DomainPackageDetailsList = [] } = await harness.openSearch.send(
      new ListPackagesForDomainCommand({ DomainName: domainName }),
    );
    const entry = DomainPackageDetailsList.find((details) => details.PackageID === ROLLOUT_PACKAGE);
    if (
      entry?.DomainPackageStatus !== 'ACTIVE' ||
      entry.PackageVersion !== 'v1' ||
      entry.LastUpdated === undefined
    ) {
      throw new Error(`${domainName} lists ${ROLLOUT_PACKAGE} ${entry?.DomainPackageStatus ?? 'not at all'}`);
    }
    activeAt.set(domainName, entry.LastUpdated.getTime());
  }
  const completedAt = (wave: number) =>
    time(
      ofRollout.find(
        (event) => event['detail-type'] === 'PackageRolloutWaveCompleted' && event.detail.wave === wave,
      ),
    );
  return waves.map((domains, index) => {
    const startMs = index === 0 ? time(started) : completedAt(index - 1);
    const endMs = completedAt(index);
    const calledAt = domains.map((domainName) => childStarted.get(domainName) ?? Number.NaN);
    const settledAt = domains.map((domainName) => activeAt.get(domainName) ?? Number.NaN);
    return {
      spanMs: endMs - startMs,
      dispatchMs: Math.max(...calledAt) - startMs,
      longestMs: Math.max(...domains.map((_, child) => (settledAt[child] ?? 0) - (calledAt[child] ?? 0))),
      noticeMs: endMs - Math.max(...settledAt),
    };
  });
}

async function rollout(harness: Harness) {
  const rolloutId = `bench-rollout-${randomUUID().slice(0, 8)}`;
  const before = await harness.calls();
  const sentAt = Date.now();
  await harness.sqs.send(
    new SendMessageCommand({
      QueueUrl: harness.ready.queueUrls.requests,
      MessageBody: JSON.stringify({
        action: 'rollout',
        packageId: ROLLOUT_PACKAGE,
        domains: ['orders-*'],
        strategy: { canary: 1, waveSize: WAVE_SIZE, maxFailures: 0 },
        idempotencyKey: rolloutId,
      }),
    }),
  );
  const end = await harness.waitFor(
    () =>
      harness
        .received()
        .find((event) => event.detail.rolloutId === rolloutId && ROLLOUT_ENDS.includes(event['detail-type'])),
    `the end of ${rolloutId}`,
  );
  const calls = callsBetween(before, await harness.calls());
  if (end['detail-type'] !== 'PackageRolloutCompleted')
    throw new Error(`${rolloutId} ended ${end['detail-type']}`);
  const decisions = new Set(
    harness
      .received()
      .filter(
        (event) =>
          event.detail.rolloutId === rolloutId && event['detail-type'] === 'PackageAssociationSucceeded',
      )
      .map((event) => event.detail.eventId),
  );
  if (decisions.size !== DOMAINS) throw new Error(`${decisions.size} decisions for ${DOMAINS} domains`);
  const waves = await waveTimings(harness, rolloutId, harness.received());
  const record = await dynamoDbLedger(harness.dynamo, harness.ready.tableName).get(
    rolloutRecordId(rolloutId),
  );
  // The last write also held the two events it owed (the last wave's and the decision), each every outcome.
  const lastWave = harness
    .received()
    .find((event) => event.detail.rolloutId === rolloutId && event.detail.wave === waves.length - 1);
  const largestWrite =
    itemSize(record) +
    Buffer.byteLength(JSON.stringify(end.detail)) +
    Buffer.byteLength(JSON.stringify(lastWave?.detail));
  return {
    wallMs: time(end) - sentAt,
    acceptMs: time(harness.received().find((event) => event.detail.rolloutId === rolloutId)) - sentAt,
    calls,
    waves,
    largestWrite,
  };
}

export async function rolloutScale(): Promise<SectionResult> {
  const child = fork(
    new URL('./lib/stack-process.ts', import.meta.url),
    [String(DOMAINS), '2', JSON.stringify(STACK)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const exited = once(child, 'exit');
  const [ready] = (await once(child, 'message')) as [StackReady];
  const harness = new Harness(ready);
  let plain: Awaited<ReturnType<typeof plainRequests>>;
  let measured: Awaited<ReturnType<typeof rollout>>;
  const started = performance.now();
  try {
    // Also the warm-up: every execution environment's cold start falls here, not in the rollout's waves.
    plain = await plainRequests(harness);
    measured = await rollout(harness);
  } finally {
    await harness.stop();
    child.send({ type: 'stop' } satisfies StackCommand);
  }
  await exited;
  return report(plain, measured, performance.now() - started);
}

function report(
  plain: Awaited<ReturnType<typeof plainRequests>>,
  measured: Awaited<ReturnType<typeof rollout>>,
  runMs: number,
): SectionResult {
  const { waves } = measured;
  const sum = (pick: (wave: Wave) => number) => waves.reduce((total, wave) => total + pick(wave), 0);
  const floorMs = sum((wave) => wave.longestMs);
  const outside = 1 - floorMs / measured.wallMs;
  const dispatchMs = sum((wave) => wave.dispatchMs);
  const noticeMs = sum((wave) => wave.noticeMs);
  const rolloutCalls = total(measured.calls) / DOMAINS;
  const plainCalls = total(plain.calls) / DOMAINS;
  const rows = [
    row(
      `Rollout of ${DOMAINS} domains, ${waves.length} waves (canary 1, then ${WAVE_SIZE}), wall time`,
      seconds(measured.wallMs),
      `floor ${seconds(floorMs)}: each wave's longest association, summed`,
    ),
    row(
      "  share of it outside AWS's association delays",
      percent(outside),
      `per wave: dispatch ${ms(dispatchMs / waves.length)}, tracker noticing ${ms(noticeMs / waves.length)}`,
    ),
    row(
      'Control-plane calls per domain, rollout',
      rolloutCalls.toFixed(2),
      `plain request: ${plainCalls.toFixed(2)}`,
    ),
    row(
      `Same ${DOMAINS} associations as plain requests, all at once, wall time`,
      seconds(plain.wallMs),
      `floor ${ms(ASSOCIATION_DELAY_MS)}: one association`,
    ),
    row(
      'Rollout ledger item, largest write',
      `${kib(measured.largestWrite)} (${Math.round(measured.largestWrite / DOMAINS)} B/domain)`,
      `DynamoDB item limit ${kib(DYNAMODB_ITEM_LIMIT)}`,
    ),
  ];
  return {
    title: '7. Rollout at scale',
    rows,
    details: details(plain, measured, { floorMs, outside, dispatchMs, noticeMs, runMs }),
  };
}

function details(
  plain: Awaited<ReturnType<typeof plainRequests>>,
  measured: Awaited<ReturnType<typeof rollout>>,
  sums: { floorMs: number; outside: number; dispatchMs: number; noticeMs: number; runMs: number },
): string {
  const { waves } = measured;
  return `### 7. Rollout at scale

\`startLocalStack\` in a process of its own (\`tools/bench/lib/stack-process.ts\`), seeded with \`testSeed(${DOMAINS}, 2)\`
(\`orders-1\` to \`orders-${DOMAINS}\`), every dictionary association taking ${ms(ASSOCIATION_DELAY_MS)} in the emulator, which
refuses overlapping operations on a domain as AWS does; the tracker at its shortest (first check after 1 s,
then every 2 s, ±20% jitter). First ${DOMAINS} plain requests (\`${PLAIN_PACKAGE}\` on every domain, sent at once: the baseline, and
the warm-up that takes every execution environment's cold start), then one rollout of \`${ROLLOUT_PACKAGE}\` over
\`orders-*\`, canary 1 and waves of ${WAVE_SIZE}: ${waves.length} waves. The section took ${seconds(sums.runMs)}.

**Wall time against the floor.** The rollout took ${seconds(measured.wallMs)} from its message's send to the
\`PackageRolloutCompleted\` decision (${ms(measured.acceptMs)} of it to \`PackageRolloutStarted\`). A perfect orchestrator
would need each wave's longest association, one wave after another: ${seconds(sums.floorMs)}, read per child from its
\`PackageAssociationStarted\` event to the listing's \`LastUpdated\` when it turned \`ACTIVE\`. The rest, ${percent(sums.outside)} of
the wall time, is spent per wave in two places: dispatch, from the write that starts the wave to its last child's
call (${ms(sums.dispatchMs / waves.length)} a wave: the children's messages through the requests queue, \`ready\`, \`lock\`, \`pin\`),
and noticing, from the last child's \`ACTIVE\` to the wave's completion (${ms(sums.noticeMs / waves.length)} a wave: the tracker
looks on a schedule, so a child is seen up to one check delay after it ended, then its decision advances the
rollout). Noticing is the tracker's schedule, not the rollout's, and it does not shrink with longer
associations: deployed, the checks come 15 s after the call and then at doubling delays (15, 30, 60 s...,
capped at 300 s for dictionaries and 900 s for plugins), so a child is seen up to as long again as it ran, and
at most one capped delay late. A wave waits for its slowest child's next check.

**What moved it,** measured with this section while it was written: a wave's children decided in one batch
used to race on the rollout record, and the advances that lost five rounds waited for their tracking
message's next delivery; each wave completed 4.7 s after its last child's \`ACTIVE\`, the rollout took 90 s
against the same 33 s floor. Advances of one rollout now run one after another within an execution environment
(\`src/service/rollout-advance.ts\`).

**Calls.** The emulator's \`/_emulator/opensearch/call-counts\` before and after each phase. Per domain, the
rollout: ${perDomain(measured.calls)} (${total(measured.calls)} in all, the acceptance's \`ListDomainNames\` and
\`DescribePackages\` among them); a plain request: ${perDomain(plain.calls)}. A child is an ordinary request, so the
two differ only by the rollout's own reads and by how often the tracker looked before each association ended
(the tracker's \`ListPackagesForDomain\` per check). The ${DOMAINS} plain requests took ${seconds(plain.wallMs)} together, every
execution environment's cold start included, one association wide: what waves give up for their stop on failure.

**The ledger item.** The rollout is one item, written whole at every step; its largest write, the last,
holds the record and the two events it owed, ${kib(measured.largestWrite)}:
${Math.round(measured.largestWrite / DOMAINS)} bytes per domain with these 8-to-10-character names (DynamoDB's size rules, \`tools/bench/lib/item-size.ts\`);
the acceptance refuses more than 500 domains (docs/DESIGN.md, "Rollouts", "At scale").
`;
}
