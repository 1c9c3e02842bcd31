import { domainLockId, isHeldBy, leavesIdle, unlocked } from '../domain/domain-lock.ts';
import type { RequestRecord } from '../domain/ledger.ts';
import { runStep } from './ledger-steps.ts';
import type { Runtime } from './runtime.ts';

/**
 * `unlock`, after a decision: best effort. A lock left behind names a decided request, which the next `lock`
 * takes over.
 */
export async function unlockDomain(deps: Runtime, decided: RequestRecord, writeId: string): Promise<void> {
  const { domainName, idempotencyKey } = decided.request;
  try {
    const current = await deps.ledger.get(domainLockId(domainName));
    if (current?.kind !== 'domain-lock') return;
    if (!isHeldBy(current, { idempotencyKey, incarnation: decided.incarnation })) return;
    const idle = leavesIdle(decided.reason);
    await runStep(deps.stepHook, 'unlock', () =>
      deps.ledger.write(unlocked(current, idle), current, writeId),
    );
  } catch (error) {
    deps.logger.warn('could not release the domain lock', { domainName, idempotencyKey, error });
  }
}
