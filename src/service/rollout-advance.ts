import type { OutboxRolloutOutcome } from '../domain/ledger.ts';
import { advance, hasUnsentProgress, type RolloutRecord, rolloutRecordId } from '../domain/rollout.ts';
import { flushOutbox, type OutboxTargets } from './outbox.ts';
import { type Runtime, TransientFailure, transitionContext } from './runtime.ts';

/**
 * `advance-rollout`: applies a child's outcome to its rollout, conditionally on the version read, after
 * sending whatever the rollout still owed (so that a wave's announcement or children are never overwritten).
 */
export function rolloutAdvancer(deps: Runtime, targets: () => OutboxTargets) {
  return async function advanceRollout(entry: OutboxRolloutOutcome): Promise<void> {
    const id = rolloutRecordId(entry.rolloutId);
    for (let round = 0; round < 5; round += 1) {
      let current = await deps.ledger.get(id);
      if (current?.kind !== 'rollout') {
        deps.logger.warn('a child named a rollout the ledger does not have', { rolloutId: entry.rolloutId });
        return;
      }
      if (hasUnsentProgress(current)) current = await flushOutbox(targets(), current as RolloutRecord);
      const next = advance(transitionContext(deps), current, entry.domainName, entry.outcome);
      if (next === undefined) return;
      const result = await deps.ledger.write(next, current, targets().writeId());
      if (result.written) {
        await flushOutbox(targets(), result.record);
        return;
      }
    }
    throw new TransientFailure('LedgerRace', `${id} kept changing while a child's outcome was applied`);
  };
}
