import type { Context, SQSRecord } from 'aws-lambda';
import type { RejectionCode, RejectionHint } from '../domain/events.ts';
import { isExpired, type LedgerRecord, rejectionRecordId } from '../domain/ledger.ts';
import { rejectMessage } from '../domain/transitions.ts';
import { runStep } from './ledger-steps.ts';
import type { OperationGroups } from './operation-groups.ts';
import { ALL_ENTRIES, flushOutbox, type OutboxTargets } from './outbox.ts';
import { audit, countMetric, type Runtime, transitionContext } from './runtime.ts';

/** One delivery of one message, and what every step of handling it needs. */
export interface Delivery {
  deps: Runtime;
  record: SQSRecord;
  context: Context;
  /** The lease owner: a token for this processing of this record, shared with nothing else. */
  owner: string;
  writeId(): string;
  /** The message's SQS receive count. */
  receiveCount: number;
  /** The message id a redriven dead letter had first: its default key and its rejection's id. */
  originalMessageId: string;
  outbox: OutboxTargets;
  /** The invocation's groups (associate handler): requests of one domain meet there to share one operation. */
  groups?: OperationGroups;
}

/**
 * `reject`: a message refused before it became a request, decided once per message id. A copy that finds the
 * rejection recorded sends only what its outbox still holds.
 */
export async function reject(
  delivery: Delivery,
  hint: RejectionHint,
  code: RejectionCode,
  message: string,
): Promise<void> {
  const { deps, record } = delivery;
  const ctx = transitionContext(deps);
  const id = rejectionRecordId(delivery.originalMessageId);
  const next = rejectMessage(ctx, {
    messageId: delivery.originalMessageId,
    body: record.body,
    attempt: delivery.receiveCount,
    hint,
    code,
    message,
  });
  let result = await runStep(deps.stepHook, 'reject', () =>
    deps.ledger.write(next, undefined, delivery.writeId()),
  );
  if (!result.written && result.current !== undefined && isExpired(result.current, ctx.now)) {
    const expired: LedgerRecord = result.current;
    result = await runStep(deps.stepHook, 'reject', () =>
      deps.ledger.write(next, expired, delivery.writeId()),
    );
  }
  if (!result.written) {
    if (result.current?.kind !== 'rejection' || result.current.id !== id) {
      throw new Error(`no rejection record ${id}`);
    }
    await flushOutbox(delivery.outbox, result.current, ALL_ENTRIES);
    audit(deps, 'duplicate', hint, record, { reason: `already rejected (${result.current.reason})` });
    countMetric(deps, 'DuplicateRequest');
    return;
  }
  audit(deps, 'rejected', hint, record, { reason: code, message });
  countMetric(deps, 'RequestRejected', code);
  await flushOutbox(delivery.outbox, result.record, ALL_ENTRIES);
}
