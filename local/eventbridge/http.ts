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
