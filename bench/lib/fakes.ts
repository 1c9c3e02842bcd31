/**
 * In-memory stand-ins for everything the associate handler calls outside itself, each counting its calls and
 * optionally waiting a fixed latency, so the benchmarks measure the handler's own cost and its call pattern.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
} from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { loadConfig } from '../../src/config.ts';
import type { PackageDetails } from '../../src/domain/events.ts';
import type { AssociateDependencies } from '../../src/service/associate.ts';

import { ACCOUNT, REGION } from './records.ts';

const QUEUE_BASE = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}`;

/** Calls that reached each fake, by AWS API operation. */
export interface AwsCallCounts {
  associatePackage: number;
  listPackagesForDomain: number;
  putEvents: number;
  putEventsEntries: number;
  dynamoDB: { getItem: number; putItem: number; updateItem: number; deleteItem: number };
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
    listPackagesForDomain: 0,
    putEvents: 0,
    putEventsEntries: 0,
    dynamoDB: { getItem: 0, putItem: 0, updateItem: 0, deleteItem: 0 },
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

interface StoredItem {
  status: ReturnType<IdempotencyRecord['getStatus']>;
  expiryTimestamp: number | undefined;
  inProgressExpiryTimestamp: number | undefined;
  responseData: IdempotencyRecord['responseData'];
  payloadHash: string | undefined;
}

/**
 * The idempotency table in a Map, with DynamoDBPersistenceLayer's conditions: a put succeeds only when the key
 * is absent, expired, or in progress past its in-progress expiry; otherwise it fails with the existing record.
 */
export class InMemoryPersistenceLayer extends BasePersistenceLayer {
  readonly #items: Map<string, StoredItem>;
  readonly #counts: AwsCallCounts;
  readonly #latencyMs: number;

  /** `items` is the table: stores made for different idempotent steps share it, as they share one in DynamoDB. */
  constructor(counts: AwsCallCounts, latencyMs = 0, items = new Map<string, StoredItem>()) {
    super();
    this.#counts = counts;
    this.#latencyMs = latencyMs;
    this.#items = items;
  }

  get size(): number {
    return this.#items.size;
  }

  /** Forgets every item: the real table lives elsewhere, so a long run must not grow this process. */
  clear(): void {
    this.#items.clear();
  }

  /** A conditional put of a bare claim, as the hand-written floor handler does it. */
  async claim(key: string, expiryTimestamp: number): Promise<void> {
    this.#counts.dynamoDB.putItem += 1;
    await latency(this.#latencyMs);
    if (this.#items.has(key)) throw new IdempotencyItemAlreadyExistsError(`${key} exists`);
    this.#items.set(key, {
      status: IdempotencyRecordStatus.INPROGRESS,
      expiryTimestamp,
      inProgressExpiryTimestamp: undefined,
      responseData: undefined,
      payloadHash: undefined,
    });
  }

