import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InvocationBatcher } from '../adapters/invocation-batcher.ts';
import { BatchedQueueSender } from '../adapters/queue-sender.ts';
import type { RejectionHint } from '../domain/events.ts';
import { parseMessage } from '../domain/request.ts';

type ParsedMessage = ReturnType<typeof parseMessage>;

import { runGroup } from './group-operation.ts';
import { OperationGroups } from './operation-groups.ts';
import type { OutboxTargets } from './outbox.ts';
import { type Delivery, reject } from './rejection.ts';
import { handleRequest } from './request-lifecycle.ts';
import { handleRollout } from './rollout-accept.ts';
import { rolloutAdvancer } from './rollout-advance.ts';
import {
  attemptOf,
  describeError,
  invocationPublisher,
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
    // Parsed first, so that each domain's group knows how many records it may wait for.
    const messages = new Map(
      event.Records.map((record) => [record, parseMessage(record.body, originalIdOf(record))]),
    );
    const groups = new OperationGroups(requestsPerDomain(messages), runGroup, config.maxPackagesPerOperation);
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
          originalMessageId: originalIdOf(record),
          outbox,
          groups,
        };
        const parsed = messages.get(record) ?? parseMessage(record.body, delivery.originalMessageId);
        return handleMessage(delivery, parsed, batcher, groups);
      },
      new BatchProcessor(EventType.SQS),
      { context, processInParallel: true, throwOnFullBatchFailure: false },
    );
  };
}

/** The message id a redriven dead letter had first: its default key and its rejection's id. */
const originalIdOf = (record: SQSRecord) =>
  record.messageAttributes?.SourceMessageId?.stringValue ?? record.messageId;

/** How many records of the batch name each domain in a request: how many its group may wait for. */
function requestsPerDomain(messages: Map<SQSRecord, ParsedMessage>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const parsed of messages.values()) {
    if (!parsed.ok || parsed.kind !== 'request') continue;
    const { domainName } = parsed.request;
    counts.set(domainName, (counts.get(domainName) ?? 0) + 1);
  }
  return counts;
}

async function handleMessage(
  delivery: Delivery,
  parsed: ParsedMessage,
  batcher: InvocationBatcher,
  groups: OperationGroups,
) {
  const { record, deps } = delivery;
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
    // Records for one domain run side by side: those ready together share one operation (`group`); the lock
    // keeps any others to one operation per domain.
    const { domainName } = parsed.request;
    await batcher.track(async () => {
      try {
        notStartedTooLate(delivery);
        await handleRequest(delivery, parsed.request);
      } finally {
        groups.leave(domainName, delivery.owner);
      }
    });
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
