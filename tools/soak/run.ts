/**
 * The soak driver: starts the local stack with faults everywhere, sends a planned workload through the
 * requests queue, waits until everything has settled and reconciles what came out with what went in.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Message, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeStats } from '../../local/eventbridge/index.ts';
import type { CallCount, FaultRule, OperationName } from '../../local/opensearch/index.ts';
import { seededRandom } from '../../local/rng.ts';
import type { RunnerStats } from '../../local/runner.ts';
import {
  type DynamoDbFaultRule,
  type DynamoDbStats,
  LOCAL_NAMES,
  type LocalStack,
  startLocalStack,
} from '../../local/stack.ts';
import { QueueCollector } from './queue-collector.ts';
import {
  type DeadLetterMessage,
  FAILED,
  type ObservedEvent,
  type Reconciliation,
  reconcile,
  type SentMessage,
  SUCCEEDED,
} from './reconcile.ts';
import { ledgerRecordsOf, suspectKeys } from './suspects.ts';
import { type PlannedSend, planWorkload, type WorkloadOptions } from './workload.ts';

export interface SoakFaults {
  openSearch: {
    /** Share of every OpenSearch call answered ThrottlingException (429). */
    throttlingRate: number;
    /** Share answered InternalException (500). */
    internalErrorRate: number;
    /** Share of AssociatePackage calls answered with a ConflictException that is not "already in desired state". */
    conflictRate: number;
    /**
     * Share of AssociatePackage calls whose answer is lost: the association starts, then the connection is reset
     * (`LostAnswer`), so the handler sees a network error for a call that took effect.
     */
    lostAnswerRate: number;
    /** Every `everyMs` (± half), every call waits `latencyMs` for `durationMs`. */
    latencySpike: { everyMs: number; durationMs: number; latencyMs: number };
  };
  eventBridge: { entryFailureRate: number; throttleRate: number };
  dynamoDb: {
    /** Share of every DynamoDB call answered InternalServerError or ProvisionedThroughputExceededException. */
    rate: number;
    /** Share of every DynamoDB call that takes effect and then loses its answer to a reset connection. */
    lostAnswerRate: number;
  };
  runner: { crashRate: number; timeoutRate: number };
}

export const DEFAULT_FAULTS: SoakFaults = {
  openSearch: {
    throttlingRate: 0.15,
    internalErrorRate: 0.05,
    conflictRate: 0.05,
    lostAnswerRate: 0.03,
    latencySpike: { everyMs: 5_000, durationMs: 1_000, latencyMs: 1_500 },
  },
  eventBridge: { entryFailureRate: 0.05, throttleRate: 0.05 },
  dynamoDb: { rate: 0.03, lostAnswerRate: 0.01 },
  runner: { crashRate: 0.03, timeoutRate: 0.02 },
};

/** Every fault rate multiplied by `factor` (capped at 0.9), for harsher or gentler runs; spikes unchanged. */
export function scaleFaults(faults: SoakFaults, factor: number): SoakFaults {
  if (!(factor >= 0)) throw new RangeError(`the fault scale must be a number >= 0, got ${factor}`);
  const scaled = (rate: number) => Math.min(0.9, rate * factor);
  const { openSearch, eventBridge, dynamoDb, runner } = faults;
  return {
    openSearch: {
      ...openSearch,
      throttlingRate: scaled(openSearch.throttlingRate),
      internalErrorRate: scaled(openSearch.internalErrorRate),
      conflictRate: scaled(openSearch.conflictRate),
      lostAnswerRate: scaled(openSearch.lostAnswerRate),
    },
    eventBridge: {
      entryFailureRate: scaled(eventBridge.entryFailureRate),
      throttleRate: scaled(eventBridge.throttleRate),
    },
    dynamoDb: { rate: scaled(dynamoDb.rate), lostAnswerRate: scaled(dynamoDb.lostAnswerRate) },
    runner: { crashRate: scaled(runner.crashRate), timeoutRate: scaled(runner.timeoutRate) },
  };
}

/**
 * Timing of the handlers during a soak: backoffs short enough to converge in minutes, yet adding up over the
 * attempts to more than the function timeout, which with its margin is how long the ledger's lease of an
 * invocation killed mid-way holds its request (so its retries outlive it, as they do with the deployed settings).
 */
