import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Random, seededRandom, uuidFactory } from '../rng.ts';
import { EMULATOR_ADMIN_PREFIX, handleAdmin } from './admin.ts';
import {
  type DeliveryOutcomes,
  type DeliveryTarget,
  deliverToTargets,
  type QueueDelivery,
} from './deliveries.ts';
import { EventBridgeApiError } from './errors.ts';
import { type EventBridgeFaults, validateFaults } from './faults.ts';
import { operationCaller, serveApi } from './http.ts';
import {
  type AccountScope,
  assertRequestSize,
  buildEnvelope,
  checkEntry,
  DEFAULT_EVENT_BUS,
  DEFAULT_MAX_REQUEST_BYTES,
  type EventEnvelope,
  eventBusArn,
  eventBusNameOf,
  type PutEventsResultEntry,
  parsePutEventsRequest,
} from './put-events.ts';
import { RuleStore } from './rules.ts';
import { type Operation, ruleOperations } from './rules-api.ts';
import { isRecord, validationError } from './validation.ts';

export { EMULATOR_ADMIN_PREFIX } from './admin.ts';
export type { DeliveryTarget, QueueDelivery } from './deliveries.ts';
export type { EventBridgeFaults } from './faults.ts';

export interface EventBridgeStats {
  /** PutEvents calls received, rejected ones included. */
  calls: number;
  /** PutEvents calls that failed as a whole (validation, unknown bus, throttling). */
  callsRejected: number;
  throttled: number;
  entriesAccepted: number;
  entriesFailed: number;
  /** Messages handed to target queues, one per matching rule target and event. */
  deliveries: number;
  deliveryFailures: number;
}

export interface EventBridgeEmulatorOptions {
  region?: string;
  accountId?: string;
  /** Buses that exist besides `default`, which always does. */
  buses: string[];
  /** How rules deliver to their SQS targets. Without it, PutTargets is refused: there is nowhere to deliver. */
  deliverToQueue?: QueueDelivery;
  faults?: EventBridgeFaults;
  /** Shorthand for `faults.latencyMs`. */
  latencyMs?: number;
  /** Makes fault decisions and event ids repeat exactly from run to run. */
  randomSeed?: number;
  maxRequestBytes?: number;
  /** How many published envelopes `published()` keeps, newest last. */
  publishedLimit?: number;
  /** Told about every failed rule delivery; the PutEvents call itself has already succeeded by then. */
  onDeliveryError?: (error: unknown, target: DeliveryTarget, envelope: EventEnvelope) => void;
}

export interface EventBridgeEmulator {
  /** Serves the EventBridge API (`POST /` with `X-Amz-Target: AWSEvents.*`) and `/_emulator/events/*`. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * Runs one API operation (`PutRule`, `PutTargets`, ...) on the input the wire would carry, the same code
   * path as a request; fails with the EventBridgeApiError a client would get.
   */
  call(operation: string, input: unknown): Promise<unknown>;
  /** Replaces the whole fault configuration, latency included. */
  setFaults(faults: EventBridgeFaults): void;
  faults(): Required<EventBridgeFaults>;
  /** Envelopes accepted so far (bounded ring, oldest first), optionally only those of one bus. */
  published(eventBusName?: string): EventEnvelope[];
  stats(): EventBridgeStats;
  /** Forgets published events and counters, restores the initial faults and reseeds the random streams. Rules stay. */
  reset(): void;
}

const DEFAULT_PUBLISHED_LIMIT = 1000;

function emptyStats(): EventBridgeStats {
  return {
    calls: 0,
    callsRejected: 0,
    throttled: 0,
    entriesAccepted: 0,
    entriesFailed: 0,
    deliveries: 0,
    deliveryFailures: 0,
  };
}

