/**
 * The request ledger's records and their transitions, as data and pure functions (docs/DESIGN.md, "The request
 * ledger"). The adapter writes a transition's result conditionally on the version it was computed from.
 */
import type { DomainLockRecord } from './domain-lock.ts';
import type { PackageDetails } from './events.ts';
import type { RequestAction } from './request.ts';
import type { RolloutRecord } from './rollout.ts';

/** A request's states; only `ACCEPTED` may call AWS, only `TRACKING` is followed by the tracker. */
export const REQUEST_STATES = ['ACCEPTED', 'TRACKING', 'SUCCEEDED', 'FAILED'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<RequestState> = new Set(['SUCCEEDED', 'FAILED']);

/** An event to publish; `detail` is the JSON text, so it is published byte for byte the same every time. */
export interface OutboxEvent {
  kind: 'event';
  eventId: string;
  detailType: string;
  domainName: string | null;
  detail: string;
  occurredAt: string;
}

export interface OutboxDeadLetter {
  kind: 'dead-letter';
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
  body: string;
  delaySeconds: number;
}

/** A rollout child's outcome, to be applied to its rollout's record (docs/DESIGN.md, "Rollouts"). */
export interface OutboxRolloutOutcome {
  kind: 'rollout-outcome';
  rolloutId: string;
  domainName: string;
  outcome: DomainOutcome;
}

/** A rollout wave's child requests, to be sent to the requests queue. */
export interface OutboxChildRequests {
  kind: 'children';
  wave: number;
  bodies: string[];
}

/** How a rollout's domain ended, as its child request's decision says. */
export interface DomainOutcome {
  state: 'SUCCEEDED' | 'FAILED';
  code?: string;
  packageVersion?: string;
}

export type OutboxEntry =
  | OutboxEvent
  | OutboxDeadLetter
  | OutboxTrackingMessage
  | OutboxRolloutOutcome
  | OutboxChildRequests;

/**
 * What a record still has to send, one slot per thing a request sends at most once in its life; the slots'
 * order is the order they are sent in (a Started event before the decision, both before the message that
 * follows the request, so a redelivery cannot announce Started after the outcome).
 */
export interface Outbox {
  deadLetter?: OutboxDeadLetter;
  started?: OutboxEvent;
  /** A rollout's: the wave just completed, announced before the next wave starts or the rollout ends. */
  waveCompleted?: OutboxEvent;
  decision?: OutboxEvent;
  /** A rollout child's: its outcome, applied to the rollout after its own decision is announced. */
  rolloutOutcome?: OutboxRolloutOutcome;
  /** A rollout's: the children of the wave it started. */
  children?: OutboxChildRequests;
  tracking?: OutboxTrackingMessage;
}
export type OutboxSlot = keyof Outbox;
export const OUTBOX_SLOTS: readonly OutboxSlot[] = [
  'deadLetter',
  'started',
  'waveCompleted',
  'decision',
  'rolloutOutcome',
  'children',
  'tracking',
];

/** What a request asks for, as kept in its record: enough to call AWS and to describe it in events. */
export interface StoredRequest {
  /** Absent in records written before dissociation existed: those are associations. */
  action?: RequestAction;
  idempotencyKey: string;
  correlationId: string;
  domainName: string;
  packageId: string;
  packageVersion?: string;
  prerequisitePackageIds?: string[];
  associationConfiguration?: {
    keyStoreAccessOption: { keyStoreAccessEnabled: boolean; keyAccessRoleArn?: string };
  };
  requestedBy?: string;
  /** A rollout's child: the rollout its decision advances. */
  rolloutId?: string;
}

export interface RecordBase {
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
  /** The SQS message the lease holder is processing: a copy that is that message must not end as a duplicate. */
  leaseMessageId?: string;
  /** Epoch ms: when tracking gives up. */
  deadline?: number;
  /** Epoch ms of the last call to AWS, written before it: a listing older than it cannot show that call. */
  calledAt?: number;
  /** The version the domain must end at: the request's, or the package's available one once seen usable. */
  targetVersion?: string;
  details?: PackageDetails;
  /** How the request ended, or the last transient error while it runs. */
  reason?: string;
  /** An AWS call may have taken effect without our knowing its answer: the next holder reads the listing first. */
  callUncertain?: boolean;
  /** AWS refused a group's operation that carried this request: it goes alone from then on, where a refusal is its own. */
  alone?: boolean;
  decidedAt?: number;
}

export interface RejectionRecord extends RecordBase {
  kind: 'rejection';
  state: 'REJECTED';
  reason: string;
}

export type LedgerRecord = RequestRecord | RejectionRecord | DomainLockRecord | RolloutRecord;

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

export function hasPending(record: LedgerRecord): boolean {
  return OUTBOX_SLOTS.some((slot) => record.outbox[slot] !== undefined);
}

/** The outbox's entries in the order they are sent. */
export function pendingEntries(outbox: Outbox): [OutboxSlot, OutboxEntry][] {
  return OUTBOX_SLOTS.flatMap((slot) => {
    const entry = outbox[slot];
    return entry === undefined ? [] : [[slot, entry] as [OutboxSlot, OutboxEntry]];
  });
}

/** The same entry: a slot keeps one entry per incarnation, and a new incarnation has new ids. */
export function isSameEntry(a: OutboxEntry | undefined, b: OutboxEntry): boolean {
  if (a === undefined || a.kind !== b.kind) return false;
  if (a.kind === 'event' && b.kind === 'event') return a.eventId === b.eventId;
  if (a.kind === 'dead-letter' && b.kind === 'dead-letter') return a.deadLetterId === b.deadLetterId;
  if (a.kind === 'rollout-outcome' && b.kind === 'rollout-outcome') {
    return a.rolloutId === b.rolloutId && a.domainName === b.domainName;
  }
  if (a.kind === 'children' && b.kind === 'children') return a.wave === b.wave;
  return a.kind === 'tracking' && b.kind === 'tracking' && a.body === b.body;
}
