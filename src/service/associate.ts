import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { BatchedEventPublisher } from '../adapters/event-publisher.ts';
import { InvocationBatcher } from '../adapters/invocation-batcher.ts';
import { IntrospectedOnceFunctions } from '../adapters/jmespath-functions.ts';
import { BatchedQueueSender } from '../adapters/queue-sender.ts';
import { classifyError } from '../domain/classify.ts';
import { deadLetter } from '../domain/dlq.ts';
import {
  type FailureReason,
  type PackageDetails,
  type RequestIdentity,
  startedEvent,
} from '../domain/events.ts';
import { type AssociationRequest, parseRequest } from '../domain/request.ts';
import { associationFailedMessage, type TrackingMessage, trackingDelaySeconds } from '../domain/tracking.ts';
import {
  announceFailure,
  attemptOf,
  audit,
  countMetric,
  describeError,
  invocationPublisher,
  KeyedSerializer,
  type Runtime,
  retryLater,
  TransientFailure,
} from './runtime.ts';
import { createTerminalAnnouncer } from './terminal.ts';

/** What AssociatePackage (and, when it said "already in desired state", the domain's listing) came to. */
type CallOutcome =
  | { kind: 'started' | 'succeeded' | 'association-failed'; details: PackageDetails }
  | { kind: 'failed'; reason: FailureReason };

/**
 * What the idempotency store keeps per request; `replayed` is set when it comes from the store. `unannounced`
 * keeps AssociatePackage's answer when announcing it failed, so the retry announces it instead of calling AWS
 * again.
 */
type StoredOutcome = (
  | { outcome: 'started' | 'succeeded' | 'failed'; reason?: string }
  | { outcome: 'unannounced'; call: CallOutcome; reason: string; message: string }
) & { replayed?: boolean };

type AnnouncedOutcome = Extract<StoredOutcome, { outcome: 'started' | 'succeeded' | 'failed' }>;

/** What the records of one invocation share: their events and tracking messages go out together. */
interface Invocation {
  batcher: InvocationBatcher;
  publisher: BatchedEventPublisher;
  tracking: BatchedQueueSender;
}

export interface AssociateDependencies extends Runtime {
  eventBridge: EventBridgeClient;
  /**
   * A fresh store for each idempotent step: a Powertools persistence layer keeps the key prefix of the last
   * function that used it, so steps sharing one would write each other's records.
   */
  createPersistenceStore(): BasePersistenceLayer;
}

