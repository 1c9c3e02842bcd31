import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Random, seededRandom, uuidFactory } from '../rng.ts';
import { EMULATOR_ADMIN_PREFIX, handleAdmin } from './admin.ts';
import { EventBridgeApiError } from './errors.ts';
import { type EventBridgeFaults, validateFaults } from './faults.ts';
import { JSON_11, readJsonBody, send, sendApiError } from './http.ts';
import { flattenEvent, matchesFlatEvent } from './pattern.ts';
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
import { type QueueRef, targetBody } from './targets.ts';
import { isRecord, validationError } from './validation.ts';

export { EMULATOR_ADMIN_PREFIX } from './admin.ts';
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

/** Sends one message to an SQS queue; the local stack hands this to its SQS. */
export type QueueDelivery = (
  queue: QueueRef,
  body: string,
  options: { messageGroupId?: string },
) => Promise<void>;

/** Which rule target a failed delivery was for. */
export interface DeliveryTarget {
  rule: string;
  eventBusName: string;
  targetId: string;
  queueArn: string;
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

const TARGET_PREFIX = 'AWSEvents.';
const DEFAULT_PUBLISHED_LIMIT = 1000;

/**
 * The envelope as the JSON text an SQS target receives, every character past ASCII escaped: the same strings to
 * any JSON parser, and text that fauxqs accepts too (it refuses U+FFFE and U+FFFF as SQS does, and also every
 * character beyond U+FFFF, which SQS accepts), so free text in a detail reaches the subscriber's queue.
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

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

  /** Every target of every enabled rule on the bus whose pattern matches, each handed its own message. */
  function deliveriesFor(eventBusName: string, envelope: EventEnvelope): Promise<void>[] {
    const deliver = options.deliverToQueue;
    if (deliver === undefined) return [];
    const flat = flattenEvent(envelope);
    return store
      .enabledOn(eventBusName)
      .filter((rule) => matchesFlatEvent(rule.compiled, flat))
      .flatMap((rule) =>
        [...rule.targets.values()].map(async (target) => {
          try {
            const body = targetBody(target, envelope, asciiJson);
            const group = target.messageGroupId;
            await deliver(target.queue, body, group === undefined ? {} : { messageGroupId: group });
            stats.deliveries += 1;
          } catch (error) {
            // On AWS a failed target never fails the PutEvents call that published the event: it is
            // retried and then dead-lettered out of band. So it is counted and reported, not thrown.
            stats.deliveryFailures += 1;
            const where = { rule: rule.name, eventBusName, targetId: target.id, queueArn: target.queue.arn };
            options.onDeliveryError?.(error, where, envelope);
          }
        }),
      );
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
        deliveries.push(...deliveriesFor(eventBusName, envelope));
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

  async function call(operationName: string, input: unknown): Promise<unknown> {
    const operation = operations[operationName];
    if (operation === undefined) {
      throw new EventBridgeApiError(
        'UnknownOperationException',
        `The local EventBridge emulator does not support ${TARGET_PREFIX}${operationName}.`,
      );
    }
    return operation(input);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    if (url.pathname.startsWith(EMULATOR_ADMIN_PREFIX)) return handleAdmin(req, res, url, admin);

    const requestId = randomUUID();
    try {
      const target = req.headers['x-amz-target'];
      const operationName =
        typeof target === 'string' && target.startsWith(TARGET_PREFIX)
          ? target.slice(TARGET_PREFIX.length)
          : '';
      if (req.method !== 'POST' || operations[operationName] === undefined) {
        throw new EventBridgeApiError(
          'UnknownOperationException',
          `The local EventBridge emulator does not support ${typeof target === 'string' ? target : 'this request'}.`,
        );
      }
      const body = await readJsonBody(req);
      if (faults.latencyMs > 0) await sleep(faults.latencyMs);
      const output = await call(operationName, body);
      send(res, 200, { 'content-type': JSON_11, 'x-amzn-requestid': requestId }, output);
    } catch (error) {
      const apiError =
        error instanceof EventBridgeApiError
          ? error
          : new EventBridgeApiError(
              'InternalException',
              `The local EventBridge emulator failed: ${error instanceof Error ? error.message : String(error)}`,
              500,
            );
      sendApiError(res, apiError, requestId);
    }
  }

  return { handle, call, ...admin };
}
