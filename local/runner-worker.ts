/**
 * One Lambda execution environment for the local queue runner: a worker thread that imports the handler
 * module once (the cold start) and then runs one invocation at a time. The runner terminates the thread when
 * an invocation times out, which really stops the handler, as Lambda does.
 *
 * The same file exports the invocation logic so that the runner can also call an in-process handler with
 * identical context and response semantics.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Context, SQSEvent } from 'aws-lambda';

/** The serialisable part of the Lambda context; the functions are rebuilt on the invoking side. */
export interface LambdaContextInit {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  deadlineEpochMs: number;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export interface RunnerWorkerData {
  kind: 'queue-runner-worker';
  moduleUrl: string;
  exportName: string;
}

export type ParentToWorker = {
  type: 'invoke';
  invocationId: number;
  event: SQSEvent;
  context: LambdaContextInit;
};

export type WorkerToParent =
  | { type: 'ready' }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; invocationId: number; response: unknown }
  | { type: 'error'; invocationId: number; error: SerializedError };

export type BatchHandler = (event: SQSEvent, context: Context) => unknown;

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    return error.stack === undefined
      ? { name: error.name, message: error.message }
      : { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: 'Error', message: describeThrown(error) };
}

/** Handlers can throw or fail with anything, including values JSON cannot encode (BigInt, cycles). */
function describeThrown(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(describeThrown(value));
}

/**
 * Runs the handler once with a real-shaped context. Settles when the returned promise settles or when the
 * legacy `context.succeed/fail/done` is called, whichever comes first; the response goes through a JSON round
 * trip because Lambda serialises it (Dates become strings, functions disappear, cycles fail).
 */
export async function invokeHandler(
  handler: BatchHandler,
  event: SQSEvent,
  init: LambdaContextInit,
): Promise<unknown> {
  const { deadlineEpochMs, ...fields } = init;
  let settleViaContext: { resolve: (value: unknown) => void; reject: (error: Error) => void } | undefined;
  const viaContext = new Promise<unknown>((resolve, reject) => {
    settleViaContext = { resolve, reject };
  });
  const context: Context = {
    ...fields,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadlineEpochMs - Date.now()),
    done: (error?: Error, result?: unknown) => {
      if (error) settleViaContext?.reject(toError(error));
      else settleViaContext?.resolve(result);
    },
    fail: (error: Error | string) => settleViaContext?.reject(toError(error)),
    succeed: (result: unknown) => settleViaContext?.resolve(result),
  };
  const viaReturn = (async () => handler(event, context))();
  // race() subscribes to both, so the loser rejecting later is not an unhandled rejection.
  const response = await Promise.race([viaReturn, viaContext]);
  const json = JSON.stringify(response);
  return json === undefined ? undefined : JSON.parse(json);
}

function isRunnerWorkerData(value: unknown): value is RunnerWorkerData {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'queue-runner-worker'
  );
}

async function runWorker(port: NonNullable<typeof parentPort>, data: RunnerWorkerData): Promise<void> {
  const send = (message: WorkerToParent) => port.postMessage(message);
  let handler: BatchHandler;
  try {
    const handlerModule: Record<string, unknown> = await import(data.moduleUrl);
    const candidate = handlerModule[data.exportName];
    if (typeof candidate !== 'function') {
      send({
        type: 'init-error',
        error: {
          name: 'Runtime.HandlerNotFound',
          message: `${data.moduleUrl} does not export a function named ${data.exportName}`,
        },
      });
      return;
    }
    handler = candidate as BatchHandler;
  } catch (error) {
    send({ type: 'init-error', error: { ...serializeError(error), name: 'Runtime.ImportModuleError' } });
    return;
  }
  port.on('message', async (message: ParentToWorker) => {
    try {
      const response = await invokeHandler(handler, message.event, message.context);
      send({ type: 'result', invocationId: message.invocationId, response });
    } catch (error) {
      send({ type: 'error', invocationId: message.invocationId, error: serializeError(error) });
    }
  });
  send({ type: 'ready' });
}

// Only a thread started by the runner serves invocations; importing this file elsewhere just gets the exports.
if (!isMainThread && parentPort && isRunnerWorkerData(workerData)) {
  await runWorker(parentPort, workerData);
}
