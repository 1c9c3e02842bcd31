/**
 * Reading the service's request ledger (docs/DESIGN.md, "The request ledger") for one request key, one rejected
 * message or one rollout, and what a person needs to know about the record: pure views of the stored item.
 */
import type { Ledger } from '../src/adapters/ledger.ts';
import {
  isExpired,
  type LedgerRecord,
  type OutboxEntry,
  pendingEntries,
  type RejectionRecord,
  type RequestRecord,
  type RequestState,
  rejectionRecordId,
  requestRecordId,
  TERMINAL_STATES,
} from '../src/domain/ledger.ts';
import { type RolloutRecord, rolloutRecordId } from '../src/domain/rollout.ts';
import { OperationError } from './io.ts';
import { type RolloutSnapshot, rolloutSnapshot } from './rollout-view.ts';

/** Who may call AWS for the request: nobody (`free`), an invocation now (`held`), or a dead one (`expired`). */
export type LeaseView = { status: 'free' } | { status: 'held' | 'expired'; owner: string; until: Date };

/** An outbox entry still to send, by its id in the outbox. */
export type PendingView =
  | { id: string; kind: 'event'; eventId: string; detailType: string }
  | { id: string; kind: 'dead-letter'; deadLetterId: string; reasonCode: string }
  | { id: string; kind: 'tracking'; delaySeconds: number }
  | { id: string; kind: 'rollout-outcome'; rolloutId: string; domainName: string }
  | { id: string; kind: 'children'; wave: number; count: number };

interface ViewBase {
  /** The item's key in the ledger table. */
  id: string;
  /** When the window ends (the record's TTL). */
  expiresAt: Date;
  /** Past `expiresAt`: the service treats the record as absent, though DynamoDB may not have deleted it yet. */
  expired: boolean;
  pending: PendingView[];
}

export interface RequestView extends ViewBase {
  kind: 'request';
  idempotencyKey: string;
  incarnation: string;
  state: RequestState;
  domainName: string;
  packageId: string;
  correlationId: string;
  requestedBy?: string | undefined;
  /** The message whose copy was accepted first. */
  sourceMessageId: string;
  attempts: number;
  acceptedAt: Date;
  lease: LeaseView;
  /** When tracking gives up (set once the request is followed). */
  deadline?: Date | undefined;
  /** How the request ended: the reason code (`Succeeded` or the failure's code) and when. */
  decision?: { reason: string | undefined; decidedAt: Date | undefined } | undefined;
  /** While it runs: the last transient error the service recorded. */
  lastError?: string | undefined;
  /** An AWS call may have taken effect unseen: the next attempt reads the domain's listing first. */
  callUncertain: boolean;
}

export interface RejectionView extends ViewBase {
  kind: 'rejection';
  messageId: string;
  state: 'REJECTED';
  /** The rejection's code: `InvalidRequest`, `DomainNotAllowed` or `IdempotencyKeyConflict`. */
  reason: string;
}

/** A rollout's record: its target, strategy, waves with each domain's outcome, and counts. */
export interface RolloutView extends ViewBase, RolloutSnapshot {
  kind: 'rollout';
  correlationId: string;
  requestedBy?: string | undefined;
  acceptedAt: Date;
  decidedAt?: Date | undefined;
}

export type RecordView = RequestView | RejectionView | RolloutView;

/** Which record to read: a request or a rollout by its idempotency key, a rejected message by its message id. */
export type RecordLookup =
  | { kind: 'request'; idempotencyKey: string }
  | { kind: 'rejection'; messageId: string }
  | { kind: 'rollout'; rolloutId: string };

export function recordIdOf(lookup: RecordLookup): string {
  switch (lookup.kind) {
    case 'request':
      return requestRecordId(lookup.idempotencyKey);
    case 'rejection':
      return rejectionRecordId(lookup.messageId);
    case 'rollout':
      return rolloutRecordId(lookup.rolloutId);
  }
}

