import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MODELLED_ERROR_STATUS } from './model.ts';

/** Bodies of this API are small JSON documents; anything larger is a client bug, not a payload. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * An error answered the way restJson1 services answer: the status code, the error name in
 * `x-amzn-errortype` and `{"message": ...}` as the body. The SDK maps the name to its exception class.
 */
export class EmulatorApiError extends Error {
  override readonly name = 'EmulatorApiError';
  readonly errorType: string;
  readonly statusCode: number;
  /** Members the body carries beside `message`, as some AWS errors do (`__type`). */
  readonly bodyFields: Readonly<Record<string, string>>;

  constructor(
    errorType: string,
    message: string,
    statusCode?: number,
    bodyFields: Record<string, string> = {},
  ) {
    super(message);
    this.errorType = errorType;
    this.statusCode = statusCode ?? MODELLED_ERROR_STATUS[errorType] ?? 500;
    this.bodyFields = bodyFields;
  }
}

export const validationError = (message: string): EmulatorApiError =>
  new EmulatorApiError('ValidationException', message);

export const notFoundError = (message: string): EmulatorApiError =>
  new EmulatorApiError('ResourceNotFoundException', message);

export const conflictError = (message: string): EmulatorApiError =>
  new EmulatorApiError('ConflictException', message);

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      throw new EmulatorApiError('RequestEntityTooLargeException', 'Request body is too large', 413);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON object body; an empty body is an empty object, as the SDK omits bodies with no members. */
export function parseJsonObject(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new EmulatorApiError('SerializationException', 'Request body is not valid JSON', 400);
  }
  if (!isRecord(parsed)) {
    throw new EmulatorApiError('SerializationException', 'Request body must be a JSON object', 400);
  }
  return parsed;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function sendJson(res: ServerResponse, statusCode: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(body);
}

export function sendError(res: ServerResponse, error: EmulatorApiError): void {
  const body = JSON.stringify({ ...error.bodyFields, message: error.message });
  res.writeHead(error.statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': error.errorType,
  });
  res.end(body);
}
