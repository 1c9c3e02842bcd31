/**
 * The domain lock (docs/DESIGN.md, "One operation per domain at a time"): one record per domain naming the
 * request that may run a package operation on it, from `lock` until that request's decision.
 */
import { type LedgerRecord, type RecordBase, type RequestRecord, TERMINAL_STATES } from './ledger.ts';

export interface DomainLockHolder {
  idempotencyKey: string;
  incarnation: string;
}

/** A request the lock names, with the package it operates on. */
export type LockMember = DomainLockHolder & { packageId: string };

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
  holder?: LockMember & { since: number };
  /**
   * The requests that hold the domain with the holder, in one operation for all of them (docs/DESIGN.md,
   * "Several packages in one operation"); each leaves at its own decision, the last one frees the lock.
   */
  companions?: LockMember[];
  /** A member left without seeing its operation end: the lock is not left idle when the last one leaves. */
  unsettled?: boolean;
  /**
   * Taken by a group: a member finding it its own may not call alone (another member's operation may run);
   * it leaves the lock and takes it again as any request does.
   */
  grouped?: boolean;
  /** Oldest first; the `unlock` that frees the domain wakes them all (docs/DESIGN.md, "The waiters are woken at `unlock`"). */
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

/** The requests the lock names, the holder first. */
export function lockMembers(lock: LedgerRecord | undefined): LockMember[] {
  if (lock?.kind !== 'domain-lock' || lock.holder === undefined) return [];
  const { since: _since, ...holder } = lock.holder;
  return [holder, ...(lock.companions ?? [])];
}

/** How a lock names this request. */
export const lockHolderOf = (record: RequestRecord): DomainLockHolder => ({
  idempotencyKey: record.request.idempotencyKey,
  incarnation: record.incarnation,
});

const isSame = (a: DomainLockHolder, b: DomainLockHolder) =>
  a.idempotencyKey === b.idempotencyKey && a.incarnation === b.incarnation;

/** Whether the lock names this request, as its holder or as a companion. */
export function isHeldBy(lock: LedgerRecord | undefined, holder: DomainLockHolder): boolean {
  return lockMembers(lock).some((member) => isSame(member, holder));
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

/**
 * The lock given to a request, or to a group of them (the holder and its companions), conditional on the
 * version of the record it replaces.
 */
export function lockedBy(
  current: LedgerRecord | undefined,
  domainName: string,
  holder: LockMember,
  now: Date,
  companions: readonly LockMember[] = [],
): DomainLockRecord {
  const members = new Set([holder, ...companions].map((member) => member.idempotencyKey));
  const waiters = liveWaiters(current, now.getTime()).filter((waiter) => !members.has(waiter.idempotencyKey));
  return {
    id: domainLockId(domainName),
    kind: 'domain-lock',
    domainName,
    idle: false,
    holder: { ...holder, since: now.getTime() },
    ...(companions.length > 0 && { companions: [...companions], grouped: true }),
    ...withWaiters(waiters),
    outbox: {},
    version: current?.version ?? 0,
    lastWrite: current?.lastWrite ?? '',
    expiresAt: Math.ceil(now.getTime() / 1000) + LOCK_LIFETIME_SECONDS,
  };
}

/** A member taken off the lock; `idle`: whether its decision came from seeing its operation end. */
export interface LeavingMember {
  member: DomainLockHolder;
  idle: boolean;
}

/**
 * Members taken off the lock (at a decision, or a member of a group going alone). While others remain they
 * hold it (the first becomes the holder) and the waiters wait on; when none remains the lock is dropped and
 * every waiter still deferred is taken off the list to be woken, so that they can meet in one invocation. The
 * record stays so the next `lock` is a conditional overwrite.
 */
export function unlocked(
  lock: DomainLockRecord,
  leaving: readonly LeavingMember[],
  now: Date,
): { record: DomainLockRecord; woken: LockWaiter[] } {
  const { holder: _holder, companions: _companions, waiters: _waiters, unsettled, grouped, ...rest } = lock;
  const settled = unsettled === true || leaving.some((entry) => !entry.idle);
  const [next, ...others] = lockMembers(lock).filter(
    (listed) => !leaving.some((entry) => isSame(entry.member, listed)),
  );
  if (next !== undefined) {
    const holder = { ...next, since: lock.holder?.since ?? now.getTime() };
    const record = {
      ...rest,
      holder,
      ...(others.length > 0 && { companions: others }),
      ...(grouped === true && { grouped }),
      ...(settled && { unsettled: true }),
      ...withWaiters(liveWaiters(lock, now.getTime())),
    };
    return { record, woken: [] };
  }
  return { record: { ...rest, idle: !settled }, woken: liveWaiters(lock, now.getTime()) };
}
