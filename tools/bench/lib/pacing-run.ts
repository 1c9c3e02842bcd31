/**
 * Section 8's burst: requests through the local stack, the OpenSearch emulator limited to a few calls a second
 * for the account, every request followed to its decision by the tracker.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CallCount, OperationName } from '../../../local/opensearch/index.ts';
import { QueueCollector } from '../../soak/queue-collector.ts';
import { askStack } from './stack-child.ts';
import type { StackCommand, StackReady, StackStats, StackVariant } from './stack-process.ts';

export const RATE_LIMIT = 10;
export const DOMAINS = 10;
export const PACKAGES = 100;
/** The emulator's association time, so that the rate limit and not the association bounds a domain's queue. */
export const ASSOCIATION_DELAY_MS = 500;
/** DescribePackages, DescribeDomain, ListPackagesForDomain, AssociatePackage and one status check. */
export const CLEAN_PATH_CALLS = 5;
const WAIT_LIMIT_MS = 600_000;
const PROGRESS_MS = 30_000;

/** `standard`: the OpenSearch client as src/adapters/clients.ts builds it; `adaptive`: with AWS_RETRY_MODE=adaptive. */
export type RetryMode = 'adaptive' | 'standard';

interface Pair {
  domainName: string;
  packageId: string;
}

/** One request's times, in ms from the first send. */
interface Timeline {
  pair: Pair;
  startedMs?: number;
  decidedMs: number;
}

export interface PacingRun {
  mode: RetryMode;
  requests: number;
  succeeded: number;
  failed: number;
  deadLettered: number;
  /** Requests with no decision when the wait limit ended the run (their decision time is the run's end). */
  undecided: number;
  timelines: Timeline[];
  calls: Record<OperationName, CallCount>;
  outcomes: Record<string, number>;
  maxDurationMs: number;
  /** Records delivered to each function (`associatePackage`, `trackAssociation`): for the tracker, its checks. */
  records: Record<string, number>;
}

/** What the stack's OpenSearch emulator does: a rate limit for the account (none: unlimited), the association time. */
export interface BurstSetting {
  rateLimit: number | undefined;
  associationDelayMs: number;
}

const THROTTLED: BurstSetting = { rateLimit: RATE_LIMIT, associationDelayMs: ASSOCIATION_DELAY_MS };

/**
 * Request i: package i mod 100, on a domain that shifts with each hundred, so the first n requests spread
 * evenly over the ten domains and the thousand pairs are all distinct.
 */
export function burstPairs(count: number): Pair[] {
  return Array.from({ length: count }, (_, index) => ({
    domainName: `orders-${((index + Math.floor(index / PACKAGES)) % DOMAINS) + 1}`,
    packageId: `F${9001 + (index % PACKAGES)}`,
  }));
}

/** Stamps each request's Started event and its decision (Succeeded, Failed, or a dead letter) as they arrive. */
class Stamps {
  readonly started = new Map<string, number>();
  readonly decided = new Map<string, number>();
  readonly outcomes = { succeeded: 0, failed: 0, deadLettered: 0 };
  #eventsRead = 0;
  #deadLettersRead = 0;

  read(events: QueueCollector, deadLetters: QueueCollector, nowMs: number): void {
    for (const message of events.messages.slice(this.#eventsRead)) {
      const event = JSON.parse(message.Body ?? '{}') as {
        'detail-type'?: string;
        detail?: { idempotencyKey?: string };
      };
      const key = event.detail?.idempotencyKey ?? '';
      if (event['detail-type'] === 'PackageAssociationStarted') this.started.set(key, nowMs);
      if (event['detail-type'] === 'PackageAssociationSucceeded') this.#decide(key, nowMs, 'succeeded');
      if (event['detail-type'] === 'PackageAssociationFailed') this.#decide(key, nowMs, 'failed');
    }
    this.#eventsRead = events.messages.length;
    for (const message of deadLetters.messages.slice(this.#deadLettersRead)) {
      const { body = '{}' } = JSON.parse(message.Body ?? '{}') as { body?: string };
      this.#decide(
        (JSON.parse(body) as { idempotencyKey?: string }).idempotencyKey ?? '',
        nowMs,
        'deadLettered',
      );
    }
    this.#deadLettersRead = deadLetters.messages.length;
  }

  #decide(key: string, nowMs: number, outcome: keyof Stamps['outcomes']): void {
    if (this.decided.has(key)) return;
    this.decided.set(key, nowMs);
    this.outcomes[outcome] += 1;
  }
}

