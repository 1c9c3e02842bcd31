/**
 * The JSON plumbing of the `/_emulator/<part>/` admin routes of the parts that have no emulator module of their
 * own (DynamoDB, the Lambda runners): bodies are JSON objects, a bad one is a 400 whose message names the field.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';

const MAX_ADMIN_BODY_BYTES = 64 * 1024;

/** A bad admin request: answered 400 with `{"message": ...}`. */
export class AdminInputError extends Error {
  override readonly name = 'AdminInputError';
}

export async function readAdminBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_ADMIN_BODY_BYTES) throw new AdminInputError('The body is too large for an admin route');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON body against `schema`; the error message names each offending field. */
export function parseAdminBody<T>(schema: z.ZodType<T>, raw: string): T {
  let parsed: unknown;
  try {
    parsed = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw new AdminInputError('The body is not valid JSON');
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new AdminInputError(z.prettifyError(result.error));
  return result.data;
}

export function sendAdminJson(res: ServerResponse, statusCode: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

export type AdminRoute = (req: IncomingMessage, res: ServerResponse, rawBody: string) => void;

/**
 * Serves `routes` (keyed `"<METHOD> <path below prefix>"`) under `prefix`: 404 for any other, 400 for an
 * AdminInputError.
 */
export function adminHandler(prefix: string, routes: Readonly<Record<string, AdminRoute>>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://admin.local').pathname;
    const route = `${req.method ?? 'GET'} ${path.startsWith(prefix) ? path.slice(prefix.length) : path}`;
    try {
      const rawBody = await readAdminBody(req);
      const serve = Object.hasOwn(routes, route) ? routes[route] : undefined;
      if (serve === undefined) {
        sendAdminJson(res, 404, { message: `No emulator admin route ${route} under ${prefix}` });
        return;
      }
      serve(req, res, rawBody);
    } catch (error) {
      if (error instanceof AdminInputError) {
        sendAdminJson(res, 400, { message: error.message });
        return;
      }
      throw error;
    }
  };
}
