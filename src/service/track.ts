import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { BatchedEventPublisher } from '../adapters/event-publisher.ts';
import { InvocationBatcher } from '../adapters/invocation-batcher.ts';
import { BatchedQueueSender } from '../adapters/queue-sender.ts';
import { queueUrlFromArn } from '../adapters/queues.ts';
import { withSharedListings } from '../adapters/shared-listings.ts';
import { trackingFor } from '../config.ts';
import { classifyError } from '../domain/classify.ts';
import { deadLetter } from '../domain/dlq.ts';
import type { PackageDetails } from '../domain/events.ts';
import { hasPending, type RequestRecord, requestRecordId, TERMINAL_STATES } from '../domain/ledger.ts';
import {
  decideTracking,
  type TrackingDecision,
  type TrackingMessage,
  trackingDelaySeconds,
  trackingMessageSchema,
} from '../domain/tracking.ts';
import { actionOf, type Decision, decide, identityOf } from '../domain/transitions.ts';
import { runStep } from './ledger-steps.ts';
import { EVENTS_ONLY, flushOutbox, type OutboxTargets, TRACKING_ONLY } from './outbox.ts';
import { rolloutAdvancer } from './rollout-advance.ts';
import {
  attemptOf,
  audit,
  auditDecision,
  describeError,
  invocationPublisher,
  RetryScheduled,
  type Runtime,
  retryLater,
  transitionContext,
  writeIdsFrom,
} from './runtime.ts';
import { unlockDomain } from './unlock.ts';

/** One look at one followed request. */
interface Check {
  deps: Runtime;
  record: SQSRecord;
  outbox: OutboxTargets;
  /** The invocation's draw for the domain's next check delay (see `InvocationSenders.drawFor`). */
  drawFor(domainName: string): number;
}

/**
 * Builds the track-association batch handler: each record is one look at one request the ledger says is being
 * followed, ending in its decision or in the same message coming back later for the next look.
 */
export function createTrackHandler(shared: Runtime) {
  return async function trackAssociationHandler(
    event: SQSEvent,
    context: Context,
  ): Promise<SQSBatchResponse> {
    const deps = { ...shared, associations: withSharedListings(shared.associations) };
    const batcher = new InvocationBatcher();
    const publisher = invocationPublisher(deps, context, batcher);
    // A child's decision here may start its rollout's next wave: its requests go to the requests queue.
    const requests = new BatchedQueueSender(deps.queues, deps.config.requestsQueueUrl, batcher);
    const draws = new Map<string, number>();
    const drawFor = (domainName: string) => {
      const drawn = draws.get(domainName) ?? deps.random();
      draws.set(domainName, drawn);
      return drawn;
    };
    return processPartialResponse(
      event,
      (record: SQSRecord) => handleRecord(deps, { batcher, publisher, requests, drawFor }, record),
      new BatchProcessor(EventType.SQS),
      { context, processInParallel: true, throwOnFullBatchFailure: false },
    );
  };
}

interface InvocationSenders {
  /**
   * One draw per domain per invocation for the next check's delay: the followed requests of one domain (a
   * group's) that land in one invocation come back together, and one listing answers them again.
   */
  drawFor(domainName: string): number;
  batcher: InvocationBatcher;
  publisher: BatchedEventPublisher;
  requests: BatchedQueueSender;
}

async function handleRecord(
  deps: Runtime,
  { batcher, publisher, requests, drawFor }: InvocationSenders,
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
    // Only this service writes tracking messages: a malformed one is a bug or a forgery, kept for a human.
    await deps.queues.sendDeadLetter(
      deps.config.trackingDlqUrl,
      deadLetter({
        body: record.body,
        reasonCode: 'InvalidRequest',
        errorMessage: 'body: is not a tracking message',
        attempt: attemptOf(record),
        sourceMessageId: record.messageId,
        failedAt: deps.now(),
      }),
    );
    return;
  }
  const outbox: OutboxTargets = {
    ledger: deps.ledger,
    publisher,
    requests,
    messageBody: record.body,
    hook: deps.stepHook,
    writeId: writeIdsFrom(deps.newId()),
  };
  outbox.advanceRollout = rolloutAdvancer(deps, () => outbox);
  try {
    await batcher.track(() => lookAgain({ deps, record, outbox, drawFor }, parsed.data));
  } catch (error) {
    if (error instanceof RetryScheduled) throw error;
    // The ledger or the bus failed: look again after the next delay; the ledger keeps what was decided.
    const { code, message } = describeError(error);
    await retryLater(deps, record, parsed.data, code, message, nextDelay(deps, record));
  }
}

function nextDelay(deps: Runtime, record: SQSRecord, packageType?: string): number {
  const policy = trackingFor(deps.config.tracking, packageType);
  return trackingDelaySeconds(attemptOf(record) + 1, policy, deps.random());
}