export function createEventBridgeEmulator(options: EventBridgeEmulatorOptions): EventBridgeEmulator {
  const scope: AccountScope = {
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
  };
  const buses = new Set([DEFAULT_EVENT_BUS, ...options.buses]);
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const publishedLimit = options.publishedLimit ?? DEFAULT_PUBLISHED_LIMIT;
  const initialFaults = validateFaults({ latencyMs: options.latencyMs, ...options.faults });
  const store = new RuleStore(scope);
  const ring: Array<{ eventBusName: string; envelope: EventEnvelope }> = [];

  let faults = initialFaults;
  let stats = emptyStats();
  // Separate streams so the fault pattern depends only on the seed and the calls, not on how many ids were drawn.
  let faultRandom: Random;
  let nextEventId: () => string;

  function resetState(): void {
    ring.length = 0;
    faults = initialFaults;
    stats = emptyStats();
    if (options.randomSeed === undefined) {
      faultRandom = Math.random;
      nextEventId = uuidFactory();
    } else {
      faultRandom = seededRandom(options.randomSeed);
      nextEventId = uuidFactory(seededRandom(options.randomSeed ^ 0x5bd1e995));
    }
  }
  resetState();

  function remember(eventBusName: string, envelope: EventEnvelope): void {
    ring.push({ eventBusName, envelope });
    if (ring.length > publishedLimit) ring.shift();
  }

  function outcomesFor(envelope: EventEnvelope): DeliveryOutcomes {
    return {
      delivered: () => {
        stats.deliveries += 1;
      },
      failed: (error, target) => {
        stats.deliveryFailures += 1;
        options.onDeliveryError?.(error, target, envelope);
      },
    };
  }

  function resolveBuses(entries: ReturnType<typeof parsePutEventsRequest>): string[] {
    return entries.map((entry) => {
      const name = eventBusNameOf(entry.EventBusName, scope);
      if (name === undefined || !buses.has(name)) {
        // AWS itself accepts events for a missing bus and silently drops them; locally a typo in a bus
        // name should be loud, so the whole call fails the way DescribeEventBus would.
        throw new EventBridgeApiError(
          'ResourceNotFoundException',
          `Event bus ${entry.EventBusName ?? DEFAULT_EVENT_BUS} does not exist.`,
        );
      }
      return name;
    });
  }

  async function putEvents(
    body: unknown,
  ): Promise<{ FailedEntryCount: number; Entries: PutEventsResultEntry[] }> {
    stats.calls += 1;
    let entries: ReturnType<typeof parsePutEventsRequest>;
    let busNames: string[];
    try {
      if (faultRandom() < faults.throttleRate) {
        stats.throttled += 1;
        throw new EventBridgeApiError('ThrottlingException', 'Rate exceeded');
      }
      entries = parsePutEventsRequest(body);
      assertRequestSize(entries, maxRequestBytes);
      busNames = resolveBuses(entries);
    } catch (error) {
      stats.callsRejected += 1;
      throw error;
    }

    const receivedAt = new Date();
    const results: PutEventsResultEntry[] = [];
    const deliveries: Promise<void>[] = [];
    for (const [index, entry] of entries.entries()) {
      const check = checkEntry(entry);
      const eventBusName = busNames[index] ?? DEFAULT_EVENT_BUS;
      if (!check.ok) {
        results.push(check.error);
      } else if (faultRandom() < faults.entryFailureRate) {
        results.push({ ErrorCode: 'InternalFailure', ErrorMessage: 'Internal Failure (injected fault)' });
      } else {
        const envelope = buildEnvelope(check, entry.Resources, nextEventId(), scope, receivedAt);
        remember(eventBusName, envelope);
        results.push({ EventId: envelope.id });
        const deliver = options.deliverToQueue;
        if (deliver !== undefined) {
          deliveries.push(
            ...deliverToTargets(store.enabledOn(eventBusName), envelope, deliver, outcomesFor(envelope)),
          );
        }
      }
    }
    // Delivering before answering keeps the local stack deterministic: once PutEvents returns, the
    // subscriber queues already hold the events.
    await Promise.all(deliveries);

    const failed = results.filter((result) => 'ErrorCode' in result).length;
    stats.entriesFailed += failed;
    stats.entriesAccepted += results.length - failed;
    return { FailedEntryCount: failed, Entries: results };
  }

  function describeBus(name: string): { Name: string; Arn: string } {
    return { Name: name, Arn: eventBusArn(name, scope) };
  }

  const rules = ruleOperations({ scope, buses, store });
  const putTargets = rules.PutTargets;
  const operations: Record<string, Operation> = {
    ...rules,
    PutTargets: async (body) => {
      if (options.deliverToQueue === undefined) {
        throw validationError(
          'This EventBridge emulator was started without SQS, so it has no queue to deliver to.',
        );
      }
      return putTargets?.(body);
    },
    PutEvents: putEvents,
    ListEventBuses: async (body) => {
      const prefix = isRecord(body) && typeof body.NamePrefix === 'string' ? body.NamePrefix : '';
      return {
        EventBuses: [...buses]
          .filter((name) => name.startsWith(prefix))
          .sort()
          .map(describeBus),
      };
    },
    DescribeEventBus: async (body) => {
      const requested = isRecord(body) && typeof body.Name === 'string' ? body.Name : undefined;
      const name = eventBusNameOf(requested, scope);
      if (name === undefined || !buses.has(name)) {
        throw new EventBridgeApiError(
          'ResourceNotFoundException',
          `Event bus ${requested ?? DEFAULT_EVENT_BUS} does not exist.`,
        );
      }
      return describeBus(name);
    },
  };

  function published(eventBusName?: string): EventEnvelope[] {
    return ring
      .filter((item) => eventBusName === undefined || item.eventBusName === eventBusName)
      .map((item) => item.envelope);
  }

  const admin = {
    published,
    stats: () => ({ ...stats }),
    faults: () => ({ ...faults }),
    setFaults: (next: EventBridgeFaults) => {
      faults = validateFaults(next);
    },
    reset: resetState,
  };

  const call = operationCaller(operations);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    if (url.pathname.startsWith(EMULATOR_ADMIN_PREFIX)) return handleAdmin(req, res, url, admin);
    return serveApi(req, res, call, async () => {
      if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    });
  }

  return { handle, call, ...admin };
}