export const SOAK_TIMING = {
  functionTimeoutSeconds: 10,
  visibilityTimeoutSeconds: 5,
  associationDelayMs: 500,
  handlerEnvironment: {
    BACKOFF_BASE_SECONDS: '1',
    BACKOFF_MAX_SECONDS: '8',
    TRACKING_FIRST_DELAY_SECONDS: '1',
    TRACKING_MAX_DELAY_SECONDS: '2',
    PLUGIN_TRACKING_MAX_DELAY_SECONDS: '2',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  },
} as const;

export interface SoakOptions extends WorkloadOptions {
  faults: SoakFaults;
  /** Messages per second the producer sends. */
  sendRatePerSecond: number;
  /** How long to wait, after the last original was sent, for every queue to drain. */
  drainTimeoutMs: number;
  onProgress?: (progress: SoakProgress) => void;
  progressIntervalMs?: number;
}

export interface SoakProgress {
  elapsedMs: number;
  sent: number;
  toSend: number;
  /** Originals with a terminal event or a dead letter so far. */
  ended: number;
  queued: Record<string, number>;
}

export interface SoakResult {
  startedAt: Date;
  durationMs: number;
  /** Whether every queue was empty when reconciliation ran; false: the drain deadline passed first. */
  drained: boolean;
  reconciliation: Reconciliation;
  /** The ledger records (and domain locks) of lost requests and of pairs operated on twice, read at the end. */
  suspects: unknown[];
  stats: {
    associateRunner: RunnerStats;
    trackRunner: RunnerStats;
    injectedCrashes: number;
    injectedTimeouts: number;
    openSearch: Partial<Record<OperationName, CallCount>>;
    eventBridge: EventBridgeStats;
    dynamoDb: DynamoDbStats;
    maxAttempts: number;
  };
}

/** The soak itself could not go on (not a broken invariant: those are in the reconciliation). */
export class SoakRunError extends Error {
  override readonly name = 'SoakRunError';
}

const QUEUE_NAMES = [
  LOCAL_NAMES.requestsQueue,
  LOCAL_NAMES.trackingQueue,
  LOCAL_NAMES.eventsQueue,
  LOCAL_NAMES.requestsDlq,
  LOCAL_NAMES.trackingDlq,
] as const;
const TICK_MS = 100;

function openSearchFaultRules(faults: SoakFaults['openSearch']): FaultRule[] {
  return [
    { operation: '*', errorType: 'ThrottlingException', rate: faults.throttlingRate },
    { operation: '*', errorType: 'InternalException', rate: faults.internalErrorRate },
    // A group's operation meets the same faults as one request's.
    ...(['AssociatePackage', 'AssociatePackages'] as const).flatMap((operation) => [
      {
        operation,
        errorType: 'ConflictException',
        rate: faults.conflictRate,
        message: 'An update is in progress for this domain; try again later',
      },
      { operation, errorType: 'LostAnswer', rate: faults.lostAnswerRate },
    ]),
  ];
}

function dynamoDbFaultRules(faults: SoakFaults['dynamoDb']): DynamoDbFaultRule[] {
  return [
    // No errorType: InternalServerError or ProvisionedThroughputExceededException, half and half.
    { operation: '*', rate: faults.rate },
    { operation: '*', errorType: 'LostAnswer', rate: faults.lostAnswerRate },
  ];
}

interface QueuedMessages {
  messageIds: string[];
  bodies: string[];
}

function queuedMessages(stack: LocalStack, name: string): QueuedMessages {
  const messages = stack.sqs.inspectQueue(name)?.messages;
  if (messages === undefined) return { messageIds: [], bodies: [] };
  const all = [...messages.ready, ...messages.delayed, ...messages.inflight.map((entry) => entry.message)];
  return { messageIds: all.map((message) => message.messageId), bodies: all.map((message) => message.body) };
}

function toEvent(message: Message): ObservedEvent {
  const envelope = JSON.parse(message.Body ?? '{}') as {
    'detail-type'?: string;
    detail?: Record<string, unknown> & { error?: { code?: unknown } };
  };
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const attempt = Number(envelope.detail?.attempt);
  return {
    detailType: envelope['detail-type'] ?? 'unknown',
    // An event without an id cannot be de-duplicated: each publication counts as its own event.
    eventId: text(envelope.detail?.eventId) ?? `no-id-${message.MessageId}`,
    idempotencyKey: text(envelope.detail?.idempotencyKey),
    messageId: text(envelope.detail?.messageId),
    requestedBy: text(envelope.detail?.requestedBy),
    errorCode: text(envelope.detail?.error?.code),
    attempt: Number.isInteger(attempt) ? attempt : undefined,
  };
}

