import {
  type DomainLockHolder,
  domainLockId,
  isHeldBy,
  type LeavingMember,
  type LockWaiter,
  leavesIdle,
  lockHolderOf,
  lockMembers,
  unlocked,
} from '../domain/domain-lock.ts';
import { type LedgerRecord, type RequestRecord, requestRecordId, TERMINAL_STATES } from '../domain/ledger.ts';
import { runStep } from './ledger-steps.ts';
import type { Runtime } from './runtime.ts';

/** Waiters write the lock record too (`wait`): an unlock that lost to one is made again on what it wrote. */
const UNLOCK_ROUNDS = 3;

/**
 * `unlock`, after a decision, then `wake` for the waiters once no member is left: best effort. A lock left
 * behind names a decided request, which the next `lock` takes over; a waiter not woken comes back after its
 * backoff.
 */
export async function unlockDomain(deps: Runtime, decided: RequestRecord, writeId: string): Promise<void> {
  const { domainName, idempotencyKey } = decided.request;
  try {
    const member = lockHolderOf(decided);
    await takeOffLock(deps, domainName, [{ member, idle: leavesIdle(decided.reason) }], 'unlock', writeId);
  } catch (error) {
    deps.logger.warn('could not release the domain lock', { domainName, idempotencyKey, error });
  }
}

/**
 * `leave`: members of a group's lock take themselves off it: one that goes on alone, first, so that it takes
 * the lock again as any request does; a group whose operation AWS refused, at once, so that its members can
 * meet again (docs/DESIGN.md, "Several packages in one operation"). Not best effort: a member still listed
 * must not call.
 */
export async function leaveGroupLock(
  deps: Runtime,
  domainName: string,
  members: readonly DomainLockHolder[],
  writeId: string,
): Promise<void> {
  const leaving = members.map((member) => ({ member, idle: false }));
  await takeOffLock(deps, domainName, leaving, 'leave', writeId);
}

async function takeOffLock(
  deps: Runtime,
  domainName: string,
  leaving: readonly LeavingMember[],
  step: 'unlock' | 'leave',
  writeId: string,
): Promise<void> {
  for (let round = 0; round < UNLOCK_ROUNDS; round += 1) {
    const current = await deps.ledger.get(domainLockId(domainName));
    const listed = leaving.filter((entry) => isHeldBy(current, entry.member));
    if (current?.kind !== 'domain-lock' || listed.length === 0) return;
    const decidedBefore = await decidedMembers(deps, current, listed);
    const { record, woken } = unlocked(current, [...listed, ...decidedBefore], deps.now());
    const result = await runStep(deps.stepHook, step, () => deps.ledger.write(record, current, writeId));
    if (result.written) {
      await Promise.all(woken.map((waiter) => wake(deps, domainName, waiter)));
      return;
    }
  }
  throw new Error(`the lock of ${domainName} kept changing`);
}

/**
 * The other members of a group's lock already decided (their own `unlock` lost, or crashed before it): taken
 * off with this one, so that the lock is freed when no live member is left, not when the list is empty.
 */
async function decidedMembers(
  deps: Runtime,
  lock: LedgerRecord,
  leaving: readonly LeavingMember[],
): Promise<LeavingMember[]> {
  const others = lockMembers(lock).filter(
    (member) => !leaving.some((entry) => entry.member.idempotencyKey === member.idempotencyKey),
  );
  const records = await Promise.all(
    others.map((member) => deps.ledger.get(requestRecordId(member.idempotencyKey))),
  );
  return others.flatMap((member, index) => {
    const record = records[index];
    const sameRequest = record?.kind === 'request' && record.incarnation === member.incarnation;
    if (sameRequest && !TERMINAL_STATES.has(record.state)) return [];
    return [{ member, idle: sameRequest && leavesIdle(record.reason) }];
  });
}

/** Its message made visible now rather than after its backoff; a stale handle means it is back already. */
async function wake(deps: Runtime, domainName: string, waiter: LockWaiter): Promise<void> {
  try {
    const { requestsQueueUrl } = deps.config;
    await runStep(deps.stepHook, 'wake', () => deps.queues.defer(requestsQueueUrl, waiter.receiptHandle, 0));
  } catch (error) {
    deps.logger.info('a waiter for the domain was not woken', {
      domainName,
      idempotencyKey: waiter.idempotencyKey,
      error,
    });
  }
}
