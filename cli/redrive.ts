/**
 * `dlq redrive --as-new`: a dead letter sent back as a new request, under a key derived from its old one. A plain
 * redrive of a decided request is a silent duplicate; this one runs again, once, however often it is retried.
 */
import { createHash } from 'node:crypto';

/** The service's rule for keys (src/domain/request.ts): 1 to 128 of `A-Z a-z 0-9 . _ : / -`. */
const MAX_KEY_LENGTH = 128;
const REDRIVE_SUFFIX = /:redrive-(\d+)$/;

/**
 * `<key>:redrive-1`, and `<base>:redrive-<n+1>` for a key that already is a redrive's, so a request redriven
 * again gets the next number. A key too long for the suffix keeps its start and a hash of the whole base, so
 * two long keys with the same start still get different keys.
 */
export function redriveKey(oldKey: string): string {
  const match = REDRIVE_SUFFIX.exec(oldKey);
  const base = match === null ? oldKey : oldKey.slice(0, match.index);
  const suffix = `:redrive-${match === null ? 1 : Number(match[1]) + 1}`;
  if (base.length + suffix.length <= MAX_KEY_LENGTH) return `${base}${suffix}`;
  const hash = `.${createHash('sha256').update(base).digest('hex').slice(0, 16)}`;
  return `${base.slice(0, MAX_KEY_LENGTH - hash.length - suffix.length)}${hash}${suffix}`;
}

export type AsNew =
  | { ok: true; body: string; oldKey: string; newKey: string }
  | { ok: false; problem: string };

/**
 * The body with the new key, and the correlation id the first run had (its own, else its key), so the new run's
 * events and logs still join the old ones. `defaultKey` is the key the service gave a body naming none: the
 * first message's id.
 */
export function asNewRequest(body: string, defaultKey: string): AsNew {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, problem: 'not JSON, so not a request to give a new key' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'not a JSON object, so not a request to give a new key' };
  }
  const request = value as Record<string, unknown>;
  const oldKey = typeof request.idempotencyKey === 'string' ? request.idempotencyKey : defaultKey;
  const newKey = redriveKey(oldKey);
  const correlationId = request.correlationId === undefined ? oldKey : request.correlationId;
  return {
    ok: true,
    body: JSON.stringify({ ...request, idempotencyKey: newKey, correlationId }),
    oldKey,
    newKey,
  };
}
