/**
 * The ledger's transitions as pure functions: each takes the record as read and returns the record to write,
 * with the events and messages the step owes in its outbox. Which step calls which is the table in
 * docs/DESIGN.md; the service writes the result conditionally on the version it read.
 */
import { type DeadLetterInput, deadLetter } from './dlq.ts';
import {
  type AssociationEvent,
  type FailureReason,
  failedEvent,
  type PackageDetails,
  type RejectionCode,
  type RejectionHint,
  type RequestIdentity,
  rejectedEvent,
  startedEvent,
  succeededEvent,
} from './events.ts';
import {
  type DomainOutcome,
  isSameEntry,
  type LedgerRecord,
  type OutboxDeadLetter,
  type OutboxEntry,
  type OutboxEvent,
  type OutboxSlot,
  type RejectionRecord,
  type RequestRecord,
  rejectionRecordId,
  requestRecordId,
  type StoredRequest,
} from './ledger.ts';
import type { RequestAction } from './request.ts';
import { sqsSafeJson } from './sqs-text.ts';

/** What every transition needs besides the record: the time, fresh ids, and the service's settings. */
export interface TransitionContext {
  now: Date;
  newId(): string;
  /** The idempotency window, counted from the decision. */
  windowSeconds: number;
}

export interface Lease {
  owner: string;
  /** Epoch ms. */
  until: number;
  /** The SQS message being processed under the lease. */
  messageId?: string;
}

/** How a request ends, as a transition records it. */
export type Decision =
  | { outcome: 'succeeded'; details: PackageDetails }
  | {
      outcome: 'failed';
      reason: FailureReason;
      details: PackageDetails;
      /** Dead-lettered when a human should look at it (permanent errors, retries exhausted). */
      deadLetter: boolean;
    };

const seconds = (ms: number) => Math.ceil(ms / 1000);

/** DynamoDB items hold 400 KB; a body over this is dead-lettered from the message itself. */
const MAX_KEPT_BODY_BYTES = 64 * 1024;

/** A record's action: records from before dissociation existed hold none and are associations. */
export function actionOf(request: StoredRequest): RequestAction {
  return request.action ?? 'associate';
}

export function identityOf(request: StoredRequest, targetVersion?: string): RequestIdentity {
  return {
    action: actionOf(request),
    ...(targetVersion !== undefined && { targetVersion }),
    idempotencyKey: request.idempotencyKey,
    correlationId: request.correlationId,
    domainName: request.domainName,
    packageId: request.packageId,
    requestedBy: request.requestedBy,
    ...(request.rolloutId !== undefined && { rolloutId: request.rolloutId }),
  };
}

function eventEntry(event: AssociationEvent): OutboxEvent {
  return {
    kind: 'event',
    eventId: event.detail.eventId,
    detailType: event.detailType,
    domainName: event.domainName,
    // Escaped for SQS too: subscribers' queues are SQS targets of the bus.
    detail: sqsSafeJson(event.detail),
    occurredAt: event.detail.occurredAt,
  };
}

function deadLetterEntry(
  input: Omit<DeadLetterInput, 'body'> & { body: string | undefined },
  deadLetterId: string,
): OutboxDeadLetter {
  return {
    kind: 'dead-letter',
    deadLetterId,
    ...(input.body !== undefined && { body: input.body }),
    reasonCode: input.reasonCode,
    errorMessage: input.errorMessage,
    attempt: input.attempt,
    sourceMessageId: input.sourceMessageId,
    failedAt: input.failedAt.toISOString(),
  };
}

/** The dead letter an outbox entry stands for, as the DLQ receives it; `messageBody` when it kept none. */
export function deadLetterOf(entry: Extract<OutboxEntry, { kind: 'dead-letter' }>, messageBody: string) {
  const letter = deadLetter({
    body: entry.body ?? messageBody,
    reasonCode: entry.reasonCode,
    errorMessage: entry.errorMessage,
    attempt: entry.attempt,
    sourceMessageId: entry.sourceMessageId,
    failedAt: new Date(entry.failedAt),
  });
  letter.attributes.DeadLetterId = { DataType: 'String', StringValue: entry.deadLetterId };
  return letter;
}