function pendingView(id: string, entry: OutboxEntry): PendingView {
  switch (entry.kind) {
    case 'event':
      return { id, kind: 'event', eventId: entry.eventId, detailType: entry.detailType };
    case 'dead-letter':
      return { id, kind: 'dead-letter', deadLetterId: entry.deadLetterId, reasonCode: entry.reasonCode };
    case 'tracking':
      return { id, kind: 'tracking', delaySeconds: entry.delaySeconds };
    case 'rollout-outcome':
      return { id, kind: 'rollout-outcome', rolloutId: entry.rolloutId, domainName: entry.domainName };
    case 'children':
      return { id, kind: 'children', wave: entry.wave, count: entry.bodies.length };
  }
}

function leaseView(record: RequestRecord, now: Date): LeaseView {
  if (record.leaseOwner === undefined) return { status: 'free' };
  const until = new Date(record.leaseUntil ?? 0);
  return { status: until.getTime() > now.getTime() ? 'held' : 'expired', owner: record.leaseOwner, until };
}

function baseView(record: LedgerRecord, now: Date): ViewBase {
  return {
    id: record.id,
    expiresAt: new Date(record.expiresAt * 1000),
    expired: isExpired(record, now),
    pending: pendingEntries(record.outbox).map(([id, entry]) => pendingView(id, entry)),
  };
}

export function viewRequest(record: RequestRecord, now: Date): RequestView {
  const decided = TERMINAL_STATES.has(record.state);
  const { request } = record;
  return {
    kind: 'request',
    ...baseView(record, now),
    idempotencyKey: request.idempotencyKey,
    incarnation: record.incarnation,
    state: record.state,
    domainName: request.domainName,
    packageId: request.packageId,
    correlationId: request.correlationId,
    requestedBy: request.requestedBy,
    sourceMessageId: record.sourceMessageId,
    attempts: record.attempts,
    acceptedAt: new Date(record.acceptedAt),
    lease: leaseView(record, now),
    deadline: record.deadline === undefined ? undefined : new Date(record.deadline),
    decision: decided
      ? {
          reason: record.reason,
          decidedAt: record.decidedAt === undefined ? undefined : new Date(record.decidedAt),
        }
      : undefined,
    lastError: decided ? undefined : record.reason,
    callUncertain: record.callUncertain === true,
  };
}

export function viewRejection(record: RejectionRecord, now: Date): RejectionView {
  return {
    kind: 'rejection',
    ...baseView(record, now),
    messageId: record.id.slice(rejectionRecordId('').length),
    state: record.state,
    reason: record.reason,
  };
}

export function viewRollout(record: RolloutRecord, now: Date): RolloutView {
  return {
    kind: 'rollout',
    ...baseView(record, now),
    ...rolloutSnapshot(record),
    correlationId: record.correlationId,
    requestedBy: record.requestedBy,
    acceptedAt: new Date(record.acceptedAt),
    decidedAt: record.decidedAt === undefined ? undefined : new Date(record.decidedAt),
  };
}

/** The view of a record of the kind looked up. */
function viewOf(record: RequestRecord | RejectionRecord | RolloutRecord, now: Date): RecordView {
  switch (record.kind) {
    case 'request':
      return viewRequest(record, now);
    case 'rejection':
      return viewRejection(record, now);
    case 'rollout':
      return viewRollout(record, now);
  }
}

/**
 * The record `lookup` names, as the ledger holds it now (the adapter reads consistently: a record written a
 * moment ago by the invocation being watched is seen), or undefined when there is none.
 */
export async function readRecordView(
  ledger: Pick<Ledger, 'get'>,
  lookup: RecordLookup,
  now: Date,
): Promise<RecordView | undefined> {
  const id = recordIdOf(lookup);
  const record = await ledger.get(id);
  if (record === undefined) return undefined;
  // The id's prefix decides the kind; an item without the matching `kind` is not one the service wrote.
  if (record.kind !== lookup.kind) {
    throw new OperationError(
      `${id} is not a ledger ${lookup.kind} record (kind ${String(record.kind)}): wrong table?`,
    );
  }
  return viewOf(record, now);
}
