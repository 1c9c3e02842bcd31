import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InvocationBatcher } from '../adapters/invocation-batcher.ts';
import { BatchedQueueSender } from '../adapters/queue-sender.ts';
import type { RejectionHint } from '../domain/events.ts';
import { parseMessage } from '../domain/request.ts';
import type { OutboxTargets } from './outbox.ts';
import { type Delivery, reject } from './rejection.ts';
import { handleRequest } from './request-lifecycle.ts';
import { handleRollout } from './rollout-accept.ts';
import { rolloutAdvancer } from './rollout-advance.ts';
import {
  attemptOf,
  describeError,
  invocationPublisher,
  KeyedSerializer,
  RetryScheduled,
  type Runtime,
  retryLater,
  TransientFailure,
  writeIdsFrom,
} from './runtime.ts';

/**
 * A record is not started with less than this left of its invocation: one step's calls (a ledger read and
 * write, an AWS call, a publication) must fit, or it would be cut off mid-way and hold its lease for nothing.
 */
const MIN_REMAINING_MS = 5_000;

/** Builds the associate-package batch handler: one call per invocation, records handled as docs/DESIGN.md says. */
export function createAssociateHandler(deps: Runtime) {
  const { config } = deps;
  return async function associatePackageHandler(
    event: SQSEvent,
    context: Context,
  ): Promise<SQSBatchResponse> {
    const batcher = new InvocationBatcher();
    // In the order a record uses them (see InvocationBatcher): an event before the tracking message.
    const publisher = invocationPublisher(deps, context, batcher);
    const tracking = new BatchedQueueSender(deps.queues, config.trackingQueueUrl, batcher);
    const requests = new BatchedQueueSender(deps.queues, config.requestsQueueUrl, batcher);
    const serializer = new KeyedSerializer();
    return processPartialResponse(
      event,
      (record: SQSRecord) => {
        const owner = deps.newId();
        const writeId = writeIdsFrom(owner);
        const outbox: OutboxTargets = {
          ledger: deps.ledger,
          publisher,
          tracking,
          requests,
          deadLetters: { queues: deps.queues, url: config.dlqUrl },
          messageBody: record.body,
          hook: deps.stepHook,
          writeId,
        };
        outbox.advanceRollout = rolloutAdvancer(deps, () => outbox);
        const delivery: Delivery = {
          deps,
          record,
          context,
          owner,
          writeId,
          receiveCount: attemptOf(record),
          originalMessageId: record.messageAttributes?.SourceMessageId?.stringValue ?? record.messageId,
          outbox,
        };
        return handleMessage(delivery, batcher, serializer);
      },
      new BatchProcessor(EventType.SQS),
      { context, processInParallel: true, throwOnFullBatchFailure: false },
    );
  };
}

async function handleMessage(delivery: Delivery, batcher: InvocationBatcher, serializer: KeyedSerializer) {
  const { record, deps } = delivery;
  const parsed = parseMessage(record.body, delivery.originalMessageId);
  const hint: RejectionHint = parsed.ok && parsed.kind === 'request' ? parsed.request : parsed.hint;
  try {
    if (!parsed.ok) {
      await batcher.track(() => reject(delivery, hint, 'InvalidRequest', parsed.message));
      return;
    }
    if (parsed.kind === 'rollout') {
      await batcher.track(() => handleRollout(delivery, parsed.rollout, hint));
      return;
    }
    // Records for one domain run in order: the API refuses a second package operation while one runs.
    await serializer.run(parsed.request.domainName, () =>
      batcher.track(async () => {
        notStartedTooLate(delivery);
        await handleRequest(delivery, parsed.request);
      }),
    );
  } catch (error) {
    if (error instanceof RetryScheduled) throw error;
    // The ledger, the queue or the bus failed: try again later; the ledger says where this message got to.
    const { code, message } = describeError(error);
    await retryLater(deps, record, hint, code, message);
  }
}

/** Sends the record back at once when its invocation is nearly over (never on its last allowed delivery). */
function notStartedTooLate({ deps, context, receiveCount }: Delivery): void {
  if (context.getRemainingTimeInMillis() >= MIN_REMAINING_MS || receiveCount >= deps.config.maxAttempts)
    return;
  throw new TransientFailure('NotStarted', 'too little of the invocation was left to start this record');
}
