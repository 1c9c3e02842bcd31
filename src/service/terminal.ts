import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context, SQSRecord } from 'aws-lambda';
import type { BatchedEventPublisher } from '../adapters/event-publisher.ts';
import { IntrospectedOnceFunctions } from '../adapters/jmespath-functions.ts';
import {
  type FailureReason,
  type PackageDetails,
  type RequestIdentity,
  succeededEvent,
} from '../domain/events.ts';
import { announceFailure, attemptOf, audit, countMetric, type Runtime } from './runtime.ts';

/** How a request ended; dead-lettered when a human should look at it. */
export type Terminal =
  | { kind: 'succeeded' }
  | { kind: 'failed'; reason: FailureReason; deadLetterUrl: string | undefined };

type AnnouncedIdentity = RequestIdentity & { domainName: string; packageId: string };

/**
 * Announces a request's terminal event at most once, whichever function gets there: the associate handler
 * (already ACTIVE, a permanent error) and the tracker (ACTIVE, ASSOCIATION_FAILED, timed out) share one
 * idempotency record per request, so a retry of one racing the other cannot announce the outcome twice.
 */
export function createTerminalAnnouncer(runtime: Runtime, persistenceStore: BasePersistenceLayer) {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'idempotencyKey',
    expiresAfterSeconds: runtime.config.idempotencyTtlSeconds,
    throwOnNoIdempotencyKey: true,
    jmesPathOptions: new IntrospectedOnceFunctions(),
    responseHook: (response) => ({ ...(response as object), replayed: true }),
  });

  const announce = makeIdempotent(
    async (
      identity: AnnouncedIdentity,
      terminal: Terminal,
      details: PackageDetails,
      publisher: BatchedEventPublisher,
      record: SQSRecord,
    ): Promise<{ outcome: string; replayed?: boolean }> => {
      if (terminal.kind === 'succeeded') {
        await publisher.publish(succeededEvent(identity, details, attemptOf(record), runtime.now()));
        audit(runtime, 'succeeded', identity, record, { status: details.status });
        countMetric(runtime, 'AssociationSucceeded');
        return { outcome: 'succeeded' };
      }
      await announceFailure(
        runtime,
        publisher,
        terminal.deadLetterUrl,
        record,
        identity,
        terminal.reason,
        details,
      );
      return { outcome: terminal.reason.code };
    },
    { persistenceStore, config, dataIndexArgument: 0, keyPrefix: 'terminal-event' },
  );

  return {
    registerLambdaContext: (context: Context) => config.registerLambdaContext(context),
    async announce(
      identity: AnnouncedIdentity,
      terminal: Terminal,
      details: PackageDetails,
      publisher: BatchedEventPublisher,
      record: SQSRecord,
    ): Promise<void> {
      const result = await announce(identity, terminal, details, publisher, record);
      if (result.replayed === true) {
        audit(runtime, 'duplicate', identity, record, { reason: `already ${result.outcome}` });
        countMetric(runtime, 'DuplicateRequest');
      }
    },
  };
}

export type TerminalAnnouncer = ReturnType<typeof createTerminalAnnouncer>;
