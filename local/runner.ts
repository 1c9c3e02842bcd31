/**
 * Local stand-in for the Lambda SQS event source mapping: polls a queue, invokes a handler with real-shaped
 * batches and contexts, and deletes what the handler did not report as failed.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
 *
 * Handlers given as `{ module, export }` run in worker threads, one per concurrency slot, reused while warm and
 * replaced after a timeout or crash (a cold start, as in Lambda). Handlers given as functions run in this
 * thread: a timeout then only stops waiting for them, it cannot stop them.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttribute, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { lambdaWorkerLimits } from './lambda-heap.ts';
import { seededRandom } from './rng.ts';
import {
  type BatchHandler,
  invokeHandler,
  type LambdaContextInit,
  type ParentToWorker,
  type RunnerWorkerData,
  type SerializedError,
  serializeError,
  type WorkerToParent,
} from './runner-worker.ts';

export type { BatchHandler } from './runner-worker.ts';

/** A module the worker imports (path relative to the cwd, absolute, or a file: URL) and the export to call. */
export interface HandlerModuleRef {
  module: string;
  export: string;
}

export type HandlerRef = HandlerModuleRef | BatchHandler;

export type InvocationOutcome = 'ok' | 'error' | 'timeout';

export interface InvocationReport {
  functionName: string;
  awsRequestId: string;
  startedAt: Date;
  batchSize: number;
  messageIds: string[];
  /** Handler time only; a cold start's module import is in `initDurationMs`. */
  durationMs: number;
  initDurationMs?: number;
  coldStart: boolean;
  outcome: InvocationOutcome;
  /** Records left on the queue to come back after their visibility timeout. */
  failedMessageIds: string[];
  deletedCount: number;
  /** Records the handler processed but that could not be deleted; they will be delivered again. */
  deleteFailedCount: number;
  error?: SerializedError;
  injectedFault?: 'crash' | 'timeout';
}

export interface RunnerStats {
  polls: number;
  receivedMessages: number;
  invocations: number;
  ok: number;
  errors: number;
  timeouts: number;
  deletedMessages: number;
  deleteFailures: number;
  inFlight: number;
  maxInFlight: number;
  workerStarts: number;
  /** Invocations whose outcome an injected crash or timeout decided. */
  injectedCrashes: number;
  injectedTimeouts: number;
}

/** Shares of invocations the runner fails on purpose; see `QueueRunnerOptions.crashRate` and `timeoutRate`. */
export interface RunnerFaultRates {
  crashRate: number;
  timeoutRate: number;
}

export interface RunnerLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export interface QueueRunnerOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: HandlerRef;
  functionName: string;
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  maximumConcurrency: number;
  timeoutSeconds: number;
  /** Context `memoryLimitInMB`; default 1024. */
  memorySize?: number;
  /** `functionResponseType: ReportBatchItemFailures`; when false the response is ignored. Default true. */
  reportBatchItemFailures?: boolean;
  /** Region of the ARNs and `awsRegion`; default: from the queue URL, then the SQS client's region. */
  region?: string;
  /** Account of the function ARN; default: from the queue URL, then 000000000000. */
  accountId?: string;
  /** Variables set for worker handlers on top of `process.env` (in-process handlers share this process's). */
  environment?: Record<string, string>;
  onInvoke?: (report: InvocationReport) => void;
  logger?: RunnerLogger;
  /** Share of invocations whose environment "crashes" after the handler ran, before anything is deleted. */
  crashRate?: number;
  /** Share of invocations that "time out" at a random point during or after the handler; nothing is deleted. */
  timeoutRate?: number;
  /** Seed of the fault-injection random generator, for reproducible soak runs. */
  faultSeed?: number;
}

export interface QueueRunner {
  readonly functionName: string;
  /** Stops polling at once and resolves when in-flight invocations have finished and workers are gone. */
  stop(): Promise<void>;
  stats(): RunnerStats;
  faultRates(): RunnerFaultRates;
  /** Changes the injected crash and timeout rates from the next invocation on; an omitted rate is kept. */
  setFaultRates(rates: Partial<RunnerFaultRates>): void;
  /**
   * CPU time used so far by the threads of the live execution environments (a recycled one's time goes with
   * it); for telling the handlers' share of the machine from the emulators'.
   */
  handlerThreadCpuMicros(): Promise<number>;
}

