import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { BatchedEventPublisher } from '../adapters/event-publisher.ts';
import { classifyError } from '../domain/classify.ts';
import { deadLetter } from '../domain/dlq.ts';
import { type FailureReason, type PackageDetails, succeededEvent } from '../domain/events.ts';
import { decideTracking, type TrackingMessage, trackingMessageSchema } from '../domain/tracking.ts';
import {
  announceFailure,
  attemptOf,
  audit,
  countMetric,
  describeError,
  domainArnsFor,
  type Runtime,
  retryLater,
  TransientFailure,
} from './runtime.ts';

export interface TrackDependencies extends Runtime {
  eventBridge: EventBridgeClient;
  persistenceStore: BasePersistenceLayer;
}

/** How a followed association ended: announced once, and dead-lettered when a human should look at it. */
type Terminal = { kind: 'succeeded' } | { kind: 'failed'; reason: FailureReason; deadLetter: boolean };

/**
 * Builds the track-association batch handler: each record is one look at one association, ending in a
 * terminal event or in the next, later look.
 */
export function createTrackHandler(deps: TrackDependencies) {
  const { config } = deps;
  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: 'idempotencyKey',
    expiresAfterSeconds: config.idempotencyTtlSeconds,
    throwOnNoIdempotencyKey: true,
  });

  /**
   * The terminal event, once per request: duplicate tracking messages (SQS delivers at least once) may reach a
   * terminal status more than once, but only the first announces it.
   */
  const announceTerminal = makeIdempotent(
    async (
      message: TrackingMessage,
      terminal: Terminal,
      details: PackageDetails,
      publisher: BatchedEventPublisher,
      record: SQSRecord,
    ): Promise<{ outcome: string }> => {
      if (terminal.kind === 'succeeded') {
        await publisher.publish(succeededEvent(message, details, attemptOf(record), deps.now()));
        audit(deps, 'succeeded', message, record, { status: details.status });
        countMetric(deps, 'AssociationSucceeded');
        return { outcome: 'succeeded' };
      }
      const dlqUrl = terminal.deadLetter ? config.trackingDlqUrl : undefined;
      await announceFailure(deps, publisher, dlqUrl, record, message, terminal.reason, details);
      return { outcome: terminal.reason.code };
    },
    {
      persistenceStore: deps.persistenceStore,
      config: idempotencyConfig,
      dataIndexArgument: 0,
      keyPrefix: 'track-association',
    },
  );

  async function handleMessage(
    publisher: BatchedEventPublisher,
    record: SQSRecord,
    message: TrackingMessage,
  ) {
    const attempt = attemptOf(record);
    let details: PackageDetails | undefined;
    try {
      details = await deps.associations.find(message.domainName, message.packageId);
    } catch (error) {
      const decision = classifyError(error);
      if (decision.kind === 'permanent') {
        const reason = { code: decision.code, message: decision.message, retryable: false };
        await announceTerminal(message, { kind: 'failed', reason, deadLetter: true }, {}, publisher, record);
        return;
      }
      const { code, message: text } = decision.kind === 'transient' ? decision : describeError(error);
      if (attempt < config.maxAttempts) await retryLater(deps, record, message, code, text);
      const reason = {
        code: 'RetriesExhausted',
        message: `${code} on attempt ${attempt} of ${config.maxAttempts}: ${text}`,
        retryable: true,
      };
      await announceTerminal(message, { kind: 'failed', reason, deadLetter: true }, {}, publisher, record);
      return;
    }
    const decision = decideTracking(message, details, deps.now(), config.tracking, deps.random());
    if (decision.kind === 'check-again') {
      const next: TrackingMessage = { ...message, check: message.check + 1 };
      await deps.queues.send(config.trackingQueueUrl, JSON.stringify(next), decision.delaySeconds);
      audit(deps, 'tracking', message, record, {
        status: details?.status,
        message: `check ${next.check} in ${decision.delaySeconds} s`,
      });
      return;
    }
    const terminal: Terminal =
      decision.kind === 'succeeded'
        ? decision
        : {
            kind: 'failed',
            reason: {
              code: decision.code,
              message: decision.message,
              retryable: decision.code === 'TimedOut',
            },
            deadLetter: false,
          };
    await announceTerminal(message, terminal, details ?? {}, publisher, record);
  }

  async function handleRecord(publisher: BatchedEventPublisher, record: SQSRecord): Promise<void> {
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
      await publisher.track(() => handleMessage(publisher, record, parsed.data));
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
    idempotencyConfig.registerLambdaContext(context);
    const publisher = new BatchedEventPublisher({
      client: deps.eventBridge,
      busName: config.eventBusName,
      source: config.eventSource,
      resourcesFor: domainArnsFor(context),
    });
    return processPartialResponse(
      event,
      (record: SQSRecord) => handleRecord(publisher, record),
      new BatchProcessor(EventType.SQS),
      { context, processInParallel: true, throwOnFullBatchFailure: false },
    );
  };
}