function toDeadLetter(message: Message): DeadLetterMessage {
  return {
    messageId: message.MessageId ?? '',
    body: message.Body ?? '',
    reasonCode: message.MessageAttributes?.ReasonCode?.StringValue,
    sourceMessageId: message.MessageAttributes?.SourceMessageId?.StringValue,
    deadLetterId: message.MessageAttributes?.DeadLetterId?.StringValue,
  };
}

/** Starts the latency spikes; returns the function that stops them. */
function startLatencySpikes(
  stack: LocalStack,
  spike: SoakFaults['openSearch']['latencySpike'],
  seed: number,
): () => void {
  if (spike.latencyMs <= 0 || spike.everyMs <= 0) return () => undefined;
  const random = seededRandom(seed + 4);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        stack.openSearch.setLatency(spike.latencyMs);
        timer = setTimeout(() => {
          stack.openSearch.setLatency(0);
          schedule();
        }, spike.durationMs);
      },
      spike.everyMs * (0.5 + random()),
    );
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
    stack.openSearch.setLatency(0);
  };
}

/** Runs one soak: the stack lives only for the run, on free ports. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const workload = planWorkload(options);
  const { faults } = options;
  let injectedCrashes = 0;
  let injectedTimeouts = 0;
  const stack = await startLocalStack({
    port: 0,
    seed: workload.openSearchSeed,
    associationDelayMs: SOAK_TIMING.associationDelayMs,
    openSearchFaults: openSearchFaultRules(faults.openSearch),
    eventBridgeFaults: faults.eventBridge,
    dynamoDbFaults: dynamoDbFaultRules(faults.dynamoDb),
    runnerCrashRate: faults.runner.crashRate,
    runnerTimeoutRate: faults.runner.timeoutRate,
    randomSeed: options.seed,
    functionTimeoutSeconds: SOAK_TIMING.functionTimeoutSeconds,
    visibilityTimeoutSeconds: SOAK_TIMING.visibilityTimeoutSeconds,
    handlerEnvironment: { ...SOAK_TIMING.handlerEnvironment },
    onInvoke: (report) => {
      if (report.injectedFault === 'crash') injectedCrashes += 1;
      if (report.injectedFault === 'timeout') injectedTimeouts += 1;
    },
  });
  const client = new SQSClient({
    endpoint: stack.endpoint,
    region: stack.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const events = new QueueCollector(client, stack.queueUrls.events);
  const requestDeadLetters = new QueueCollector(client, stack.queueUrls.requestsDlq);
  const trackingDeadLetters = new QueueCollector(client, stack.queueUrls.trackingDlq);
  const stopSpikes = startLatencySpikes(stack, faults.openSearch.latencySpike, options.seed);
  const startedAt = new Date();
  const started = performance.now();
  const elapsed = () => performance.now() - started;

  const sent: SentMessage[] = [];
  const sentById = new Map<string, SentMessage>();
  const send = async (planned: PlannedSend): Promise<void> => {
    const request = workload.requests[planned.requestId];
    if (request === undefined) throw new SoakRunError(`no planned request ${planned.requestId}`);
    const { MessageId } = await client.send(
      new SendMessageCommand({ QueueUrl: stack.queueUrls.requests, MessageBody: request.body }),
    );
    if (MessageId === undefined) throw new SoakRunError('SendMessage answered without a MessageId');
    const message: SentMessage = {
      messageId: MessageId,
      requestId: planned.requestId,
      ...(planned.duplicate && { duplicate: planned.duplicate }),
    };
    sent.push(message);
    sentById.set(MessageId, message);
  };

  // Which originals have ended, read incrementally from what the subscriber has collected so far.
  const ended = new Set<string>();
  let eventsRead = 0;
  let deadLettersRead = 0;
  const refreshEnded = () => {
    for (; eventsRead < events.messages.length; eventsRead += 1) {
      const event = toEvent(events.messages[eventsRead] as Message);
      if ((event.detailType === SUCCEEDED || event.detailType === FAILED) && event.idempotencyKey) {
        ended.add(event.idempotencyKey);
      }
    }
    for (; deadLettersRead < requestDeadLetters.messages.length; deadLettersRead += 1) {
      const source = toDeadLetter(requestDeadLetters.messages[deadLettersRead] as Message).sourceMessageId;
      const original = source === undefined ? undefined : sentById.get(source);
      const key = original && workload.requests[original.requestId]?.idempotencyKey;
      if (key) ended.add(key);
    }
  };
  const queueDepths = () =>
    Object.fromEntries(QUEUE_NAMES.map((name) => [name, queuedMessages(stack, name).messageIds.length]));
  const settled = () => Object.values(queueDepths()).every((depth) => depth === 0);

  let lastProgress = 0;
  const toSend = workload.sends.length + workload.lateDuplicates.length;
  const reportProgress = (force = false) => {
    if (!options.onProgress) return;
    if (!force && elapsed() - lastProgress < (options.progressIntervalMs ?? 10_000)) return;
    lastProgress = elapsed();
    options.onProgress({
      elapsedMs: elapsed(),
      sent: sent.length,
      toSend,
      ended: ended.size,
      queued: queueDepths(),
    });
  };

  let pendingLate = [...workload.lateDuplicates];
  const sendLateDuplicates = async (all: boolean) => {
    refreshEnded();
    const ready = pendingLate.filter(
      (planned) => all || ended.has(workload.requests[planned.requestId]?.idempotencyKey ?? ''),
    );
    if (ready.length === 0) return;
    pendingLate = pendingLate.filter((planned) => !ready.includes(planned));
    await Promise.all(ready.map(send));
  };

  try {
    const drained = await drive();
    const reconciliation = reconcileNow();
    const stats = collectStats();
    const suspects = await ledgerRecordsOf(stack, suspectKeys(reconciliation, workload.requests));
    return { startedAt, durationMs: elapsed(), drained, reconciliation, stats, suspects };
  } finally {
    stopSpikes();
    await Promise.all([events.stop(), requestDeadLetters.stop(), trackingDeadLetters.stop()]);
    client.destroy();
    await stack.stop();
  }

  /** Sends everything, then waits for every queue to drain; false if the deadline came first. */
  async function drive(): Promise<boolean> {
    // Originals go out at the planned rate; a concurrent duplicate goes out together with its original.
    const groups: PlannedSend[][] = [];
    for (const planned of workload.sends) {
      if (planned.duplicate === 'concurrent') groups.at(-1)?.push(planned);
      else groups.push([planned]);
    }
    let next = 0;
    while (next < groups.length) {
      const due = Math.ceil((elapsed() / 1000) * options.sendRatePerSecond);
      const batch = groups.slice(next, Math.max(next, due));
      next += batch.length;
      await Promise.all(batch.flat().map(send));
      await sendLateDuplicates(false);
      reportProgress();
      await sleep(TICK_MS);
    }
    const deadline = performance.now() + options.drainTimeoutMs;
    try {
      while (performance.now() < deadline) {
        // A late duplicate whose original ended without a terminal event of its own goes out once all is quiet.
        await sendLateDuplicates(settled());
        if (pendingLate.length === 0 && settled()) return true;
        reportProgress();
        await sleep(TICK_MS);
      }
      return false;
    } finally {
      reportProgress(true);
    }
  }

  function reconcileNow(): Reconciliation {
    const trackingKeys = queuedMessages(stack, LOCAL_NAMES.trackingQueue).bodies.flatMap((body) => {
      try {
        const key = (JSON.parse(body) as { idempotencyKey?: unknown }).idempotencyKey;
        return typeof key === 'string' ? [key] : [];
      } catch {
        return [];
      }
    });
    return reconcile({
      requests: workload.requests,
      sent,
      events: events.messages.map(toEvent),
      requestDeadLetters: requestDeadLetters.messages.map(toDeadLetter),
      trackingDeadLetters: trackingDeadLetters.messages.map(toDeadLetter),
      queuedRequestMessageIds: queuedMessages(stack, LOCAL_NAMES.requestsQueue).messageIds,
      queuedTrackingKeys: trackingKeys,
      associatePackage: stack.openSearch.callCounts().AssociatePackage,
      operationsByPair: stack.openSearch.operationsByPair(),
      associations: stack.openSearch.state().associations,
    });
  }

  function collectStats(): SoakResult['stats'] {
    const [associateRunner, trackRunner] = stack.runners.map((runner) => runner.stats());
    const callCounts = stack.openSearch.callCounts();
    return {
      associateRunner: associateRunner as RunnerStats,
      trackRunner: trackRunner as RunnerStats,
      injectedCrashes,
      injectedTimeouts,
      openSearch: {
        AssociatePackage: callCounts.AssociatePackage,
        AssociatePackages: callCounts.AssociatePackages,
        ListPackagesForDomain: callCounts.ListPackagesForDomain,
      },
      eventBridge: stack.eventBridge.stats(),
      dynamoDb: stack.dynamoDbStats(),
      maxAttempts: stack.maxAttempts,
    };
  }
}