export class QueueRunnerConfigError extends Error {
  override name = 'QueueRunnerConfigError';
}

const MAX_MESSAGES_PER_RECEIVE = 10;
const DEFAULT_MEMORY_SIZE = 1024;
const MAX_WAIT_TIME_SECONDS = 20;
// Lambda starts five pollers per SQS mapping; more would only hold slots in idle long polls.
const MAX_POLLERS = 5;
// Lambda gives a function's initialisation 10 seconds before it fails the invocation.
const INIT_TIMEOUT_MS = 10_000;
const DELETE_ATTEMPTS = 3;
const RECEIVE_BACKOFF_MIN_MS = 200;
const RECEIVE_BACKOFF_MAX_MS = 5_000;
// Injected timeouts strike within this window (or the function timeout if shorter), so some hit mid-handler.
const INJECTED_TIMEOUT_WINDOW_MS = 1_000;
const WORKER_URL = new URL('./runner-worker.ts', import.meta.url);

const consoleLogger: RunnerLogger = {
  warn: (message, details) => console.warn(message, details ?? ''),
  error: (message, details) => console.error(message, details ?? ''),
};

interface Timer {
  promise: Promise<void>;
  cancel(): void;
}

function startTimer(ms: number): Timer {
  let handle: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    handle = setTimeout(resolve, Math.max(0, ms));
  });
  return { promise, cancel: () => clearTimeout(handle) };
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function validateOptions(options: QueueRunnerOptions): void {
  const positiveInteger = (value: number, name: string, max: number) => {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new QueueRunnerConfigError(`${name} must be an integer from 1 to ${max}, got ${value}`);
    }
  };
  positiveInteger(options.batchSize, 'batchSize', 10_000);
  positiveInteger(options.maximumConcurrency, 'maximumConcurrency', 1_000);
  if (!(options.timeoutSeconds > 0)) {
    throw new QueueRunnerConfigError(`timeoutSeconds must be positive, got ${options.timeoutSeconds}`);
  }
  if (!(options.maximumBatchingWindowSeconds >= 0 && options.maximumBatchingWindowSeconds <= 300)) {
    throw new QueueRunnerConfigError(
      `maximumBatchingWindowSeconds must be from 0 to 300, got ${options.maximumBatchingWindowSeconds}`,
    );
  }
  validateFaultRates({ crashRate: options.crashRate ?? 0, timeoutRate: options.timeoutRate ?? 0 });
}

/** Each rate from 0 to 1, and at most 1 together: one draw decides crash, timeout or neither. */
export function validateFaultRates(rates: RunnerFaultRates): void {
  for (const [name, rate] of Object.entries(rates)) {
    if (!(rate >= 0 && rate <= 1)) {
      throw new QueueRunnerConfigError(`${name} must be between 0 and 1, got ${rate}`);
    }
  }
  if (rates.crashRate + rates.timeoutRate > 1) {
    throw new QueueRunnerConfigError(
      `crashRate + timeoutRate must be at most 1, got ${rates.crashRate} + ${rates.timeoutRate}`,
    );
  }
}

interface QueueIdentity {
  region: string;
  accountId: string;
  queueArn: string;
}

/** `https://sqs.<region>.<host>/<account>/<name>` (AWS and fauxqs) or `http://host/<account>/<name>`. */
async function resolveQueueIdentity(options: QueueRunnerOptions): Promise<QueueIdentity> {
  const url = new URL(options.queueUrl);
  const [accountFromUrl, queueName = ''] = url.pathname.split('/').filter(Boolean);
  const regionFromUrl = /^sqs\.([a-z0-9-]+)\./.exec(url.hostname)?.[1];
  const region = options.region ?? regionFromUrl ?? (await options.sqs.config.region()) ?? 'us-east-1';
  const accountId = options.accountId ?? accountFromUrl ?? '000000000000';
  return {
    region,
    accountId,
    queueArn: `arn:aws:sqs:${regionFromUrl ?? region}:${accountFromUrl ?? accountId}:${queueName}`,
  };
}

