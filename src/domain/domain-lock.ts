/**
 * The domain lock (docs/DESIGN.md, "One operation per domain at a time"): one record per domain naming the
 * request that may run a package operation on it, from `lock` until that request's decision.
 */
import { type LedgerRecord, type RecordBase, type RequestRecord, TERMINAL_STATES } from './ledger.ts';

export interface DomainLockHolder {
  idempotencyKey: string;
  incarnation: string;
}

export interface DomainLockRecord extends RecordBase {
  kind: 'domain-lock';
  domainName: string;
  holder?: DomainLockHolder & { packageId: string; since: number };
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
    outbox: {},
    version: current?.version ?? 0,
    lastWrite: current?.lastWrite ?? '',
    expiresAt: Math.ceil(now.getTime() / 1000) + LOCK_LIFETIME_SECONDS,
  };
}

/** The lock dropped; the record stays so the next `lock` is a conditional overwrite. */
export function unlocked(lock: DomainLockRecord, idle: boolean): DomainLockRecord {
  const { holder: _holder, ...rest } = lock;
  return { ...rest, idle };
}