/** Acts only on what the ledger says it follows: a stale or forged message changes nothing. */
async function lookAgain(check: Check, message: TrackingMessage): Promise<void> {
  const { deps, record } = check;
  const current = await deps.ledger.get(requestRecordId(message.idempotencyKey));
  if (current?.kind !== 'request' || current.incarnation !== message.incarnation) {
    audit(deps, 'ignored', message, record, {
      reason: 'NotFollowed',
      message: 'no such request is followed',
    });
    return;
  }
  if (current.state !== 'TRACKING') {
    // Decided already (by a copy of the request, or by an earlier look): publish what may still be pending.
    if (TERMINAL_STATES.has(current.state) && hasPending(current)) {
      await flushOutbox(check.outbox, current, EVENTS_ONLY, TRACKING_ONLY);
    }
    audit(deps, 'ignored', identityOf(current.request), record, { reason: `already ${current.state}` });
    return;
  }
  const { domainName, packageId } = current.request;
  if (!deps.config.allowList.allows(domainName)) {
    const reason = {
      code: 'DomainNotAllowed',
      message: `${domainName} left the allow-list`,
      retryable: false,
    };
    await conclude(check, current, { outcome: 'failed', reason, details: {}, deadLetter: false });
    return;
  }
  let details: PackageDetails | undefined;
  try {
    details = await runStep(deps.stepHook, 'check', () => deps.associations.find(domainName, packageId));
  } catch (error) {
    await unreadable(check, current, error);
    return;
  }
  const followed = {
    action: actionOf(current.request),
    domainName,
    packageId,
    targetVersion: current.targetVersion,
    deadline: current.deadline ?? 0,
    check: attemptOf(record),
  };
  const policy = trackingFor(deps.config.tracking, current.details?.packageType);
  const decision = decideTracking(followed, details, deps.now(), policy, check.drawFor(domainName));
  if (decision.kind === 'check-again') {
    audit(deps, 'tracking', identityOf(current.request), record, {
      status: details?.status,
      message: `check ${followed.check + 1} in ${decision.delaySeconds} s`,
    });
    return checkLater(check, decision.delaySeconds);
  }
  await conclude(check, current, decisionOf(decision, details));
}

function decisionOf(decision: Exclude<TrackingDecision, { kind: 'check-again' }>, details = {}): Decision {
  if (decision.kind === 'succeeded') return { outcome: 'succeeded', details };
  const reason = { code: decision.code, message: decision.message, retryable: decision.code === 'TimedOut' };
  return { outcome: 'failed', reason, details, deadLetter: false };
}

/** The listing could not be read: look again, until the deadline; a permanent error ends the request. */
async function unreadable(check: Check, current: RequestRecord, error: unknown): Promise<void> {
  const { deps } = check;
  const decision = classifyError(error);
  if (decision.kind === 'permanent') {
    const reason = { code: decision.code, message: decision.message, retryable: false };
    await conclude(check, current, { outcome: 'failed', reason, details: {}, deadLetter: false });
    return;
  }
  if (deps.now().getTime() < (current.deadline ?? 0)) {
    const { code, message } = describeError(error);
    await retryLater(
      deps,
      check.record,
      identityOf(current.request),
      code,
      message,
      nextDelay(deps, check.record, current.details?.packageType),
    );
  }
  const { message } = describeError(error);
  const reason = {
    code: 'TimedOut',
    message: `the status could not be read by the deadline: ${message}`,
    retryable: true,
  };
  await conclude(check, current, { outcome: 'failed', reason, details: {}, deadLetter: false });
}

/** `check-again`: the same message comes back after the delay, so a crash can never fork the checks. */
async function checkLater(check: Check, delaySeconds: number): Promise<never> {
  const { deps, record } = check;
  await runStep(deps.stepHook, 'check-again', async () => {
    try {
      await deps.queues.defer(queueUrlFromArn(record.eventSourceARN), record.receiptHandle, delaySeconds);
    } catch (error) {
      // The message still comes back, after the queue's visibility timeout instead of the delay.
      deps.logger.warn('could not schedule the next check', { messageId: record.messageId, error });
    }
  });
  throw new RetryScheduled('CheckAgain', `the next check in ${delaySeconds} s`);
}

/**
 * `conclude`: the request's decision, once. A write that loses to an outbox's `clear` is made again on what
 * that left. One that finds the request decided stops, after sending what the decision still owes: that
 * decision may be this very write (its answer lost, a `clear` landed on it before the SDK's retry read it back,
 * so the retry cannot recognise it), and this message is then the last one carrying the request.
 */
async function conclude(check: Check, read: RequestRecord, decision: Decision): Promise<void> {
  const { deps, record } = check;
  const identity = identityOf(read.request);
  let current = read;
  for (let round = 0; round < 3; round += 1) {
    const base = current;
    const result = await runStep(deps.stepHook, 'conclude', () =>
      deps.ledger.write(decide(transitionContext(deps), base, decision), base, check.outbox.writeId()),
    );
    if (result.written) {
      auditDecision(deps, identity, record, decision);
      await unlockDomain(deps, result.record, check.outbox.writeId());
      await flushOutbox(check.outbox, result.record, EVENTS_ONLY, TRACKING_ONLY);
      return;
    }
    const now = result.current;
    if (now?.kind !== 'request' || now.incarnation !== read.incarnation || now.state !== 'TRACKING') {
      if (now?.kind === 'request' && now.incarnation === read.incarnation && TERMINAL_STATES.has(now.state)) {
        await unlockDomain(deps, now, check.outbox.writeId());
        if (hasPending(now)) await flushOutbox(check.outbox, now, EVENTS_ONLY, TRACKING_ONLY);
      }
      audit(deps, 'ignored', identity, record, { reason: 'decided elsewhere' });
      return;
    }
    current = now;
  }
  throw new Error('the request record kept changing under its decision');
}
