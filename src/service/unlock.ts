import { domainLockId, isHeldBy, type LockWaiter, leavesIdle, unlocked } from '../domain/domain-lock.ts';
import type { RequestRecord } from '../domain/ledger.ts';
import { runStep } from './ledger-steps.ts';
import type { Runtime } from './runtime.ts';

/** Waiters write the lock record too (`wait`): an unlock that lost to one is made again on what it wrote. */
const UNLOCK_ROUNDS = 3;

/**
 * `unlock`, after a decision, then `wake` for the oldest waiter: best effort. A lock left behind names a
 * decided request, which the next `lock` takes over; a waiter not woken comes back after its backoff.
 */
export async function unlockDomain(deps: Runtime, decided: RequestRecord, writeId: string): Promise<void> {
  const { domainName, idempotencyKey } = decided.request;
  try {
    const woken = await dropLock(deps, decided, writeId);
    if (woken !== undefined) await wake(deps, domainName, woken);
  } catch (error) {
    deps.logger.warn('could not release the domain lock', { domainName, idempotencyKey, error });
  }
}

async function dropLock(deps: Runtime, decided: RequestRecord, writeId: string) {
  const { domainName, idempotencyKey } = decided.request;
  for (let round = 0; round < UNLOCK_ROUNDS; round += 1) {
    const current = await deps.ledger.get(domainLockId(domainName));
    if (current?.kind !== 'domain-lock') return undefined;
    if (!isHeldBy(current, { idempotencyKey, incarnation: decided.incarnation })) return undefined;
    const { record, woken } = unlocked(current, leavesIdle(decided.reason), deps.now());
    const result = await runStep(deps.stepHook, 'unlock', () => deps.ledger.write(record, current, writeId));
    if (result.written) return woken;
  }
  throw new Error(`the lock of ${domainName} kept changing`);
}

/** Its message made visible now rather than after its backoff; a stale handle means it is back already. */
async function wake(deps: Runtime, domainName: string, waiter: LockWaiter): Promise<void> {
  try {
    const { requestsQueueUrl } = deps.config;
    await runStep(deps.stepHook, 'wake', () => deps.queues.defer(requestsQueueUrl, waiter.receiptHandle, 0));
  } catch (error) {
    deps.logger.info('the next waiter for the domain was not woken', {
      domainName,
      idempotencyKey: waiter.idempotencyKey,
      error,
    });
  }
}
