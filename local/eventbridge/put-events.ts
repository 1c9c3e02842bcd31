import { EventBridgeApiError } from './errors.ts';

// PutEvents quotas and rules, from https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
export const MAX_ENTRIES_PER_CALL = 10;
/**
 * 256 KiB: the long-standing PutEvents limit. AWS has since raised it to 1 MiB in some regions; keeping
 * the lower one locally means code that fits here fits everywhere. Configurable per emulator.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 256 * 1024;
export const DEFAULT_EVENT_BUS = 'default';

/** One entry as it arrives on the wire (AWS JSON 1.1: timestamps are epoch seconds). */
export interface PutEventsRequestEntry {
  Time?: number | string;
  Source?: string;
  Resources?: string[];
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  TraceHeader?: string;
}

export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** The event as EventBridge hands it to rule targets. */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface AccountScope {
  region: string;
  accountId: string;
}

export type EntryCheck =
  | { ok: true; source: string; detailType: string; detail: Record<string, unknown>; time: Date | undefined }
  | { ok: false; error: { ErrorCode: string; ErrorMessage: string } };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function serializationError(message: string): EventBridgeApiError {
  return new EventBridgeApiError('SerializationException', message);
}

function readOptionalString(
  entry: Record<string, unknown>,
  field: string,
  index: number,
): string | undefined {
  const value = entry[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw serializationError(`Entries[${index}].${field} must be a string`);
  return value;
}

function parseEntry(raw: unknown, index: number): PutEventsRequestEntry {
  if (!isRecord(raw)) throw serializationError(`Entries[${index}] must be a structure`);
  const entry: PutEventsRequestEntry = {};
  for (const field of ['Source', 'DetailType', 'Detail', 'EventBusName', 'TraceHeader'] as const) {
    const value = readOptionalString(raw, field, index);
    if (value !== undefined) entry[field] = value;
  }
  const time = raw.Time;
  if (time !== undefined && time !== null) {
    if (typeof time !== 'number' && typeof time !== 'string') {
      throw serializationError(`Entries[${index}].Time must be a timestamp`);
    }
    entry.Time = time;
  }
  const resources = raw.Resources;
  if (resources !== undefined && resources !== null) {
    if (!Array.isArray(resources) || !resources.every((resource) => typeof resource === 'string')) {
      throw serializationError(`Entries[${index}].Resources must be a list of strings`);
    }
    entry.Resources = resources;
  }
  return entry;
}

/**
 * Reads the `PutEvents` input. Shape errors are `SerializationException` and a missing, empty or too long
 * `Entries` is `ValidationException` with AWS's constraint wording: both fail the whole call, as on AWS.
 */
export function parsePutEventsRequest(body: unknown): PutEventsRequestEntry[] {
  if (!isRecord(body)) throw serializationError('The request body must be a JSON object');
  const entries = body.Entries;
  if (entries === undefined || entries === null) {
    throw new EventBridgeApiError(
      'ValidationException',
      "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
    );
  }
  if (!Array.isArray(entries)) throw serializationError('Entries must be a list');
  if (entries.length < 1 || entries.length > MAX_ENTRIES_PER_CALL) {
    const bound =
      entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES_PER_CALL}`;
    throw new EventBridgeApiError(
      'ValidationException',
      `1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length ${bound}`,
    );
  }
  return entries.map(parseEntry);
}

function utf8Length(value: string | undefined): number {
  return value === undefined ? 0 : Buffer.byteLength(value, 'utf8');
}

/**
 * The size AWS charges an entry against the request limit: 14 bytes for a Time, plus the UTF-8 bytes of
 * Source, DetailType, Detail and every Resource. The JSON framing and EventBusName do not count.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  size += utf8Length(entry.Source) + utf8Length(entry.DetailType) + utf8Length(entry.Detail);
  for (const resource of entry.Resources ?? []) size += utf8Length(resource);
  return size;
}

export function assertRequestSize(entries: readonly PutEventsRequestEntry[], maxRequestBytes: number): void {
  const total = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
  if (total > maxRequestBytes) {
    throw new EventBridgeApiError(
      'ValidationException',
      'Total size of the entries in the request is over the limit.',
    );
  }
}

function parseTime(time: number | string): Date | undefined {
  const date = typeof time === 'number' ? new Date(time * 1000) : new Date(time);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function missingArgument(field: string): EntryCheck {
  return {
    ok: false,
    error: {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
    },
  };
}

/** Per-entry rules: AWS fails only the offending entry and still accepts its batch-mates. */
export function checkEntry(entry: PutEventsRequestEntry): EntryCheck {
  // AWS treats an empty string like an absent field.
  if (!entry.Source) return missingArgument('Source');
  if (!entry.DetailType) return missingArgument('DetailType');
  if (!entry.Detail) return missingArgument('Detail');

  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail);
  } catch {
    detail = undefined;
  }
  // "A valid JSON object": arrays, strings and numbers are as malformed as broken JSON.
  if (!isRecord(detail)) {
    return { ok: false, error: { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' } };
  }

  let time: Date | undefined;
  if (entry.Time !== undefined) {
    time = parseTime(entry.Time);
    if (time === undefined) {
      return {
        ok: false,
        error: { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Time is not valid.' },
      };
    }
  }
  return { ok: true, source: entry.Source, detailType: entry.DetailType, detail, time };
}

const EVENT_BUS_ARN = /^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):event-bus\/(.+)$/;

/**
 * The bus an entry names, by name or ARN (absent means `default`). `undefined` when the ARN belongs to
 * another account or region, or is not an event-bus ARN: no local bus can match it.
 */
export function eventBusNameOf(nameOrArn: string | undefined, scope: AccountScope): string | undefined {
  if (nameOrArn === undefined || nameOrArn === '') return DEFAULT_EVENT_BUS;
  if (!nameOrArn.startsWith('arn:')) return nameOrArn;
  const match = EVENT_BUS_ARN.exec(nameOrArn);
  if (match === null || match[1] !== scope.region || match[2] !== scope.accountId) return undefined;
  return match[3];
}

export function eventBusArn(name: string, scope: AccountScope): string {
  return `arn:aws:events:${scope.region}:${scope.accountId}:event-bus/${name}`;
}

/** EventBridge stamps `time` to the second, in UTC, with a `Z`. */
export function formatEventTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildEnvelope(
  accepted: Extract<EntryCheck, { ok: true }>,
  resources: readonly string[] | undefined,
  id: string,
  scope: AccountScope,
  receivedAt: Date,
): EventEnvelope {
  return {
    version: '0',
    id,
    'detail-type': accepted.detailType,
    source: accepted.source,
    account: scope.accountId,
    time: formatEventTime(accepted.time ?? receivedAt),
    region: scope.region,
    resources: [...(resources ?? [])],
    detail: accepted.detail,
  };
}