/**
 * `claim` of a new request: `ACCEPTED`, leased to this invocation. Its expiry outlives the retry budget and the
 * tracking deadline, so the record cannot vanish before its decision; the decision sets the window.
 */
export function acceptRequest(
  ctx: TransitionContext,
  input: {
    request: StoredRequest;
    fingerprint: string;
    body: string;
    messageId: string;
    lease: Lease;
    lifetimeSeconds: number;
  },
): RequestRecord {
  // Valid requests are small; one padded to SQS's limit would not fit an item beside its outbox.
  const keepBody = Buffer.byteLength(input.body, 'utf8') <= MAX_KEPT_BODY_BYTES;
  return {
    id: requestRecordId(input.request.idempotencyKey),
    kind: 'request',
    incarnation: ctx.newId(),
    state: 'ACCEPTED',
    fingerprint: input.fingerprint,
    request: input.request,
    ...(keepBody && { body: input.body }),
    sourceMessageId: input.messageId,
    acceptedAt: ctx.now.getTime(),
    attempts: 1,
    leaseOwner: input.lease.owner,
    leaseUntil: input.lease.until,
    ...(input.lease.messageId !== undefined && { leaseMessageId: input.lease.messageId }),
    outbox: {},
    version: 0,
    lastWrite: '',
    expiresAt: seconds(ctx.now.getTime()) + input.lifetimeSeconds,
  };
}

/**
 * `claim` of an `ACCEPTED` request whose lease is free or expired: another attempt at it. A lease that expired
 * rather than being released means its holder died, perhaps after calling AWS.
 */
export function takeOver(record: RequestRecord, lease: Lease): RequestRecord {
  return {
    ...record,
    attempts: record.attempts + 1,
    leaseOwner: lease.owner,
    leaseUntil: lease.until,
    ...(lease.messageId !== undefined && { leaseMessageId: lease.messageId }),
    callUncertain: record.callUncertain === true || record.leaseOwner !== undefined,
  };
}

/**
 * `release`: the lease dropped after a transient failure, so the retry need not wait for it to expire.
 * `uncertain`: a call may have taken effect unseen (a lost answer, a failure after AWS accepted).
 */
export function release(record: RequestRecord, reason: string, uncertain: boolean): RequestRecord {
  const { leaseOwner: _owner, leaseUntil: _until, leaseMessageId: _message, ...rest } = record;
  return { ...rest, reason, callUncertain: uncertain || record.callUncertain === true };
}

/** `follow`: AWS accepted (or a listing shows it running); the tracker takes over, Started is announced. */
export function follow(
  ctx: TransitionContext,
  record: RequestRecord,
  details: PackageDetails,
  tracking: { deadlineSeconds: number; firstDelaySeconds: number; announce: boolean },
): RequestRecord {
  const started = tracking.announce
    ? eventEntry(
        startedEvent(identityOf(record.request, record.targetVersion), details, {
          eventId: ctx.newId(),
          attempt: record.attempts,
          occurredAt: ctx.now,
        }),
      )
    : undefined;
  // Nothing decided from here on is dead-lettered: the body is no longer needed, and the record stays small.
  const {
    leaseOwner: _owner,
    leaseUntil: _until,
    leaseMessageId: _message,
    reason: _reason,
    body: _body,
    ...rest
  } = record;
  const deadline = ctx.now.getTime() + tracking.deadlineSeconds * 1000;
  return {
    ...rest,
    state: 'TRACKING',
    details: {
      ...record.details,
      ...details,
      status: actionOf(record.request) === 'dissociate' ? 'DISSOCIATING' : 'ASSOCIATING',
    },
    deadline,
    // Followed past its first lifetime (a follow at the end of the retry budget): it must outlive the deadline.
    expiresAt: Math.max(record.expiresAt, seconds(deadline) + ctx.windowSeconds),
    outbox: {
      ...record.outbox,
      ...(started !== undefined && { started }),
      tracking: {
        kind: 'tracking',
        body: sqsSafeJson({ idempotencyKey: record.request.idempotencyKey, incarnation: record.incarnation }),
        delaySeconds: tracking.firstDelaySeconds,
      },
    },
  };
}

