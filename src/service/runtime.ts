import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, SQSRecord } from 'aws-lambda';
import { BatchedEventPublisher } from '../adapters/event-publisher.ts';
import type { InvocationBatcher } from '../adapters/invocation-batcher.ts';
import type { Ledger } from '../adapters/ledger.ts';
import type { PackageAssociations } from '../adapters/opensearch.ts';
import type { Queues } from '../adapters/queues.ts';
import { queueUrlFromArn } from '../adapters/queues.ts';
import type { Config } from '../config.ts';
import { backoffSeconds } from '../domain/backoff.ts';
import type { Decision, TransitionContext } from '../domain/transitions.ts';
import type { StepHook } from './ledger-steps.ts';

/** Everything the services touch outside themselves, so tests and benchmarks can swap any of it. */
export interface Runtime {
  config: Config;
  associations: PackageAssociations;
  queues: Queues;
  ledger: Ledger;
  eventBridge: EventBridgeClient;
  logger: Logger;
  metrics: Metrics;
  now(): Date;
  random(): number;
  newId(): string;
  /** Tests only: fails or crashes the handler at a named step of the ledger. */
  stepHook?: StepHook | undefined;
}

export type AuditDecision =
  | 'started'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'retry'
  | 'duplicate'
  | 'tracking'
  | 'ignored';

/** What the ledger's transitions need from the runtime: the time now, fresh ids, the idempotency window. */
export function transitionContext(runtime: Runtime): TransitionContext {
  return { now: runtime.now(), newId: runtime.newId, windowSeconds: runtime.config.idempotencyTtlSeconds };
}

/** Who and what an audit line is about; a rejection may know only some of it. */
export interface AuditIdentity {
  idempotencyKey?: string | undefined;
  correlationId?: string | undefined;
  domainName?: string | null | undefined;
  packageId?: string | null | undefined;
  requestedBy?: string | undefined;
}

/** One structured line per decision: what an auditor queries in CloudWatch Logs Insights. */
export function audit(
  runtime: Runtime,
  decision: AuditDecision,
  identity: AuditIdentity,
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

/** The decision's audit line and its metric (by reason when it failed), once, by whoever wrote it. */
export function auditDecision(
  runtime: Runtime,
  identity: AuditIdentity,
  record: SQSRecord,
  decision: Decision,
) {
  if (decision.outcome === 'succeeded') {
    audit(runtime, 'succeeded', identity, record, { status: decision.details.status ?? 'ACTIVE' });
    countMetric(runtime, 'AssociationSucceeded');
    return;
  }
  audit(runtime, 'failed', identity, record, {
    reason: decision.reason.code,
    message: decision.reason.message,
  });
  countMetric(runtime, 'AssociationFailed', decision.reason.code);
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
  runtime: Runtime,
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

/**
 * Ids for one processing's ledger writes: unique because the token is (a fresh UUID per record processed), so a
 * write recognises itself after a lost answer without a UUID of its own.
 */
export function writeIdsFrom(token: string): () => string {
  let writes = 0;
  return () => {
    writes += 1;
    return `${token}.${writes}`;
  };
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

/** Thrown once the record's next attempt is scheduled: the batch response lists it, nothing else is to do. */
export class RetryScheduled extends TransientFailure {
  override name = 'RetryScheduled';
}

/** Hides the record for an exponential backoff, then fails it so the batch response lists it. */
export async function retryLater(
  runtime: Runtime,
  record: SQSRecord,
  identity: AuditIdentity,
  code: string,
  message: string,
  delay = backoffSeconds(attemptOf(record), runtime.config.backoff, runtime.random()),
  afterDefer?: (delaySeconds: number) => Promise<void>,
): Promise<never> {
  audit(runtime, 'retry', identity, record, { reason: code, message });
  countMetric(runtime, 'RequestRetried');
  let deferred = false;
  try {
    await runtime.queues.defer(queueUrlFromArn(record.eventSourceARN), record.receiptHandle, delay);
    deferred = true;
  } catch (error) {
    // The record still comes back, after the queue's own visibility timeout instead of the backoff.
    runtime.logger.warn('could not set the retry backoff', { messageId: record.messageId, error });
  }
  // Only once the message is hidden: what comes after may make it visible again (a waiter woken).
  if (deferred && afterDefer !== undefined) {
    await afterDefer(delay).catch((error: unknown) => {
      runtime.logger.warn('could not finish setting up the retry', { messageId: record.messageId, error });
    });
  }
  throw new RetryScheduled(code, message);
}

/** The code and text of whatever a step threw, for the audit line and the DLQ attributes. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof TransientFailure) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: error.name, message: error.message };
  return { code: 'Error', message: String(error) };
}
