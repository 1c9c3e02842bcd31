/**
 * The domain lock (docs/DESIGN.md, "One operation per domain at a time"): one record per domain naming the
 * request that may run a package operation on it, from `lock` until that request's decision.
 */
import { type LedgerRecord, type RecordBase, type RequestRecord, TERMINAL_STATES } from './ledger.ts';

export interface DomainLockHolder {
  idempotencyKey: string;
  incarnation: string;
}

/**
 * A request waiting for the domain, and how to wake it: the delivery of its message that is deferred until
 * `visibleAt` (the requests queue's; only requests wait for a domain).
 */
export interface LockWaiter {
  idempotencyKey: string;
  receiptHandle: string;
  /** When it first waited: a waiter listed again keeps its place. */
  since: number;
  visibleAt: number;
}

export interface DomainLockRecord extends RecordBase {
  kind: 'domain-lock';
  domainName: string;
  holder?: DomainLockHolder & { packageId: string; since: number };
  /** Oldest first; `unlock` wakes the first (docs/DESIGN.md, "The next waiter is woken at `unlock`"). */
  waiters?: LockWaiter[];
  /**
   * Set when the last holder's decision came from seeing its operation end (or fail before any ran): nothing of
   * the service's runs on the domain, so the next `lock` need not read the listing.
   */
  idle?: boolean;
}

/** Decisions made without seeing the operation end: AWS may still be running it. */
const DECIDED_WHILE_RUNNING: ReadonlySet<string> = new Set([
  'TimedOut',
  'DomainNotAllowed',
  'AssociationLost',
]);

/** Whether a decided request leaves its domain idle (see `DomainLockRecord.idle`). */
export const leavesIdle = (reason: string | undefined): boolean =>
  reason !== undefined && !DECIDED_WHILE_RUNNING.has(reason);

export const domainLockId = (domainName: string) => `domain#${domainName}`;

/**
 * A lock record outlives any holder: TTL must never delete a lock whose holder still runs (a followed
 * request's record is extended past its deadline), so each `lock` pushes its expiry a year out.
 */
const LOCK_LIFETIME_SECONDS = 365 * 86_400;

export function isHeldBy(lock: LedgerRecord | undefined, holder: DomainLockHolder): boolean {
  return (
    lock?.kind === 'domain-lock' &&
    lock.holder?.idempotencyKey === holder.idempotencyKey &&
    lock.holder.incarnation === holder.incarnation
  );
}

/** When a holder that is neither decided nor expired has still been abandoned. */
export interface AbandonedAfter {
  /** Epoch ms past which an `ACCEPTED` holder's budget and its longest backoff are spent. */
  acceptedBefore: number;
  /** How far past its deadline a `TRACKING` holder has been left by its tracker. */
  trackingSlackMs: number;
}

/**
 * Whether the request a lock names still runs: the lock is not timed, it is as live as its holder. A holder
 * gone, decided, expired, replaced by a new incarnation of its key, or abandoned (its budget or deadline long
 * past) has finished with the domain; the listing, read before the lock is taken, tells whether its operation
 * still runs.
 */
export function isLiveHolder(
  holderRecord: LedgerRecord | undefined,
  holder: DomainLockHolder,
  now: Date,
  abandoned: AbandonedAfter,
): boolean {
  if (holderRecord?.kind !== 'request' || holderRecord.incarnation !== holder.incarnation) return false;
  if (TERMINAL_STATES.has(holderRecord.state) || holderRecord.expiresAt * 1000 <= now.getTime()) return false;
  return !isAbandoned(holderRecord, now, abandoned);
}

function isAbandoned(holder: RequestRecord, now: Date, abandoned: AbandonedAfter): boolean {
  if (holder.state === 'TRACKING') return now.getTime() > (holder.deadline ?? 0) + abandoned.trackingSlackMs;
  return holder.acceptedAt < abandoned.acceptedBefore;
}

/** A receipt handle is up to about 1 KB: ten stay far under DynamoDB's 400 KB item. */
export const MAX_LOCK_WAITERS = 10;

/**
 * A waiter whose message is back by now (or nearly) is no longer woken through this handle: it is being
 * handled already, or is gone, and an old handle may still act on a newer delivery (AWS: "might succeed").
 */
const BACK_SOON_MS = 2_000;

/** The waiters still deferred, oldest first, without `except`. */
function liveWaiters(lock: LedgerRecord | undefined, now: number, except?: string): LockWaiter[] {
  if (lock?.kind !== 'domain-lock') return [];
  return (lock.waiters ?? [])
    .filter((waiter) => waiter.visibleAt > now + BACK_SOON_MS && waiter.idempotencyKey !== except)
    .sort((a, b) => a.since - b.since);
}

const withWaiters = (waiters: LockWaiter[]) => (waiters.length > 0 ? { waiters } : {});

/**
 * `wait`: the lock with this waiter listed (once, with its newest handle and its first `since`), or undefined
 * when ten others wait already.
 */
export function withWaiter(
  lock: DomainLockRecord,
  waiter: LockWaiter,
  now: Date,
): DomainLockRecord | undefined {
  const others = liveWaiters(lock, now.getTime(), waiter.idempotencyKey);
  if (others.length >= MAX_LOCK_WAITERS) return undefined;
  const earlier = lock.waiters?.find((listed) => listed.idempotencyKey === waiter.idempotencyKey);
  const listed = { ...waiter, since: Math.min(waiter.since, earlier?.since ?? waiter.since) };
  const { waiters: _waiters, ...rest } = lock;
  return { ...rest, ...withWaiters([...others, listed].sort((a, b) => a.since - b.since)) };
}

/** The lock given to a request, conditional on the version of the record it replaces. */
export function lockedBy(
  current: LedgerRecord | undefined,
  domainName: string,
  holder: DomainLockHolder & { packageId: string },
  now: Date,
): DomainLockRecord {
  return {
    id: domainLockId(domainName),
    kind: 'domain-lock',
    domainName,
    idle: false,
    holder: { ...holder, since: now.getTime() },
    ...withWaiters(liveWaiters(current, now.getTime(), holder.idempotencyKey)),
    outbox: {},
    version: current?.version ?? 0,
    lastWrite: current?.lastWrite ?? '',
    expiresAt: Math.ceil(now.getTime() / 1000) + LOCK_LIFETIME_SECONDS,
  };
}

/**
 * The lock dropped, and its oldest waiter still deferred taken off the list to be woken; the record stays so
 * the next `lock` is a conditional overwrite.
 */
export function unlocked(
  lock: DomainLockRecord,
  idle: boolean,
  now: Date,
): { record: DomainLockRecord; woken: LockWaiter | undefined } {
  const { holder: _holder, waiters: _waiters, ...rest } = lock;
  const [woken, ...others] = liveWaiters(lock, now.getTime());
  return { record: { ...rest, idle, ...withWaiters(others) }, woken };
}