  /** An unconditional update of a claim to its outcome, as the floor handler does it. */
  async complete(key: string, responseData: IdempotencyRecord['responseData']): Promise<void> {
    this.#counts.dynamoDB.updateItem += 1;
    await latency(this.#latencyMs);
    const item = this.#items.get(key);
    if (item !== undefined) {
      item.status = IdempotencyRecordStatus.COMPLETED;
      item.responseData = responseData;
    }
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    this.#counts.dynamoDB.getItem += 1;
    await latency(this.#latencyMs);
    const item = this.#items.get(idempotencyKey);
    if (item === undefined) throw new IdempotencyItemNotFoundError();
    return toRecord(idempotencyKey, item);
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    this.#counts.dynamoDB.putItem += 1;
    await latency(this.#latencyMs);
    const existing = this.#items.get(record.idempotencyKey);
    const nowMs = Date.now();
    const replaceable =
      existing === undefined ||
      (existing.expiryTimestamp !== undefined && existing.expiryTimestamp < nowMs / 1000) ||
      (existing.status === IdempotencyRecordStatus.INPROGRESS &&
        existing.inProgressExpiryTimestamp !== undefined &&
        existing.inProgressExpiryTimestamp < nowMs);
    if (!replaceable) {
      throw new IdempotencyItemAlreadyExistsError(
        `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
        toRecord(record.idempotencyKey, existing),
      );
    }
    this.#items.set(record.idempotencyKey, {
      status: record.getStatus(),
      expiryTimestamp: record.expiryTimestamp,
      inProgressExpiryTimestamp: record.inProgressExpiryTimestamp,
      responseData: undefined,
      payloadHash: this.isPayloadValidationEnabled() ? record.payloadHash : undefined,
    });
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.#counts.dynamoDB.updateItem += 1;
    await latency(this.#latencyMs);
    const existing = this.#items.get(record.idempotencyKey);
    this.#items.set(record.idempotencyKey, {
      status: record.getStatus(),
      expiryTimestamp: record.expiryTimestamp,
      inProgressExpiryTimestamp: existing?.inProgressExpiryTimestamp,
      responseData: record.responseData,
      payloadHash: this.isPayloadValidationEnabled() ? record.payloadHash : existing?.payloadHash,
    });
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.#counts.dynamoDB.deleteItem += 1;
    await latency(this.#latencyMs);
    this.#items.delete(record.idempotencyKey);
  }
}

function toRecord(idempotencyKey: string, item: StoredItem): IdempotencyRecord {
  return new IdempotencyRecord({
    idempotencyKey,
    status: item.status,
    expiryTimestamp: item.expiryTimestamp,
    inProgressExpiryTimestamp: item.inProgressExpiryTimestamp,
    responseData: item.responseData,
    payloadHash: item.payloadHash,
  });
}

/** The environment serverless.yml gives the function, enough for loadConfig to pass. */
export function benchEnvironment(): Record<string, string> {
  return {
    EVENT_BUS_NAME: 'package-associator-bench',
    EVENT_SOURCE: 'package-associator',
    DLQ_URL: `${QUEUE_BASE}/package-associator-requests-dlq`,
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
  store: InMemoryPersistenceLayer;
  deps: AssociateDependencies;
}

/** Dependencies for createAssociateHandler where every AWS call is a counted fake answering as on success. */
export function fakeAws(options: { latencyMs?: number } = {}): FakeAws {
  const latencyMs = options.latencyMs ?? 0;
  const counts = emptyCounts();
  const table = new Map<string, StoredItem>();
  const store = new InMemoryPersistenceLayer(counts, latencyMs, table);
  const associating = (domainName: string, packageId: string): PackageDetails => ({
    status: 'ASSOCIATING',
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
  const deps: AssociateDependencies = {
    config: loadConfig(benchEnvironment()),
    associations: {
      async associate(request) {
        counts.associatePackage += 1;
        const running = (inFlight.get(request.domainName) ?? 0) + 1;
        inFlight.set(request.domainName, running);
        counts.maxConcurrentPerDomain = Math.max(counts.maxConcurrentPerDomain, running);
        try {
          await latency(latencyMs);
        } finally {
          inFlight.set(request.domainName, (inFlight.get(request.domainName) ?? 1) - 1);
        }
        return associating(request.domainName, request.packageId);
      },
      async find(domainName, packageId) {
        counts.listPackagesForDomain += 1;
        await latency(latencyMs);
        return associating(domainName, packageId);
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
      async sendBatch(_queueUrl, messages) {
        counts.sqsSendMessageBatch += 1;
        counts.sqsSendMessageBatchEntries += messages.length;
        await latency(latencyMs);
        return messages.map(() => undefined);
      },
    },
    // Only `send(PutEventsCommand)` of the client is used.
    eventBridge: eventBridge as unknown as EventBridgeClient,
    createPersistenceStore: () => new InMemoryPersistenceLayer(counts, latencyMs, table),
    logger: new Logger({ serviceName: 'package-associator', logLevel: 'SILENT' }),
    metrics: silentMetrics(),
    now: () => new Date(),
    random: () => 0.5,
  };
  return { counts, store, deps };
}

/** Real Powertools metrics that keep and serialise as in Lambda but print nothing. */
function silentMetrics(): Metrics {
  // Metrics (and each singleMetric) read the switch from the environment when created.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return new Metrics({ namespace: 'PackageAssociator', serviceName: 'package-associator' });
}
