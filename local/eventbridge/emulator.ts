import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Random, seededRandom, uuidFactory } from '../rng.ts';
import { EventBridgeApiError, EventBridgeConfigError } from './errors.ts';
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

/** The subset of EventBridge patterns the local stack needs: exact matches on source and detail-type. */
export interface EventPattern {
  source?: string[];
  'detail-type'?: string[];
}

export interface EventRule {
  name: string;
  eventBusName: string;
  /** Absent: every event on the bus matches. */
  eventPattern?: EventPattern;
  /** Receives the envelope as the JSON text an SQS target would get as its message body. */
  deliver: (envelopeJson: string) => Promise<void>;
}

export interface EventBridgeFaults {
  /** Share of otherwise valid entries answered with `InternalFailure` (0..1). */
  entryFailureRate?: number;
  /** Share of PutEvents calls answered with `ThrottlingException` (0..1). */
  throttleRate?: number;
  /** Added before every API answer. */
  latencyMs?: number;
}

export interface EventBridgeStats {
  /** PutEvents calls received, rejected ones included. */
  calls: number;
  /** PutEvents calls that failed as a whole (validation, unknown bus, throttling). */
  callsRejected: number;
  throttled: number;
  entriesAccepted: number;
  entriesFailed: number;
  deliveries: number;
  deliveryFailures: number;
}

export interface EventBridgeEmulatorOptions {
  region?: string;
  accountId?: string;
  /** Buses that exist besides `default`, which always does. */
  buses: string[];
  rules?: EventRule[];
  faults?: EventBridgeFaults;
  /** Shorthand for `faults.latencyMs`. */
  latencyMs?: number;
  /** Makes fault decisions and event ids repeat exactly from run to run. */
  randomSeed?: number;
  maxRequestBytes?: number;
  /** How many published envelopes `published()` keeps, newest last. */
  publishedLimit?: number;
  /** Told about every failed rule delivery; the PutEvents call itself has already succeeded by then. */
  onDeliveryError?: (error: unknown, rule: EventRule, envelope: EventEnvelope) => void;
}

export interface EventBridgeEmulator {
  /** Serves the EventBridge API (`POST /` with `X-Amz-Target: AWSEvents.*`) and `/_emulator/events/*`. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Adds a rule, replacing one of the same name on the same bus. */
  addRule(rule: EventRule): void;
  /** Replaces the whole fault configuration, latency included. */
  setFaults(faults: EventBridgeFaults): void;
  faults(): Required<EventBridgeFaults>;
  /** Envelopes accepted so far (bounded ring, oldest first), optionally only those of one bus. */
  published(eventBusName?: string): EventEnvelope[];
  stats(): EventBridgeStats;
  /** Forgets published events and counters, restores the initial faults and reseeds the random streams. */
  reset(): void;
}

export const EMULATOR_ADMIN_PREFIX = '/_emulator/events/';

const TARGET_PREFIX = 'AWSEvents.';
const JSON_11 = 'application/x-amz-json-1.1';
// Well above the PutEvents limit, so oversized requests still get AWS's ValidationException,
// while a runaway client cannot make the emulator buffer without bound.
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const DEFAULT_PUBLISHED_LIMIT = 1000;
const FAULT_FIELDS: readonly string[] = ['entryFailureRate', 'throttleRate', 'latencyMs'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validateFaults(faults: EventBridgeFaults): Required<EventBridgeFaults> {
  const resolved = {
    entryFailureRate: faults.entryFailureRate ?? 0,
    throttleRate: faults.throttleRate ?? 0,
    latencyMs: faults.latencyMs ?? 0,
  };
  for (const key of ['entryFailureRate', 'throttleRate'] as const) {
    const rate = resolved[key];
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
      throw new EventBridgeConfigError(`${key} must be a number from 0 to 1, got ${String(rate)}`);
    }
  }
  const latency = resolved.latencyMs;
  if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0) {
    throw new EventBridgeConfigError(`latencyMs must be a finite number >= 0, got ${String(latency)}`);
  }
  return resolved;
}

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

function matchesPattern(pattern: EventPattern | undefined, envelope: EventEnvelope): boolean {
  if (pattern === undefined) return true;
  const { source, 'detail-type': detailType } = pattern;
  if (source !== undefined && !source.includes(envelope.source)) return false;
  if (detailType !== undefined && !detailType.includes(envelope['detail-type'])) return false;
  return true;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += buffer.length;
    if (length > MAX_BODY_BYTES) {
      throw new EventBridgeApiError('RequestEntityTooLargeException', 'Request body is too large.', 413);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const text = (await readBody(req)).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new EventBridgeApiError('SerializationException', 'The request body is not valid JSON.');
  }
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(payload)) });
  res.end(payload);
}

