import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSRecord } from 'aws-lambda';
import type { PackageAssociations } from '../adapters/opensearch.ts';
import type { Queues } from '../adapters/queues.ts';
import type { Config } from '../config.ts';
import type { RequestIdentity } from '../domain/events.ts';

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
    message: fields.message,
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
export function domainArnsFor(context: Context): (domainName: string | null) => string[] {
  const [, partition, , region, account] = context.invokedFunctionArn.split(':');
  if (!partition || !region || !account) return () => [];
  return (domainName) =>
    domainName === null ? [] : [`arn:${partition}:es:${region}:${account}:domain/${domainName}`];
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
