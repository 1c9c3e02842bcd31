/**
 * In-memory stand-ins for everything the associate handler calls outside itself, each counting its calls and
 * optionally waiting a fixed latency, so the benchmarks measure the handler's own cost and its call pattern.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Ledger, WriteResult } from '../../../src/adapters/ledger.ts';
import type { OutgoingMessage } from '../../../src/adapters/queues.ts';
import { loadConfig } from '../../../src/config.ts';
import type { PackageDetails } from '../../../src/domain/events.ts';
import type { LedgerRecord } from '../../../src/domain/ledger.ts';
import type { Runtime } from '../../../src/service/runtime.ts';

import { ACCOUNT, REGION } from './records.ts';

const QUEUE_BASE = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}`;

/** Calls that reached each fake, by AWS API operation. */
export interface AwsCallCounts {
  associatePackage: number;
  /** AssociatePackages calls: several requests of one domain in one operation. */
  associatePackages: number;
  listPackagesForDomain: number;
  /** The reads before a call: DescribePackages, DescribeDomain (and GetPackageVersionHistory, never here). */
  describePackages: number;
  describeDomain: number;
  putEvents: number;
  putEventsEntries: number;
  /** The ledger's calls as `dynamoDbLedger` makes them: a consistent GetItem, a conditional PutItem. */
  dynamoDB: { getItem: number; putItem: number; conditionalCheckFailed: number };
  sqsSendMessage: number;
  sqsSendMessageBatch: number;
  sqsSendMessageBatchEntries: number;
  sqsChangeMessageVisibility: number;
  /** The most AssociatePackage calls that were in flight at once for one domain. */
  maxConcurrentPerDomain: number;
}

export function emptyCounts(): AwsCallCounts {
  return {
    associatePackage: 0,
    associatePackages: 0,
    listPackagesForDomain: 0,
    describePackages: 0,
    describeDomain: 0,
    putEvents: 0,
    putEventsEntries: 0,
    dynamoDB: { getItem: 0, putItem: 0, conditionalCheckFailed: 0 },
    sqsSendMessage: 0,
    sqsSendMessageBatch: 0,
    sqsSendMessageBatchEntries: 0,
    sqsChangeMessageVisibility: 0,
    maxConcurrentPerDomain: 0,
  };
}

/** Zeroes counts in place (the fakes hold on to the object). */
export function resetCounts(counts: AwsCallCounts): void {
  Object.assign(counts, emptyCounts());
}

/** Waits `ms` as a remote call would; with 0 only a resolved promise, so no timer enters CPU figures. */
async function latency(ms: number): Promise<void> {
  if (ms > 0) await sleep(ms);
}

/**
 * The ledger table in a Map, with `dynamoDbLedger`'s rules: a write lands only if the record is still at the
 * version read (with nothing read: only if there is no record), gets the next version and the writer's
 * `lastWrite`; a refused write costs a second read, as the adapter's does. Records are kept as written and
 * handed out as they are (the service treats them as values), so the fake costs a Map lookup and one spread.
 */
export class InMemoryLedger implements Ledger {
  readonly #records = new Map<string, LedgerRecord>();
  readonly #counts: AwsCallCounts;
  readonly #latencyMs: number;

  constructor(counts: AwsCallCounts, latencyMs = 0) {
    this.#counts = counts;
    this.#latencyMs = latencyMs;
  }

  get size(): number {
    return this.#records.size;
  }

  /** Forgets every record: the real table lives elsewhere, so a long run must not grow this process. */
  clear(): void {
    this.#records.clear();
  }