/** Builds the associate-package batch handler: one call per invocation, records handled as DESIGN.md says. */
export function createAssociateHandler(deps: AssociateDependencies) {
  const { config } = deps;
  const idempotencyOptions = {
    eventKeyJmesPath: 'idempotencyKey',
    // The same key for another domain or package is a conflict, not a duplicate.
    payloadValidationJmesPath: '[domainName, packageId]',
    expiresAfterSeconds: config.idempotencyTtlSeconds,
    throwOnNoIdempotencyKey: true,
    jmesPathOptions: new IntrospectedOnceFunctions(),
  };
  const idempotencyConfig = new IdempotencyConfig({
    ...idempotencyOptions,
    responseHook: (response) => ({ ...(response as object), replayed: true }),
  });
  const requestStore = deps.createPersistenceStore();
  const terminal = createTerminalAnnouncer(deps, deps.createPersistenceStore());

  async function startTracking(
    tracking: BatchedQueueSender,
    request: AssociationRequest,
    startedAt: Date,
  ): Promise<void> {
    const message: TrackingMessage = {
      idempotencyKey: request.idempotencyKey,
      correlationId: request.correlationId,
      domainName: request.domainName,
      packageId: request.packageId,
      ...(request.requestedBy !== undefined && { requestedBy: request.requestedBy }),
      startedAt: startedAt.toISOString(),
      deadline: new Date(startedAt.getTime() + config.tracking.deadlineSeconds * 1000).toISOString(),
      check: 1,
    };
    const delay = trackingDelaySeconds(1, config.tracking, deps.random());
    await tracking.send(JSON.stringify(message), delay);
  }

  /** The AWS call and what it came to; a transient error on an attempt that is not the last throws. */
  async function callAssociatePackage(request: AssociationRequest, record: SQSRecord): Promise<CallOutcome> {
    const attempt = attemptOf(record);
    let details: PackageDetails;
    try {
      details = await deps.associations.associate(request);
    } catch (error) {
      const decision = classifyError(error);
      if (decision.kind === 'permanent') {
        return {
          kind: 'failed',
          reason: { code: decision.code, message: decision.message, retryable: false },
        };
      }
      if (decision.kind === 'already-in-desired-state') {
        details = await readStatus(request);
      } else if (attempt >= config.maxAttempts) {
        const message = `${decision.code} on attempt ${attempt} of ${config.maxAttempts}: ${decision.message}`;
        return { kind: 'failed', reason: { code: 'RetriesExhausted', message, retryable: true } };
      } else {
        throw new TransientFailure(decision.code, decision.message);
      }
    }
    if (details.status === 'ACTIVE') return { kind: 'succeeded', details };
    if (details.status === 'ASSOCIATION_FAILED') return { kind: 'association-failed', details };
    return { kind: 'started', details: { ...details, status: 'ASSOCIATING' } };
  }

  /** Announces what the AWS call came to (a terminal outcome through the record shared with the tracker). */
  async function announceCall(
    call: CallOutcome,
    request: AssociationRequest,
    invocation: Invocation,
    record: SQSRecord,
  ): Promise<AnnouncedOutcome> {
    switch (call.kind) {
      case 'failed':
        await terminal.announce(
          request,
          { kind: 'failed', reason: call.reason, deadLetterUrl: config.dlqUrl },
          {},
          invocation.publisher,
          record,
        );
        return { outcome: 'failed', reason: call.reason.code };
      case 'association-failed': {
        const reason = {
          code: 'AssociationFailed',
          message: associationFailedMessage(call.details),
          retryable: false,
        };
        const outcome = { kind: 'failed', reason, deadLetterUrl: undefined } as const;
        await terminal.announce(request, outcome, call.details, invocation.publisher, record);
        return { outcome: 'failed', reason: reason.code };
      }
      case 'succeeded':
        await terminal.announce(request, { kind: 'succeeded' }, call.details, invocation.publisher, record);
        return { outcome: 'succeeded' };
      case 'started': {
        const now = deps.now();
        // Tracking first: a Started event must never announce an association nobody follows.
        await startTracking(invocation.tracking, request, now);
        await invocation.publisher.publish(startedEvent(request, call.details, attemptOf(record), now));
        audit(deps, 'started', request, record, { status: 'ASSOCIATING' });
        countMetric(deps, 'AssociationStarted');
        return { outcome: 'started' };
      }
    }
  }

  /**
   * Once per idempotency key: the AWS call, announced. The request's record is claimed before the call and
   * completed after the announcement, two writes in all; when announcing fails, the record keeps the call's
   * answer instead of being released, so the retry announces it rather than associating again.
   */
  async function associateOnce(
    request: AssociationRequest,
    invocation: Invocation,
    record: SQSRecord,
  ): Promise<StoredOutcome> {
    const call = await callAssociatePackage(request, record);
    try {
      return await announceCall(call, request, invocation, record);
    } catch (error) {
      const { code, message } = describeError(error);
      return { outcome: 'unannounced', call, reason: code, message };
    }
  }

  /** "Already in desired state" says nothing about which state: read what the domain really reports. */
  async function readStatus(request: AssociationRequest): Promise<PackageDetails> {
    let details: PackageDetails | undefined;
    try {
      details = await deps.associations.find(request.domainName, request.packageId);
    } catch (error) {
      const decision = classifyError(error);
      const code = decision.kind === 'already-in-desired-state' ? 'ConflictException' : decision.code;
      const message = decision.kind === 'already-in-desired-state' ? 'unexpected conflict' : decision.message;
      throw new TransientFailure(code, message);
    }
    // Listed nowhere yet although AWS says it is: the listing lags, look again on the next attempt.
    if (details === undefined) {
      throw new TransientFailure(
        'StatusNotListed',
        `${request.packageId} is not listed on ${request.domainName} yet`,
      );
    }
    return details;
  }

  const associateIdempotently = makeIdempotent(associateOnce, {
    persistenceStore: requestStore,
    config: idempotencyConfig,
    dataIndexArgument: 0,
    keyPrefix: 'associate-package',
  });

  /**
   * Why an attempt could not announce, as the error the retry logic below knows: the tracker holding the
   * request's terminal record is an in-progress duplicate (no terminal event of our own on the last attempt),
   * anything else a transient failure.
   */
  function unannouncedFailure(stored: { reason: string; message: string }): Error {
    return stored.reason === 'IdempotencyAlreadyInProgressError'
      ? new IdempotencyAlreadyInProgressError(stored.message)
      : new TransientFailure(stored.reason, stored.message);
  }

  /** A rejection decided without AWS: its dead letter and Failed event, with a backoff if either fails. */
  async function reject(
    invocation: Invocation,
    record: SQSRecord,
    identity: RequestIdentity,
    reason: FailureReason,
  ) {
    try {
      await announceFailure(deps, invocation.publisher, config.dlqUrl, record, identity, reason);
    } catch (error) {
      // On the last attempt the queue's own redrive keeps the body in the DLQ.
      if (attemptOf(record) >= config.maxAttempts) throw error;
      const { code, message } = describeError(error);
      await retryLater(deps, record, identity, code, message);
    }
  }

  async function handleRequest(invocation: Invocation, record: SQSRecord, request: AssociationRequest) {
    if (!config.allowList.allows(request.domainName)) {
      await reject(invocation, record, request, {
        code: 'DomainNotAllowed',
        message: `domainName: ${request.domainName} is not in the allow-list of this service`,
        retryable: false,
      });
      return;
    }
    const attempt = attemptOf(record);
    try {
      const stored = await associateIdempotently(request, invocation, record);
      if (stored.outcome === 'unannounced') {
        // This attempt could not announce what AWS answered: the next one will, from the stored answer.
        if (stored.replayed !== true) throw unannouncedFailure(stored);
        const announced = await announceCall(stored.call, request, invocation, record);
        try {
          await requestStore.saveSuccess(request, announced);
        } catch (error) {
          // The announcement is out; a record left 'unannounced' only makes a later copy announce it again.
          deps.logger.warn('could not record the announcement', { messageId: record.messageId, error });
        }
      } else if (stored.replayed === true) {
        audit(deps, 'duplicate', request, record, { reason: `already ${stored.outcome}` });
        countMetric(deps, 'DuplicateRequest');
      }
    } catch (error) {
      if (error instanceof IdempotencyValidationError) {
        await reject(invocation, record, request, {
          code: 'IdempotencyKeyConflict',
          message: `idempotencyKey: ${request.idempotencyKey} was already used for another domainName/packageId`,
          retryable: false,
        });
        return;
      }
      if (error instanceof IdempotencyAlreadyInProgressError && attempt >= config.maxAttempts) {
        // The request it duplicates is still running and will announce the outcome: dead-letter this copy
        // without a second terminal event.
        await deps.queues.sendDeadLetter(
          config.dlqUrl,
          deadLetter({
            body: record.body,
            reasonCode: 'RetriesExhausted',
            errorMessage: `a request with idempotencyKey ${request.idempotencyKey} was still in progress`,
            attempt,
            sourceMessageId: record.messageId,
            failedAt: deps.now(),
          }),
        );
        audit(deps, 'failed', request, record, {
          reason: 'RetriesExhausted',
          message: 'duplicate still in flight',
        });
        countMetric(deps, 'AssociationFailed', 'RetriesExhausted');
        return;
      }
      const { code, message } =
        error instanceof IdempotencyAlreadyInProgressError
          ? { code: 'DuplicateInProgress', message: error.message }
          : describeError(error);
      if (attempt < config.maxAttempts) await retryLater(deps, record, request, code, message);
      const reason = {
        code: 'RetriesExhausted',
        message: `${code} on attempt ${attempt} of ${config.maxAttempts}: ${message}`,
        retryable: true,
      };
      // Through the shared record: the association may have started, and its tracker may announce first.
      const outcome = { kind: 'failed', reason, deadLetterUrl: config.dlqUrl } as const;
      await terminal.announce(request, outcome, {}, invocation.publisher, record);
    }
  }

  async function handleRecord(invocation: Invocation, serializer: KeyedSerializer, record: SQSRecord) {
    const parsed = parseRequest(record.body, record.messageId);
    if (!parsed.ok) {
      const idempotencyKey = parsed.hint.idempotencyKey ?? record.messageId;
      const identity: RequestIdentity = {
        idempotencyKey,
        correlationId: parsed.hint.correlationId ?? idempotencyKey,
        domainName: parsed.hint.domainName ?? null,
        packageId: parsed.hint.packageId ?? null,
        requestedBy: parsed.hint.requestedBy,
      };
      const reason = { code: 'InvalidRequest', message: parsed.message, retryable: false };
      await invocation.batcher.track(() => reject(invocation, record, identity, reason));
      return;
    }
    const request = parsed.request;
    // Records for one domain run in order: the API refuses a second package operation while one runs.
    await serializer.run(request.domainName, () =>
      invocation.batcher.track(() => handleRequest(invocation, record, request)),
    );
  }

  return async function associatePackageHandler(
    event: SQSEvent,
    context: Context,
  ): Promise<SQSBatchResponse> {
    idempotencyConfig.registerLambdaContext(context);
    terminal.registerLambdaContext(context);
    const batcher = new InvocationBatcher();
    // In the order a record uses them (see InvocationBatcher): the tracking message goes before the event.
    const tracking = new BatchedQueueSender(deps.queues, config.trackingQueueUrl, batcher);
    const publisher = invocationPublisher(deps, context, batcher);
    const invocation: Invocation = { batcher, publisher, tracking };
    const serializer = new KeyedSerializer();
    return processPartialResponse(
      event,
      (record: SQSRecord) => handleRecord(invocation, serializer, record),
      new BatchProcessor(EventType.SQS),
      { context, processInParallel: true, throwOnFullBatchFailure: false },
    );
  };
}