function toBase64(value: Uint8Array): string {
  return Buffer.from(value).toString('base64');
}

/** SQS API attribute → the camel-cased shape Lambda puts in `messageAttributes`. */
function toLambdaMessageAttribute(attribute: MessageAttributeValue): SQSMessageAttribute {
  const converted: SQSMessageAttribute = {
    stringListValues: attribute.StringListValues ?? [],
    binaryListValues: (attribute.BinaryListValues ?? []).map(toBase64),
    dataType: attribute.DataType ?? 'String',
  };
  if (attribute.StringValue !== undefined) converted.stringValue = attribute.StringValue;
  if (attribute.BinaryValue !== undefined) converted.binaryValue = toBase64(attribute.BinaryValue);
  return converted;
}

function toRecord(message: Message, identity: QueueIdentity): SQSRecord {
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    // ReceiveMessage is called with MessageSystemAttributeNames ['All'], so the required ones are present.
    attributes: { ...message.Attributes } as SQSRecordAttributes,
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        toLambdaMessageAttribute(value),
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: identity.queueArn,
    awsRegion: identity.region,
  };
  if (message.MD5OfMessageAttributes !== undefined)
    record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

type FailedIdsResult = { valid: true; failedIds: string[] } | { valid: false; reason: string };

/**
 * Lambda treats an empty or null response or list as full success, and an entry with a missing, empty or
 * unknown itemIdentifier as failure of the whole batch.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
 */
