/**
 * The request ledger's records and their transitions, as data and pure functions (docs/DESIGN.md, "The request
 * ledger"). The adapter writes a transition's result conditionally on the version it was computed from.
 */
import type { PackageDetails } from './events.ts';

/** A request's states; only `ACCEPTED` may call AWS, only `TRACKING` is followed by the tracker. */
export const REQUEST_STATES = ['ACCEPTED', 'TRACKING', 'SUCCEEDED', 'FAILED'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<RequestState> = new Set(['SUCCEEDED', 'FAILED']);

/** An event to publish; `detail` is the JSON text, so it is published byte for byte the same every time. */
export interface OutboxEvent {
  kind: 'event';
  seq: number;
  eventId: string;
  detailType: string;
  domainName: string | null;
  detail: string;
  occurredAt: string;
}

export interface OutboxDeadLetter {
  kind: 'dead-letter';
  seq: number;
  deadLetterId: string;
  /** Absent: the body of the message being handled (a rejection, or a request body too large to keep). */
  body?: string;
  reasonCode: string;
  errorMessage: string;
  attempt: number;
  sourceMessageId: string;
  failedAt: string;
}

export interface OutboxTrackingMessage {
  kind: 'tracking';
  seq: number;
  body: string;
  delaySeconds: number;
}

export type OutboxEntry = OutboxEvent | OutboxDeadLetter | OutboxTrackingMessage;
/** An entry before it has its place in an outbox. */
export type NewOutboxEntry = OutboxEntry extends infer E
  ? E extends OutboxEntry
    ? Omit<E, 'seq'>
    : never
  : never;
/** Entries by id (an event's `eventId`, a dead letter's `deadLetterId`): a flush removes what it sent. */
export type Outbox = Record<string, OutboxEntry>;

/** What a request asks for, as kept in its record: enough to call AWS and to describe it in events. */
export interface StoredRequest {
  idempotencyKey: string;
  correlationId: string;
  domainName: string;
  packageId: string;
  prerequisitePackageIds?: string[];
  associationConfiguration?: {
    keyStoreAccessOption: { keyStoreAccessEnabled: boolean; keyAccessRoleArn?: string };
  };
  requestedBy?: string;
}

interface RecordBase {
  id: string;
  outbox: Outbox;
  /** Every write is conditional on the version its writer read, and increments it. */
  version: number;
  /** A fresh id per write: after a ConditionalCheckFailed, equal to ours means our write had landed. */
  lastWrite: string;
  /** Epoch seconds (DynamoDB TTL); past it the record is treated as absent. */
  expiresAt: number;
}

export interface RequestRecord extends RecordBase {
  kind: 'request';
  incarnation: string;
  state: RequestState;
  fingerprint: string;
  request: StoredRequest;
  /** The first copy's body, for its dead letter, when small enough to keep beside the rest. */
  body?: string;
  sourceMessageId: string;
  /** Epoch ms: the start of the retry budget. */
  acceptedAt: number;
  /** Attempts the service counted (claims of the request). */
  attempts: number;
  leaseOwner?: string;
  /** Epoch ms: the lease holder's invocation deadline. */
  leaseUntil?: number;
  /** Epoch ms: when tracking gives up. */
  deadline?: number;
  details?: PackageDetails;
  /** How the request ended, or the last transient error while it runs. */
  reason?: string;
  /** An AWS call may have taken effect without our knowing its answer: the next holder reads the listing first. */
  callUncertain?: boolean;
  decidedAt?: number;
}

export interface RejectionRecord extends RecordBase {
  kind: 'rejection';
  state: 'REJECTED';
  reason: string;
}

export type LedgerRecord = RequestRecord | RejectionRecord;

export const requestRecordId = (idempotencyKey: string) => `request#${idempotencyKey}`;
export const rejectionRecordId = (messageId: string) => `rejection#${messageId}`;

export function isExpired(record: LedgerRecord, now: Date): boolean {
  return record.expiresAt * 1000 <= now.getTime();
}

/** Whether another invocation holds the request's lease now. */
export function isLeasedByAnother(record: RequestRecord, owner: string, now: Date): boolean {
  return (
    record.leaseOwner !== undefined && record.leaseOwner !== owner && (record.leaseUntil ?? 0) > now.getTime()
  );
}

export function hasPending(record: LedgerRecord, kinds?: ReadonlySet<OutboxEntry['kind']>): boolean {
  return Object.values(record.outbox).some((entry) => kinds === undefined || kinds.has(entry.kind));
}

/** The outbox's entries in the order they were added. */
export function pendingEntries(outbox: Outbox): [string, OutboxEntry][] {
  return Object.entries(outbox).sort(([, a], [, b]) => a.seq - b.seq);
}

/** Adds entries after those already pending, in the order given. */
export function withEntries(outbox: Outbox, entries: [string, NewOutboxEntry][]): Outbox {
  let seq = Math.max(0, ...Object.values(outbox).map((entry) => entry.seq));
  const next: Outbox = { ...outbox };
  for (const [id, entry] of entries) {
    seq += 1;
    next[id] = { ...entry, seq } as OutboxEntry;
  }
  return next;
}

export function withoutEntries(outbox: Outbox, ids: readonly string[]): Outbox {
  const next: Outbox = { ...outbox };
  for (const id of ids) delete next[id];
  return next;
}
