import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventBridgeApiError } from './errors.ts';

export const JSON_11 = 'application/x-amz-json-1.1';
// Well above the PutEvents limit, so oversized requests still get AWS's ValidationException,
// while a runaway client cannot make the emulator buffer without bound.
const MAX_BODY_BYTES = 8 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += buffer.length;
    if (length > MAX_BODY_BYTES) {
      throw new EventBridgeApiError('RequestEntityTooLargeException', 'Request body is too large.', 413);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const text = (await readBody(req)).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new EventBridgeApiError('SerializationException', 'The request body is not valid JSON.');
  }
}

export function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: unknown,
): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(payload)) });
  res.end(payload);
}

export function sendApiError(res: ServerResponse, error: EventBridgeApiError, requestId: string): void {
  send(
    res,
    error.statusCode,
    { 'content-type': JSON_11, 'x-amzn-requestid': requestId, 'x-amzn-errortype': error.code },
    { __type: error.code, message: error.message },
  );
}

const TARGET_PREFIX = 'AWSEvents.';

function unknownOperation(what: string): EventBridgeApiError {
  return new EventBridgeApiError(
    'UnknownOperationException',
    `The local EventBridge emulator does not support ${what}.`,
  );
}

/** Runs one operation by name, as `AWSEvents.<name>` names it on the wire. */
export type OperationCall = (operation: string, input: unknown) => Promise<unknown>;

/** Dispatches operations by name; an unknown name is AWS's UnknownOperationException. */
export function operationCaller(
  operations: Record<string, (input: unknown) => Promise<unknown>>,
): OperationCall {
  return async (name, input) => {
    const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
    if (operation === undefined) throw unknownOperation(`${TARGET_PREFIX}${name}`);
    return operation(input);
  };
}

/**
 * Serves one AWS JSON 1.1 request (`POST /` with `X-Amz-Target: AWSEvents.<Op>`): the answer, or the error
 * in AWS's shape; anything else thrown is an InternalException (500).
 */
export async function serveApi(
  req: IncomingMessage,
  res: ServerResponse,
  call: OperationCall,
  beforeAnswer: () => Promise<void>,
): Promise<void> {
  const requestId = randomUUID();
  try {
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) {
      throw unknownOperation(typeof target === 'string' ? target : 'this request');
    }
    const body = await readJsonBody(req);
    await beforeAnswer();
    const output = await call(target.slice(TARGET_PREFIX.length), body);
    send(res, 200, { 'content-type': JSON_11, 'x-amzn-requestid': requestId }, output);
  } catch (error) {
    const apiError =
      error instanceof EventBridgeApiError
        ? error
        : new EventBridgeApiError(
            'InternalException',
            `The local EventBridge emulator failed: ${error instanceof Error ? error.message : String(error)}`,
            500,
          );
    sendApiError(res, apiError, requestId);
  }
}