  // Not async: without latency each call is one settled promise, no extra turn of the microtask queue.
  get(id: string): Promise<LedgerRecord | undefined> {
    this.#counts.dynamoDB.getItem += 1;
    if (this.#latencyMs === 0) return Promise.resolve(this.#records.get(id));
    return sleep(this.#latencyMs).then(() => this.#records.get(id));
  }

  write<R extends LedgerRecord>(
    next: R,
    read: LedgerRecord | undefined,
    writeId: string,
  ): Promise<WriteResult<R>> {
    this.#counts.dynamoDB.putItem += 1;
    if (this.#latencyMs === 0) return this.#conditionalPut(next, read, writeId);
    return sleep(this.#latencyMs).then(() => this.#conditionalPut(next, read, writeId));
  }

  #conditionalPut<R extends LedgerRecord>(
    next: R,
    read: LedgerRecord | undefined,
    writeId: string,
  ): Promise<WriteResult<R>> {
    const existing = this.#records.get(next.id);
    if (read === undefined ? existing !== undefined : existing?.version !== read.version) {
      this.#counts.dynamoDB.conditionalCheckFailed += 1;
      // The adapter reads the record after a ConditionalCheckFailed to tell a landed retry from a race.
      return this.get(next.id).then((current) =>
        current?.lastWrite === writeId
          ? { written: true, record: current as R }
          : { written: false, current },
      );
    }
    const record = { ...next, version: (read?.version ?? 0) + 1, lastWrite: writeId };
    this.#records.set(next.id, record);
    return Promise.resolve({ written: true, record });
  }
}

/** The environment serverless.yml gives the function, enough for loadConfig to pass. */
export function benchEnvironment(): Record<string, string> {
  return {
    EVENT_BUS_NAME: 'package-associator-bench',
    EVENT_SOURCE: 'package-associator',
    DLQ_URL: `${QUEUE_BASE}/package-associator-requests-dlq`,
    REQUESTS_QUEUE_URL: `${QUEUE_BASE}/package-associator-requests`,
    TRACKING_QUEUE_URL: `${QUEUE_BASE}/package-associator-tracking`,
    TRACKING_DLQ_URL: `${QUEUE_BASE}/package-associator-tracking-dlq`,
    LEDGER_TABLE: 'package-associator-bench-ledger',
    ALLOWED_DOMAINS: 'catalog-search,orders-*',
    MAX_ATTEMPTS: '8',
    AWS_REGION: REGION,
  };
}

export interface FakeAws {
  counts: AwsCallCounts;
  ledger: InMemoryLedger;
  deps: Runtime;
  /** Every message sent to the tracking queue, in order (only with `keepTrackingMessages`). */
  trackingMessages: OutgoingMessage[];
}

export interface FakeAwsOptions {
  latencyMs?: number;
  /** ListPackagesForDomain shows a package ASSOCIATING this many times, then ACTIVE (default: always ASSOCIATING). */
  looksUntilActive?: number;
  keepTrackingMessages?: boolean;
}

/** A Runtime for createAssociateHandler and createTrackHandler where every AWS call is a counted fake. */
export function fakeAws(options: FakeAwsOptions = {}): FakeAws {
  const latencyMs = options.latencyMs ?? 0;
  const looksUntilActive = options.looksUntilActive ?? Number.POSITIVE_INFINITY;
  const counts = emptyCounts();
  const ledger = new InMemoryLedger(counts, latencyMs);
  const trackingMessages: OutgoingMessage[] = [];
  const config = loadConfig(benchEnvironment());
  const details = (
    domainName: string,
    packageId: string,
    status: 'ASSOCIATING' | 'ACTIVE',
  ): PackageDetails => ({
    status,
    packageName: `dictionary-${packageId.toLowerCase()}`,
    packageType: 'TXT-DICTIONARY',
    packageVersion: 'v1',
    referencePath: `analyzers/${domainName}/${packageId}`,
  });
  const eventBridge = {
    async send(command: PutEventsCommand) {
      const entries = command.input.Entries ?? [];
      counts.putEvents += 1;
      counts.putEventsEntries += entries.length;
      await latency(latencyMs);
      return { FailedEntryCount: 0, Entries: entries.map((_, index) => ({ EventId: `event-${index}` })) };
    },
  };
  const inFlight = new Map<string, number>();
  /** One operation on a domain, counting how many run on it at once. */
  const operation = async (domainName: string) => {
    const running = (inFlight.get(domainName) ?? 0) + 1;
    inFlight.set(domainName, running);
    counts.maxConcurrentPerDomain = Math.max(counts.maxConcurrentPerDomain, running);
    try {
      await latency(latencyMs);
    } finally {
      inFlight.set(domainName, (inFlight.get(domainName) ?? 1) - 1);
    }
  };
  const looks = new Map<string, number>();
  const deps: Runtime = {
    config,
    associations: {
      async associate(request) {
        counts.associatePackage += 1;
        await operation(request.domainName);
        return details(request.domainName, request.packageId, 'ASSOCIATING');
      },
      async associateMany(domainName, requests) {
        counts.associatePackages += 1;
        await operation(domainName);
        return requests.map((request) => ({
          ...details(domainName, request.packageId, 'ASSOCIATING'),
          packageId: request.packageId,
        }));
      },
      async dissociate(domainName, packageId) {
        await latency(latencyMs);
        return { ...details(domainName, packageId, 'ACTIVE'), status: 'DISSOCIATING' };
      },
      async describePackage(packageId) {
        counts.describePackages += 1;
        await latency(latencyMs);
        return {
          status: 'AVAILABLE',
          availableVersion: 'v1',
          packageType: 'TXT-DICTIONARY',
          packageName: packageId,
        };
      },
      async versionHistory() {
        await latency(latencyMs);
        return ['v1'];
      },
      async listDomainNames() {
        await latency(latencyMs);
        return [];
      },
      async isProcessing() {
        counts.describeDomain += 1;
        await latency(latencyMs);
        return false;
      },
      async list() {
        // Before a domain is locked: nothing runs on it yet, in the bench's workload.
        counts.listPackagesForDomain += 1;
        await latency(latencyMs);
        return [];
      },
      async find(domainName, packageId) {
        counts.listPackagesForDomain += 1;
        await latency(latencyMs);
        const pair = `${domainName}/${packageId}`;
        const seen = (looks.get(pair) ?? 0) + 1;
        looks.set(pair, seen);
        return details(domainName, packageId, seen > looksUntilActive ? 'ACTIVE' : 'ASSOCIATING');
      },
    },
    queues: {
      async defer() {
        counts.sqsChangeMessageVisibility += 1;
        await latency(latencyMs);
      },
      async sendDeadLetter() {
        counts.sqsSendMessage += 1;
        await latency(latencyMs);
      },
      async sendBatch(queueUrl, messages) {
        counts.sqsSendMessageBatch += 1;
        counts.sqsSendMessageBatchEntries += messages.length;
        if (options.keepTrackingMessages && queueUrl === config.trackingQueueUrl) {
          trackingMessages.push(...messages);
        }
        await latency(latencyMs);
        return messages.map(() => undefined);
      },
    },
    ledger,
    // Only `send(PutEventsCommand)` of the client is used.
    eventBridge: eventBridge as unknown as EventBridgeClient,
    logger: new Logger({ serviceName: 'package-associator', logLevel: 'SILENT' }),
    metrics: silentMetrics(),
    now: () => new Date(),
    random: () => 0.5,
    newId: () => randomUUID(),
  };
  return { counts, ledger, deps, trackingMessages };
}

/** Real Powertools metrics that keep and serialise as in Lambda but print nothing. */
function silentMetrics(): Metrics {
  // Metrics (and each singleMetric) read the switch from the environment when created.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return new Metrics({ namespace: 'PackageAssociator', serviceName: 'package-associator' });
}