async function sendBurst(client: SQSClient, queueUrl: string, keys: string[], pairs: Pair[]) {
  const batches: number[][] = [];
  for (let index = 0; index < pairs.length; index += 10) {
    batches.push(Array.from({ length: Math.min(10, pairs.length - index) }, (_, offset) => index + offset));
  }
  await Promise.all(
    batches.map(async (batch) => {
      const { Failed = [] } = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((index) => ({
            Id: String(index),
            MessageBody: JSON.stringify({ ...pairs[index], idempotencyKey: keys[index] }),
          })),
        }),
      );
      if (Failed.length > 0) throw new Error(`SendMessageBatch refused ${Failed.length} entries`);
    }),
  );
}

function startStack(mode: RetryMode, requestCount: number, setting: BurstSetting): ChildProcess {
  const variant: StackVariant = {
    ...(setting.rateLimit !== undefined && { rateLimit: { callsPerSecond: setting.rateLimit } }),
    // As deployed: one operation per domain at a time, with or without a rate limit.
    conflictOnConcurrentOperations: true,
    associationDelayMs: setting.associationDelayMs,
    maxPackagesPerDomain: Math.max(20, Math.ceil(requestCount / DOMAINS)),
    handlerEnvironment: {
      // The association takes under a second here, not minutes: the first check comes after 1 s, not 15.
      TRACKING_FIRST_DELAY_SECONDS: '1',
      ...(mode === 'adaptive' && { AWS_RETRY_MODE: 'adaptive' }),
    },
  };
  return fork(
    new URL('./stack-process.ts', import.meta.url),
    [String(DOMAINS), String(PACKAGES), JSON.stringify(variant)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
}

/** One burst through a fresh local stack, until every request is decided. */
export async function pacingRun(
  mode: RetryMode,
  requestCount: number,
  setting: BurstSetting = THROTTLED,
): Promise<PacingRun> {
  const child = startStack(mode, requestCount, setting);
  const exited = once(child, 'exit');
  const [ready] = (await once(child, 'message')) as [StackReady];
  const client = new SQSClient({
    endpoint: ready.endpoint,
    region: ready.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const events = new QueueCollector(client, ready.queueUrls.events);
  const deadLetters = new QueueCollector(client, ready.queueUrls.requestsDlq);
  const run = randomUUID().slice(0, 8);
  const pairs = burstPairs(requestCount);
  const keys = pairs.map((pair) => `pacing-${run}-${pair.domainName}-${pair.packageId}`);
  const stamps = new Stamps();
  try {
    await askStack(child, { type: 'mark' });
    const began = performance.now();
    let reported = 0;
    await sendBurst(client, ready.queueUrls.requests, keys, pairs);
    // Past the limit the run is measured as it stands: the requests still undecided are reported, not waited for.
    while (stamps.decided.size < keys.length && performance.now() - began < WAIT_LIMIT_MS) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      stamps.read(events, deadLetters, performance.now() - began);
      const elapsed = Math.floor((performance.now() - began) / PROGRESS_MS);
      if (elapsed > reported) {
        reported = elapsed;
        process.stderr.write(
          `  ${mode}: ${stamps.decided.size}/${keys.length} decided after ${(elapsed * PROGRESS_MS) / 1000} s\n`,
        );
      }
    }
    const stats = await askStack<StackStats>(child, { type: 'stats' });
    const endedMs = performance.now() - began;
    return {
      mode,
      requests: requestCount,
      ...stamps.outcomes,
      undecided: keys.length - stamps.decided.size,
      timelines: keys.map((key, index) => ({
        pair: pairs[index] as Pair,
        ...(stamps.started.has(key) && { startedMs: stamps.started.get(key) }),
        decidedMs: stamps.decided.get(key) ?? endedMs,
      })),
      calls: stats.openSearchCalls,
      outcomes: stats.outcomes,
      maxDurationMs: stats.maxDurationMs,
      records: stats.records,
    };
  } finally {
    await events.stop();
    await deadLetters.stop();
    client.destroy();
    if (child.exitCode === null) child.send({ type: 'stop' } satisfies StackCommand);
    await exited;
  }
}