export function failedIdsFromResponse(response: unknown, batchIds: ReadonlySet<string>): FailedIdsResult {
  if (response === undefined || response === null) return { valid: true, failedIds: [] };
  if (typeof response !== 'object' || Array.isArray(response)) {
    return { valid: false, reason: 'the response is not an object' };
  }
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { valid: true, failedIds: [] };
  if (!Array.isArray(failures)) return { valid: false, reason: 'batchItemFailures is not an array' };
  const failedIds = new Set<string>();
  for (const failure of failures) {
    const id =
      typeof failure === 'object' && failure !== null
        ? (failure as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    if (typeof id !== 'string' || id === '') {
      return { valid: false, reason: 'a batchItemFailures entry has no itemIdentifier' };
    }
    if (!batchIds.has(id)) return { valid: false, reason: `itemIdentifier ${id} is not in the batch` };
    failedIds.add(id);
  }
  return { valid: true, failedIds: [...failedIds] };
}

type InjectedFault = { kind: 'crash' } | { kind: 'timeout'; afterMs: number };

type HandlerRun =
  | { outcome: 'ok'; response: unknown }
  | { outcome: 'error'; error: SerializedError }
  | { outcome: 'timeout'; error: SerializedError };

interface SlotRun {
  run: HandlerRun;
  durationMs: number;
  coldStart: boolean;
  initDurationMs?: number;
  /** Set when an injected fault decided the outcome (not when the handler failed on its own first). */
  injectedFault?: InjectedFault['kind'];
}

/** One concurrency slot: where one invocation at a time runs. */
interface InvocationSlot {
  invoke(
    event: SQSEvent,
    init: Omit<LambdaContextInit, 'logStreamName' | 'deadlineEpochMs'>,
    fault?: InjectedFault,
  ): Promise<SlotRun>;
  /** CPU time of this slot's current execution environment thread; 0 when the handler runs in process. */
  threadCpuMicros(): Promise<number>;
  dispose(): Promise<void>;
}

function newLogStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

function timeoutError(timeoutMs: number): SerializedError {
  return {
    name: 'Sandbox.Timedout',
    message: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
  };
}

const INJECTED_CRASH: SerializedError = {
  name: 'InjectedCrash',
  message: 'fault injection: the execution environment crashed after the handler ran',
};

/** What a finished handler run becomes when a fault is injected after it. */
function faultedRun(fault: InjectedFault, timeoutMs: number): HandlerRun {
  return fault.kind === 'crash'
    ? { outcome: 'error', error: INJECTED_CRASH }
    : { outcome: 'timeout', error: timeoutError(timeoutMs) };
}

type WorkerSignal =
  | { kind: 'message'; message: WorkerToParent }
  | { kind: 'error'; error: Error }
  | { kind: 'exit'; code: number };

interface LiveWorker {
  worker: Worker;
  logStreamName: string;
  /** False once the thread failed or exited, e.g. on an unhandled rejection after its last invocation. */
  alive(): boolean;
  next(): Promise<WorkerSignal>;
}

interface WorkerSettings {
  environment: Record<string, string> | undefined;
  memorySize: number;
}

function spawnWorker(data: RunnerWorkerData, settings: WorkerSettings): LiveWorker {
  const worker = new Worker(WORKER_URL, {
    workerData: data,
    // Read at spawn time, so a cold start sees the environment as it is now, like a new Lambda sandbox.
    env: { ...process.env, ...settings.environment },
    // The heap Lambda gives the function's memory size: a leak across warm invocations fails as in Lambda, and
    // the young generation is as large as there, so garbage is collected as often.
    resourceLimits: lambdaWorkerLimits(settings.memorySize),
  });
  const buffered: WorkerSignal[] = [];
  let waiter: ((signal: WorkerSignal) => void) | undefined;
  let ended: WorkerSignal | undefined;
  const deliver = (signal: WorkerSignal) => {
    if (signal.kind !== 'message') ended ??= signal;
    if (waiter) {
      const notify = waiter;
      waiter = undefined;
      notify(signal);
    } else if (signal.kind === 'message') {
      buffered.push(signal);
    }
  };
  worker.on('message', (message: WorkerToParent) => deliver({ kind: 'message', message }));
  worker.on('error', (error) => deliver({ kind: 'error', error }));
  worker.on('exit', (code) => deliver({ kind: 'exit', code }));
  return {
    worker,
    logStreamName: newLogStreamName(),
    alive: () => ended === undefined,
    next: () => {
      const signal = buffered.shift() ?? ended;
      if (signal) return Promise.resolve(signal);
      return new Promise((resolve) => {
        waiter = resolve;
      });
    },
  };
}

function signalError(signal: WorkerSignal): SerializedError {
  if (signal.kind === 'error') return serializeError(signal.error);
  if (signal.kind === 'exit')
    return { name: 'Runtime.ExitError', message: `the runtime exited with code ${signal.code}` };
  return { name: 'Runtime.InvalidResponse', message: `unexpected worker message ${signal.message.type}` };
}

function createWorkerSlot(
  ref: HandlerModuleRef,
  settings: WorkerSettings,
  timeoutMs: number,
  onWorkerStart: () => void,
): InvocationSlot {
  const data: RunnerWorkerData = {
    kind: 'queue-runner-worker',
    moduleUrl: ref.module.startsWith('file:') ? ref.module : pathToFileURL(resolvePath(ref.module)).href,
    exportName: ref.export,
  };
  let live: LiveWorker | undefined;
  let invocationCounter = 0;

  const discard = async () => {
    const current = live;
    live = undefined;
    await current?.worker.terminate();
  };

  /** Starts a fresh environment and waits for its module import; undefined on success. */
  const coldStart = async (): Promise<SerializedError | undefined> => {
    onWorkerStart();
    live = spawnWorker(data, settings);
    const initTimer = startTimer(INIT_TIMEOUT_MS);
    const signal = await Promise.race([live.next(), initTimer.promise.then(() => undefined)]);
    initTimer.cancel();
    if (signal?.kind === 'message' && signal.message.type === 'ready') return undefined;
    await discard();
    if (!signal)
      return { name: 'Runtime.InitTimeout', message: `init did not finish in ${INIT_TIMEOUT_MS} ms` };
    if (signal.kind === 'message' && signal.message.type === 'init-error') return signal.message.error;
    return signalError(signal);
  };

  return {
    async invoke(event, init, fault) {
      let initDurationMs: number | undefined;
      if (live && !live.alive()) await discard();
      const isColdStart = live === undefined;
      if (isColdStart) {
        const initStarted = performance.now();
        const initError = await coldStart();
        initDurationMs = performance.now() - initStarted;
        if (initError) {
          return {
            run: { outcome: 'error', error: initError },
            durationMs: 0,
            coldStart: true,
            initDurationMs,
          };
        }
      }
      const current = live as LiveWorker;
      invocationCounter += 1;
      const invocationId = invocationCounter;
      const started = performance.now();
      const message: ParentToWorker = {
        type: 'invoke',
        invocationId,
        event,
        context: { ...init, logStreamName: current.logStreamName, deadlineEpochMs: Date.now() + timeoutMs },
      };
      current.worker.postMessage(message);
      const timeout = startTimer(timeoutMs);
      const injectedTimeout = fault?.kind === 'timeout' ? startTimer(fault.afterMs) : undefined;
      const signal = await Promise.race([
        current.next(),
        timeout.promise.then(() => 'timeout' as const),
        ...(injectedTimeout ? [injectedTimeout.promise.then(() => 'injected-timeout' as const)] : []),
      ]);
      timeout.cancel();
      injectedTimeout?.cancel();
      const durationMs = performance.now() - started;
      const finish = (run: HandlerRun, injectedFault?: InjectedFault['kind']): SlotRun => ({
        run,
        durationMs,
        coldStart: isColdStart,
        ...(initDurationMs === undefined ? {} : { initDurationMs }),
        ...(injectedFault === undefined ? {} : { injectedFault }),
      });

      if (signal === 'timeout' || signal === 'injected-timeout') {
        // Terminating the thread is what makes a timed-out invocation really stop, as in Lambda.
        await discard();
        return finish(
          { outcome: 'timeout', error: timeoutError(timeoutMs) },
          signal === 'injected-timeout' ? 'timeout' : undefined,
        );
      }
      const reply = signal.kind === 'message' ? signal.message : undefined;
      if (
        !reply ||
        (reply.type !== 'result' && reply.type !== 'error') ||
        reply.invocationId !== invocationId
      ) {
        await discard();
        return finish({ outcome: 'error', error: signalError(signal) });
      }
      if (fault) {
        // The handler's side effects happened; the environment dies before the runner can delete anything.
        await discard();
        return finish(faultedRun(fault, timeoutMs), fault.kind);
      }
      return finish(
        reply.type === 'result'
          ? { outcome: 'ok', response: reply.response }
          : { outcome: 'error', error: reply.error },
      );
    },
    async threadCpuMicros() {
      const usage = await live?.worker.cpuUsage().catch(() => undefined);
      return usage === undefined ? 0 : usage.user + usage.system;
    },
    dispose: discard,
  };
}

function createInProcessSlot(handler: BatchHandler, timeoutMs: number): InvocationSlot {
  const logStreamName = newLogStreamName();
  let warm = false;
  return {
    async invoke(event, init, fault) {
      const coldStart = !warm;
      warm = true;
      const started = performance.now();
      const context = { ...init, logStreamName, deadlineEpochMs: Date.now() + timeoutMs };
      const settled = invokeHandler(handler, event, context).then(
        (response): HandlerRun => ({ outcome: 'ok', response }),
        (error: unknown): HandlerRun => ({ outcome: 'error', error: serializeError(error) }),
      );
      const timeout = startTimer(timeoutMs);
      const injectedTimeout = fault?.kind === 'timeout' ? startTimer(fault.afterMs) : undefined;
      // After a timeout the handler keeps running in this thread; only its result is ignored.
      const winner = await Promise.race([
        settled,
        timeout.promise.then(() => 'timeout' as const),
        ...(injectedTimeout ? [injectedTimeout.promise.then(() => 'injected-timeout' as const)] : []),
      ]);
      timeout.cancel();
      injectedTimeout?.cancel();
      const durationMs = performance.now() - started;
      if (winner === 'timeout' || winner === 'injected-timeout') {
        const run: HandlerRun = { outcome: 'timeout', error: timeoutError(timeoutMs) };
        return winner === 'timeout'
          ? { run, durationMs, coldStart }
          : { run, durationMs, coldStart, injectedFault: 'timeout' };
      }
      if (fault) {
        return { run: faultedRun(fault, timeoutMs), durationMs, coldStart, injectedFault: fault.kind };
      }
      return { run: winner, durationMs, coldStart };
    },
    threadCpuMicros: async () => 0,
    dispose: async () => undefined,
  };
}

export function startQueueRunner(options: QueueRunnerOptions): QueueRunner {
  validateOptions(options);
  const { sqs, queueUrl, functionName, batchSize, maximumConcurrency } = options;
  const logger = options.logger ?? consoleLogger;
  const timeoutMs = options.timeoutSeconds * 1000;
  const memorySize = options.memorySize ?? DEFAULT_MEMORY_SIZE;
  const batchingWindowMs = options.maximumBatchingWindowSeconds * 1000;
  const reportBatchItemFailures = options.reportBatchItemFailures ?? true;
  const random = seededRandom(options.faultSeed ?? Date.now());
  const stopController = new AbortController();
  const stopSignal = stopController.signal;
  const stats: RunnerStats = {
    polls: 0,
    receivedMessages: 0,
    invocations: 0,
    ok: 0,
    errors: 0,
    timeouts: 0,
    deletedMessages: 0,
    deleteFailures: 0,
    inFlight: 0,
    maxInFlight: 0,
    workerStarts: 0,
    injectedCrashes: 0,
    injectedTimeouts: 0,
  };
  let faultRates: RunnerFaultRates = {
    crashRate: options.crashRate ?? 0,
    timeoutRate: options.timeoutRate ?? 0,
  };
  const identity = resolveQueueIdentity(options);
  // Surfaced by the pollers that await it; this only keeps an early rejection from being "unhandled".
  identity.catch(() => undefined);

  const handler = options.handler;
  const workerSettings: WorkerSettings = { environment: options.environment, memorySize };
  const slots: InvocationSlot[] = Array.from({ length: maximumConcurrency }, () =>
    typeof handler === 'function'
      ? createInProcessSlot(handler, timeoutMs)
      : createWorkerSlot(handler, workerSettings, timeoutMs, () => {
          stats.workerStarts += 1;
        }),
  );
  const freeSlots = [...slots];
  const slotWaiters: Array<(slot: InvocationSlot | undefined) => void> = [];
  const inFlight = new Set<Promise<void>>();

  const acquireSlot = (): Promise<InvocationSlot | undefined> => {
    if (stopSignal.aborted) return Promise.resolve(undefined);
    const slot = freeSlots.pop();
    if (slot) return Promise.resolve(slot);
    return new Promise((resolve) => slotWaiters.push(resolve));
  };
  const releaseSlot = (slot: InvocationSlot) => {
    const waiter = slotWaiters.shift();
    if (waiter) waiter(slot);
    else freeSlots.push(slot);
  };

  const pickFault = (): InjectedFault | undefined => {
    const { crashRate, timeoutRate } = faultRates;
    if (crashRate === 0 && timeoutRate === 0) return undefined;
    const draw = random();
    if (draw < crashRate) return { kind: 'crash' };
    if (draw < crashRate + timeoutRate) {
      return { kind: 'timeout', afterMs: random() * Math.min(timeoutMs, INJECTED_TIMEOUT_WINDOW_MS) };
    }
    return undefined;
  };

  const receive = async (maxMessages: number, waitTimeSeconds: number): Promise<Message[]> => {
    stats.polls += 1;
    const output = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: stopSignal },
    );
    const messages = output.Messages ?? [];
    stats.receivedMessages += messages.length;
    return messages;
  };

  /**
   * Long-polls until a first message arrives, then keeps receiving until the batch is full or the batching
   * window (counted from that first message) has passed. Errors after the first message end the batch early
   * instead of losing what was already received.
   */
  const gatherBatch = async (): Promise<Message[]> => {
    const batch: Message[] = await receive(
      Math.min(MAX_MESSAGES_PER_RECEIVE, batchSize),
      MAX_WAIT_TIME_SECONDS,
    );
    if (batch.length === 0 || batchingWindowMs === 0) return batch;
    const windowEnd = performance.now() + batchingWindowMs;
    while (batch.length < batchSize && !stopSignal.aborted) {
      const remainingMs = windowEnd - performance.now();
      if (remainingMs <= 0) break;
      try {
        const more = await receive(
          Math.min(MAX_MESSAGES_PER_RECEIVE, batchSize - batch.length),
          Math.min(MAX_WAIT_TIME_SECONDS, Math.ceil(remainingMs / 1000)),
        );
        batch.push(...more);
      } catch (error) {
        if (!isAbortError(error))
          logger.warn('ReceiveMessage failed while filling a batch', {
            functionName,
            error: serializeError(error),
          });
        break;
      }
    }
    return batch;
  };

  /** Deletes the records in chunks of ten, retrying entries SQS reports as failed on its side. */
  const deleteRecords = async (records: SQSRecord[]): Promise<{ deleted: number; failed: number }> => {
    let deleted = 0;
    let failed = 0;
    for (let start = 0; start < records.length; start += MAX_MESSAGES_PER_RECEIVE) {
      let pending = records.slice(start, start + MAX_MESSAGES_PER_RECEIVE).map((record, index) => ({
        Id: `m${index}`,
        ReceiptHandle: record.receiptHandle,
        messageId: record.messageId,
      }));
      for (let attempt = 1; attempt <= DELETE_ATTEMPTS && pending.length > 0; attempt += 1) {
        if (attempt > 1) await sleep(100 * 2 ** attempt);
        try {
          const output = await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: pending.map(({ Id, ReceiptHandle }) => ({ Id, ReceiptHandle })),
            }),
          );
          deleted += output.Successful?.length ?? 0;
          const failedEntries = output.Failed ?? [];
          // Sender faults (e.g. an expired receipt handle) will not succeed on retry.
          const permanent = failedEntries.filter((entry) => entry.SenderFault);
          if (permanent.length > 0) {
            failed += permanent.length;
            logger.warn('DeleteMessageBatch rejected entries', {
              functionName,
              codes: permanent.map((entry) => entry.Code),
            });
          }
          const retryIds = new Set(
            failedEntries.filter((entry) => !entry.SenderFault).map((entry) => entry.Id),
          );
          pending = pending.filter((entry) => retryIds.has(entry.Id));
        } catch (error) {
          if (attempt === DELETE_ATTEMPTS) {
            logger.error('DeleteMessageBatch failed', { functionName, error: serializeError(error) });
          }
        }
      }
      if (pending.length > 0) {
        failed += pending.length;
        logger.error('records processed but not deleted; they will be delivered again', {
          functionName,
          messageIds: pending.map((entry) => entry.messageId),
        });
      }
    }
    stats.deletedMessages += deleted;
    stats.deleteFailures += failed;
    return { deleted, failed };
  };

  const invokeBatch = async (slot: InvocationSlot, messages: Message[]): Promise<void> => {
    const { region, accountId, queueArn } = await identity;
    const records = messages.map((message) => toRecord(message, { region, accountId, queueArn }));
    const messageIds = records.map((record) => record.messageId);
    const awsRequestId = randomUUID();
    const startedAt = new Date();
    stats.invocations += 1;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      const { run, durationMs, coldStart, initDurationMs, injectedFault } = await slot.invoke(
        { Records: records },
        {
          functionName,
          functionVersion: '$LATEST',
          invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
          memoryLimitInMB: String(memorySize),
          awsRequestId,
          logGroupName: `/aws/lambda/${functionName}`,
        },
        pickFault(),
      );
      let outcome: InvocationOutcome = run.outcome;
      let error = run.outcome === 'ok' ? undefined : run.error;
      let failedIds = messageIds;
      if (run.outcome === 'ok') {
        const parsed = reportBatchItemFailures
          ? failedIdsFromResponse(run.response, new Set(messageIds))
          : { valid: true as const, failedIds: [] };
        if (parsed.valid) {
          failedIds = parsed.failedIds;
        } else {
          outcome = 'error';
          error = { name: 'InvalidBatchResponse', message: `${parsed.reason}; the whole batch is retried` };
        }
      }
      const failedSet = new Set(failedIds);
      const { deleted, failed } =
        outcome === 'ok'
          ? await deleteRecords(records.filter((record) => !failedSet.has(record.messageId)))
          : { deleted: 0, failed: 0 };
      if (outcome === 'ok') stats.ok += 1;
      else if (outcome === 'timeout') stats.timeouts += 1;
      else stats.errors += 1;

      const report: InvocationReport = {
        functionName,
        awsRequestId,
        startedAt,
        batchSize: records.length,
        messageIds,
        durationMs,
        coldStart,
        outcome,
        failedMessageIds: failedIds,
        deletedCount: deleted,
        deleteFailedCount: failed,
      };
      if (initDurationMs !== undefined) report.initDurationMs = initDurationMs;
      if (error) report.error = error;
      if (injectedFault) report.injectedFault = injectedFault;
      if (injectedFault === 'crash') stats.injectedCrashes += 1;
      if (injectedFault === 'timeout') stats.injectedTimeouts += 1;
      try {
        options.onInvoke?.(report);
      } catch (callbackError) {
        logger.warn('onInvoke threw', { functionName, error: serializeError(callbackError) });
      }
    } finally {
      stats.inFlight -= 1;
    }
  };

  const pollLoop = async (): Promise<void> => {
    let backoffMs = RECEIVE_BACKOFF_MIN_MS;
    while (!stopSignal.aborted) {
      const slot = await acquireSlot();
      if (!slot) return;
      let messages: Message[];
      try {
        messages = await gatherBatch();
        backoffMs = RECEIVE_BACKOFF_MIN_MS;
      } catch (error) {
        releaseSlot(slot);
        if (stopSignal.aborted) return;
        logger.warn('ReceiveMessage failed; retrying', {
          functionName,
          queueUrl,
          error: serializeError(error),
        });
        await sleep(backoffMs, undefined, { signal: stopSignal }).catch(() => undefined);
        backoffMs = Math.min(backoffMs * 2, RECEIVE_BACKOFF_MAX_MS);
        continue;
      }
      // A batch already received when stop() came is still invoked, and stop() waits for it, as for any batch
      // in flight; handing it back instead could lose it to a long poll fauxqs keeps open after the abort.
      if (messages.length === 0) {
        releaseSlot(slot);
        continue;
      }
      const invocation = invokeBatch(slot, messages)
        .catch((error: unknown) => {
          logger.error('invocation bookkeeping failed', { functionName, error: serializeError(error) });
        })
        .finally(() => {
          releaseSlot(slot);
          inFlight.delete(invocation);
        });
      inFlight.add(invocation);
    }
  };

  const pollers = Array.from({ length: Math.min(maximumConcurrency, MAX_POLLERS) }, () => pollLoop());
  let stopping: Promise<void> | undefined;

  return {
    functionName,
    stats: () => ({ ...stats }),
    faultRates: () => ({ ...faultRates }),
    setFaultRates(rates) {
      const next = { ...faultRates, ...rates };
      validateFaultRates(next);
      faultRates = next;
    },
    async handlerThreadCpuMicros() {
      const perSlot = await Promise.all(slots.map((slot) => slot.threadCpuMicros()));
      return perSlot.reduce((total, micros) => total + micros, 0);
    },
    stop() {
      stopping ??= (async () => {
        stopController.abort();
        for (const waiter of slotWaiters.splice(0)) waiter(undefined);
        await Promise.allSettled(pollers);
        await Promise.allSettled([...inFlight]);
        await Promise.allSettled(slots.map((slot) => slot.dispose()));
      })();
      return stopping;
    },
  };
}
