import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { BatchedEventPublisher } from '../adapters/event-publisher.ts';
import { InvocationBatcher } from '../adapters/invocation-batcher.ts';
import { BatchedQueueSender } from '../adapters/queue-sender.ts';
import { classifyError } from '../domain/classify.ts';
import { deadLetter } from '../domain/dlq.ts';
import type { FailureReason, PackageDetails } from '../domain/events.ts';
import { decideTracking, type TrackingMessage, trackingMessageSchema } from '../domain/tracking.ts';
import {
  attemptOf,
  audit,
  describeError,
  invocationPublisher,
  type Runtime,
  retryLater,
  TransientFailure,
} from './runtime.ts';
import { createTerminalAnnouncer, type Terminal } from './terminal.ts';

export interface TrackDependencies extends Runtime {
  eventBridge: EventBridgeClient;
  createPersistenceStore(): BasePersistenceLayer;
}

/** Where one invocation's records send: the events, and the next looks at their associations. */
interface Outboxes {
  publisher: BatchedEventPublisher;
  tracking: BatchedQueueSender;
}

/**
 * Builds the track-association batch handler: each record is one look at one association, ending in a
 * terminal event or in the next, later look.
 */
export function createTrackHandler(deps: TrackDependencies) {
  const { config } = deps;
  const terminal = createTerminalAnnouncer(deps, deps.createPersistenceStore());

  async function handleMessage(
    { publisher, tracking }: Outboxes,
    record: SQSRecord,
    message: TrackingMessage,
  ) {
    const attempt = attemptOf(record);
    let details: PackageDetails | undefined;
    try {
      details = await deps.associations.find(message.domainName, message.packageId);
    } catch (error) {
      const decision = classifyError(error);
      let reason: FailureReason;
      if (decision.kind === 'permanent') {
        reason = { code: decision.code, message: decision.message, retryable: false };
      } else {
        const { code, message: text } = decision.kind === 'transient' ? decision : describeError(error);
        // retryLater throws, so only the last attempt goes on to announce.
        if (attempt < config.maxAttempts) await retryLater(deps, record, message, code, text);
        reason = {
          code: 'RetriesExhausted',
          message: `${code} on attempt ${attempt} of ${config.maxAttempts}: ${text}`,
          retryable: true,
        };
      }
      const outcome = { kind: 'failed', reason, deadLetterUrl: config.trackingDlqUrl } as const;
      await terminal.announce(message, outcome, {}, publisher, record);
      return;
    }
    const decision = decideTracking(message, details, deps.now(), config.tracking, deps.random());
    if (decision.kind === 'check-again') {
      const next: TrackingMessage = { ...message, check: message.check + 1 };
      await tracking.send(JSON.stringify(next), decision.delaySeconds);
      audit(deps, 'tracking', message, record, {
        status: details?.status,
        message: `check ${next.check} in ${decision.delaySeconds} s`,
      });
      return;
    }
    const outcome: Terminal =
      decision.kind === 'succeeded'
        ? decision
        : {
            kind: 'failed',
            reason: {
              code: decision.code,
              message: decision.message,
              retryable: decision.code === 'TimedOut',
            },
            deadLetterUrl: undefined,
          };
    await terminal.announce(message, outcome, details ?? {}, publisher, record);
  }

  async function handleRecord(
    batcher: InvocationBatcher,
    outboxes: Outboxes,
    record: SQSRecord,
  ): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(record.body);
    } catch {
      json = undefined;
    }
    const parsed = trackingMessageSchema.safeParse(json);
    if (!parsed.success) {
      // Only this service writes tracking messages: a malformed one is a bug, kept for a human to read.
      const reason = 'body: is not a tracking message';
      await deps.queues.sendDeadLetter(
        config.trackingDlqUrl,
        deadLetter({
          body: record.body,
          reasonCode: 'InvalidRequest',
          errorMessage: reason,
          attempt: attemptOf(record),
          sourceMessageId: record.messageId,
          failedAt: deps.now(),
        }),
      );
      return;
    }
    try {
      await batcher.track(() => handleMessage(outboxes, record, parsed.data));
    } catch (error) {
      // Publishing or the idempotency store failed: look again later rather than lose the outcome. On the
      // last attempt the queue's redrive keeps the message in the tracking DLQ.
      if (error instanceof TransientFailure || attemptOf(record) >= config.maxAttempts) throw error;
      const { code, message } = describeError(error);
      await retryLater(deps, record, parsed.data, code, message);
    }
  }

  return async function trackAssociationHandler(
    event: SQSEvent,
    context: Context,
  ): Promise<SQSBatchResponse> {
    terminal.registerLambdaContext(context);
    const batcher = new InvocationBatcher();
    const publisher = invocationPublisher(deps, context, batcher);
    // A record either looks again later or announces the end: one of the two outboxes, in either order.
    const outboxes = {
      publisher,
      tracking: new BatchedQueueSender(deps.queues, config.trackingQueueUrl, batcher),
    };
    return processPartialResponse(
      event,
      (record: SQSRecord) => handleRecord(batcher, outboxes, record),
      new BatchProcessor(EventType.SQS),
      { context, processInParallel: true, throwOnFullBatchFailure: false },
    );
  };
}
