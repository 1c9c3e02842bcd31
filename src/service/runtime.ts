import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, SQSRecord } from 'aws-lambda';
import { BatchedEventPublisher } from '../adapters/event-publisher.ts';
import type { InvocationBatcher } from '../adapters/invocation-batcher.ts';
import type { PackageAssociations } from '../adapters/opensearch.ts';
import type { Queues } from '../adapters/queues.ts';
import { queueUrlFromArn } from '../adapters/queues.ts';
import type { Config } from '../config.ts';
import { backoffSeconds } from '../domain/backoff.ts';
import { deadLetter } from '../domain/dlq.ts';
import {
  type FailureReason,
  failedEvent,
  type PackageDetails,
  type RequestIdentity,
} from '../domain/events.ts';

/** Everything the services touch outside themselves, so tests and benchmarks can swap any of it. */
export interface Runtime {
  config: Config;
  associations: PackageAssociations;
  queues: Queues;
  logger: Logger;
  metrics: Metrics;
  now(): Date;
  random(): number;
}

export type Decision = 'started' | 'succeeded' | 'failed' | 'retry' | 'duplicate' | 'tracking';

/** One structured line per decision: what an auditor queries in CloudWatch Logs Insights. */
export function audit(
  runtime: Runtime,
  decision: Decision,
  identity: RequestIdentity,
  record: SQSRecord,
  fields: { reason?: string; message?: string; status?: string } = {},
): void {
  runtime.logger.info('package association decision', {
    decision,
    reason: fields.reason,
    explanation: fields.message,
    status: fields.status,
    idempotencyKey: identity.idempotencyKey,
    correlationId: identity.correlationId,
    domainName: identity.domainName,
    packageId: identity.packageId,
    requestedBy: identity.requestedBy,
    attempt: attemptOf(record),
    messageId: record.messageId,
  });
}

export function countMetric(runtime: Runtime, name: string, reason?: string): void {
  if (reason === undefined) {
    runtime.metrics.addMetric(name, MetricUnit.Count, 1);
    return;
  }
  // A per-reason dimension must not leak onto the invocation's other metrics: EMF needs its own document.
  const metric = runtime.metrics.singleMetric();
  metric.addDimension('reason', reason);
  metric.addMetric(name, MetricUnit.Count, 1);
}

export function attemptOf(record: SQSRecord): number {
  const count = Number.parseInt(record.attributes.ApproximateReceiveCount, 10);
  return Number.isFinite(count) && count > 0 ? count : 1;
}

/** Domain ARNs for an event's Resources, built from the invoked function's own ARN (partition, region, account). */
function domainArnsFor(context: Context): (domainName: string | null) => string[] {
  const [, partition, , region, account] = context.invokedFunctionArn.split(':');
  if (!partition || !region || !account) return () => [];
  return (domainName) =>
    domainName === null ? [] : [`arn:${partition}:es:${region}:${account}:domain/${domainName}`];
}

/** The publisher of one invocation's events, to the configured bus and source. */
export function invocationPublisher(
  runtime: Runtime & { eventBridge: EventBridgeClient },
  context: Context,
  batcher: InvocationBatcher,
): BatchedEventPublisher {
  return new BatchedEventPublisher(
    {
      client: runtime.eventBridge,
      busName: runtime.config.eventBusName,
      source: runtime.config.eventSource,
      resourcesFor: domainArnsFor(context),
    },
    batcher,
  );
}

/** Runs work for the same key one after another, different keys concurrently. */
export class KeyedSerializer {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}

/** A failure worth another attempt: the record goes back to its queue after a backoff. */
export class TransientFailure extends Error {
  override name = 'TransientFailure';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Ends a request as failed: its original body to the dead-letter queue (when one is given) with the reason,
 * then the Failed event. Dead letter first: if the event then fails, a retry may repeat the DLQ copy but
 * never the terminal event.
 */
export async function announceFailure(
  runtime: Runtime,
  publisher: BatchedEventPublisher,
  dlqUrl: string | undefined,
  record: SQSRecord,
  identity: RequestIdentity,
  reason: FailureReason,
  details: PackageDetails = {},
): Promise<void> {
  const attempt = attemptOf(record);
  const now = runtime.now();
  if (dlqUrl !== undefined) {
    await runtime.queues.sendDeadLetter(
      dlqUrl,
      deadLetter({
        body: record.body,
        reasonCode: reason.code,
        errorMessage: reason.message,
        attempt,
        sourceMessageId: record.messageId,
        failedAt: now,
      }),
    );
  }
  await publisher.publish(failedEvent(identity, reason, attempt, now, details));
  audit(runtime, 'failed', identity, record, {
    reason: reason.code,
    message: reason.message,
    status: details.status,
  });
  countMetric(runtime, 'AssociationFailed', reason.code);
}

/** Hides the record for an exponential backoff, then fails it so the batch response lists it. */
export async function retryLater(
  runtime: Runtime,
  record: SQSRecord,
  identity: RequestIdentity,
  code: string,
  message: string,
): Promise<never> {
  const delay = backoffSeconds(attemptOf(record), runtime.config.backoff, runtime.random());
  audit(runtime, 'retry', identity, record, { reason: code, message });
  countMetric(runtime, 'RequestRetried');
  try {
    await runtime.queues.defer(queueUrlFromArn(record.eventSourceARN), record.receiptHandle, delay);
  } catch (error) {
    // The record still comes back, after the queue's own visibility timeout instead of the backoff.
    runtime.logger.warn('could not set the retry backoff', { messageId: record.messageId, error });
  }
  throw new TransientFailure(code, message);
}

/** The code and text of whatever a step threw, for the audit line and the DLQ attributes. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof TransientFailure) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: error.name, message: error.message };
  return { code: 'Error', message: String(error) };
}