/** `decide` (associate) and `conclude` (tracker): the terminal transition, its event in the outbox. */
export function decide(ctx: TransitionContext, record: RequestRecord, decision: Decision): RequestRecord {
  const stamp = { eventId: ctx.newId(), attempt: record.attempts, occurredAt: ctx.now };
  const identity = identityOf(record.request, record.targetVersion);
  const outbox = { ...record.outbox };
  if (decision.outcome === 'succeeded') {
    outbox.decision = eventEntry(succeededEvent(identity, decision.details, stamp));
  } else {
    outbox.decision = eventEntry(failedEvent(identity, decision.reason, stamp, decision.details));
    // Sent before the event: the DLQ copy is what an operator acts on, the event what a subscriber reacts to.
    // A rollout's child is not dead-lettered: its rollout's outcomes carry its failure.
    if (decision.deadLetter && record.request.rolloutId === undefined) {
      const input = {
        body: record.body,
        reasonCode: decision.reason.code,
        errorMessage: decision.reason.message,
        attempt: record.attempts,
        sourceMessageId: record.sourceMessageId,
        failedAt: ctx.now,
      };
      outbox.deadLetter = deadLetterEntry(input, ctx.newId());
    }
  }
  const { rolloutId } = record.request;
  if (rolloutId !== undefined) {
    const version = decision.details.packageVersion ?? record.details?.packageVersion;
    const outcome: DomainOutcome =
      decision.outcome === 'succeeded'
        ? { state: 'SUCCEEDED', ...(version !== undefined && { packageVersion: version }) }
        : { state: 'FAILED', code: decision.reason.code };
    outbox.rolloutOutcome = {
      kind: 'rollout-outcome',
      rolloutId,
      domainName: record.request.domainName,
      outcome,
    };
  }
  const { leaseOwner: _owner, leaseUntil: _until, leaseMessageId: _message, body: _body, ...rest } = record;
  return {
    ...rest,
    state: decision.outcome === 'succeeded' ? 'SUCCEEDED' : 'FAILED',
    details: { ...record.details, ...decision.details },
    reason: decision.outcome === 'succeeded' ? 'Succeeded' : decision.reason.code,
    decidedAt: ctx.now.getTime(),
    expiresAt: seconds(ctx.now.getTime()) + ctx.windowSeconds,
    outbox,
  };
}

/** `reject`: a message refused before it became a request, recorded by its message id. */
export function rejectMessage(
  ctx: TransitionContext,
  input: {
    messageId: string;
    body: string;
    attempt: number;
    hint: RejectionHint;
    code: RejectionCode;
    message: string;
  },
): RejectionRecord {
  const event = rejectedEvent(
    input.messageId,
    input.hint,
    { code: input.code, message: input.message },
    { eventId: ctx.newId(), attempt: input.attempt, occurredAt: ctx.now },
  );
  // The body is not kept: only a copy of this very message (same id, same body) reads this record again.
  const letter = deadLetterEntry(
    {
      body: undefined,
      reasonCode: input.code,
      errorMessage: input.message,
      attempt: input.attempt,
      sourceMessageId: input.messageId,
      failedAt: ctx.now,
    },
    ctx.newId(),
  );
  return {
    id: rejectionRecordId(input.messageId),
    kind: 'rejection',
    state: 'REJECTED',
    reason: input.code,
    outbox: { deadLetter: letter, decision: eventEntry(event) },
    version: 0,
    lastWrite: '',
    expiresAt: seconds(ctx.now.getTime()) + ctx.windowSeconds,
  };
}

/** `clear`: the entries a flush sent leave the outbox (each only if it is still the same entry). */
export function cleared<R extends LedgerRecord>(record: R, sent: readonly [OutboxSlot, OutboxEntry][]): R {
  const outbox = { ...record.outbox };
  for (const [slot, entry] of sent) if (isSameEntry(outbox[slot], entry)) delete outbox[slot];
  return { ...record, outbox };
}