function sendApiError(res: ServerResponse, error: EventBridgeApiError, requestId: string): void {
  send(
    res,
    error.statusCode,
    { 'content-type': JSON_11, 'x-amzn-requestid': requestId, 'x-amzn-errortype': error.code },
    { __type: error.code, message: error.message },
  );
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
  const rules: EventRule[] = [];
  const ring: Array<{ eventBusName: string; envelope: EventEnvelope }> = [];

  let faults = initialFaults;
  let stats: EventBridgeStats;
  // Separate streams so the fault pattern depends only on the seed and the calls, not on how many ids were drawn.
  let faultRandom: Random;
  let nextEventId: () => string;

  function resetState(): void {
    ring.length = 0;
    faults = initialFaults;
    stats = {
      calls: 0,
      callsRejected: 0,
      throttled: 0,
      entriesAccepted: 0,
      entriesFailed: 0,
      deliveries: 0,
      deliveryFailures: 0,
    };
    if (options.randomSeed === undefined) {
      faultRandom = Math.random;
      nextEventId = uuidFactory();
    } else {
      faultRandom = seededRandom(options.randomSeed);
      nextEventId = uuidFactory(seededRandom(options.randomSeed ^ 0x5bd1e995));
    }
  }
  resetState();

  function addRule(rule: EventRule): void {
    if (!buses.has(rule.eventBusName)) {
      throw new EventBridgeConfigError(
        `Rule ${rule.name} names event bus ${rule.eventBusName}, which does not exist`,
      );
    }
    const existing = rules.findIndex((r) => r.name === rule.name && r.eventBusName === rule.eventBusName);
    if (existing === -1) rules.push(rule);
    else rules[existing] = rule;
  }
  for (const rule of options.rules ?? []) addRule(rule);

  function remember(eventBusName: string, envelope: EventEnvelope): void {
    ring.push({ eventBusName, envelope });
    if (ring.length > publishedLimit) ring.shift();
  }

  async function deliverToRule(rule: EventRule, envelope: EventEnvelope): Promise<void> {
    try {
      await rule.deliver(asciiJson(envelope));
      stats.deliveries += 1;
    } catch (error) {
      // On AWS a failed target never fails the PutEvents call that published the event: it is
      // retried and then dead-lettered out of band. So it is counted and reported, not thrown.
      stats.deliveryFailures += 1;
      options.onDeliveryError?.(error, rule, envelope);
    }
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
        for (const rule of rules) {
          if (rule.eventBusName === eventBusName && matchesPattern(rule.eventPattern, envelope)) {
            deliveries.push(deliverToRule(rule, envelope));
          }
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

  const operations: Record<string, (body: unknown) => Promise<unknown>> = {
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

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const json = { 'content-type': 'application/json' };
    const route = `${req.method ?? 'GET'} ${url.pathname.slice(EMULATOR_ADMIN_PREFIX.length)}`;
    try {
      switch (route) {
        case 'GET published':
          return send(res, 200, json, {
            events: published(url.searchParams.get('eventBusName') ?? undefined),
          });
        case 'GET stats':
          return send(res, 200, json, stats);
        case 'GET faults':
          return send(res, 200, json, faults);
        case 'POST faults':
        case 'PUT faults': {
          const body = await readJsonBody(req);
          if (!isRecord(body)) throw new EventBridgeConfigError('The faults body must be a JSON object');
          const unknown = Object.keys(body).filter((key) => !FAULT_FIELDS.includes(key));
          if (unknown.length > 0) {
            throw new EventBridgeConfigError(
              `Unknown fault field ${unknown.join(', ')}; the fields are ${FAULT_FIELDS.join(', ')}`,
            );
          }
          faults = validateFaults(body as EventBridgeFaults);
          return send(res, 200, json, faults);
        }
        case 'DELETE faults':
          faults = validateFaults({});
          return send(res, 200, json, faults);
        case 'POST reset':
          resetState();
          return send(res, 204, {}, undefined);
        default:
          return send(res, 404, json, { message: `No emulator admin route ${route}` });
      }
    } catch (error) {
      if (error instanceof EventBridgeConfigError || error instanceof EventBridgeApiError) {
        return send(res, 400, json, { message: error.message });
      }
      throw error;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    if (url.pathname.startsWith(EMULATOR_ADMIN_PREFIX)) return handleAdmin(req, res, url);

    const requestId = randomUUID();
    try {
      const target = req.headers['x-amz-target'];
      const operationName =
        typeof target === 'string' && target.startsWith(TARGET_PREFIX)
          ? target.slice(TARGET_PREFIX.length)
          : '';
      const operation = req.method === 'POST' ? operations[operationName] : undefined;
      if (operation === undefined) {
        throw new EventBridgeApiError(
          'UnknownOperationException',
          `The local EventBridge emulator does not support ${typeof target === 'string' ? target : 'this request'}.`,
        );
      }
      const body = await readJsonBody(req);
      if (faults.latencyMs > 0) await sleep(faults.latencyMs);
      const output = await operation(body);
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

  return {
    handle,
    addRule,
    setFaults(next) {
      faults = validateFaults(next);
    },
    faults: () => ({ ...faults }),
    published,
    stats: () => ({ ...stats }),
    reset: resetState,
  };
}
