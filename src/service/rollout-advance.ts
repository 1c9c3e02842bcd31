import type { OutboxRolloutOutcome } from '../domain/ledger.ts';
import { advance, hasUnsentProgress, type RolloutRecord, rolloutRecordId } from '../domain/rollout.ts';
import { flushOutbox, type OutboxTargets } from './outbox.ts';
import { KeyedSerializer, type Runtime, TransientFailure, transitionContext } from './runtime.ts';

/**
 * Per rollout, the read-advance-write now running in this execution environment, with those queued behind it.
 * A batch's records run in parallel and a wave's children finish together: racing on the one record, all but
 * five would lose every round and wait for their message's next delivery (in the tracker, its next check
 * delay). Nothing is sent under it: the invocation's outboxes wait for every running record, so a record
 * waiting here while the holder waited on them would stall the batch. Across environments the rounds settle it.
 */
const oneAtATime = new KeyedSerializer();

/** What one round came to: a record whose outbox is to be sent, and whether the outcome is applied. */
interface Round {
  send?: RolloutRecord;
  done: boolean;
}

/**
 * `advance-rollout`: applies a child's outcome to its rollout, conditionally on the version read, after
 * sending whatever the rollout still owed (so that a wave's announcement or children are never overwritten).
 */
export function rolloutAdvancer(deps: Runtime, targets: () => OutboxTargets) {
  async function round(entry: OutboxRolloutOutcome): Promise<Round> {
    const current = await deps.ledger.get(rolloutRecordId(entry.rolloutId));
    if (current?.kind !== 'rollout') {
      deps.logger.warn('a child named a rollout the ledger does not have', { rolloutId: entry.rolloutId });
      return { done: true };
    }
    if (hasUnsentProgress(current)) return { send: current, done: false };
    const next = advance(transitionContext(deps), current, entry.domainName, entry.outcome);
    if (next === undefined) return { done: true };
    const result = await deps.ledger.write(next, current, targets().writeId());
    return result.written ? { send: result.record as RolloutRecord, done: true } : { done: false };
  }

  return async function advanceRollout(entry: OutboxRolloutOutcome): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const { send, done } = await oneAtATime.run(entry.rolloutId, () => round(entry));
      if (send !== undefined) await flushOutbox(targets(), send);
      if (done) return;
    }
    const id = rolloutRecordId(entry.rolloutId);
    throw new TransientFailure('LedgerRace', `${id} kept changing while a child's outcome was applied`);
  };
}
