/**
 * Reading the service's Powertools idempotency records for one request key. The record ids must match what
 * Powertools writes, so the computation below mirrors BasePersistenceLayer#getHashedIdempotencyKey.
 */
import { createHash } from 'node:crypto';

/**
 * The idempotent steps of a request, in order, by the `keyPrefix` each passes to makeIdempotent: the request
 * itself (src/service/associate.ts) and its terminal event, which either function announces
 * (src/service/terminal.ts). Both key on the request's `idempotencyKey`.
 */
export const IDEMPOTENCY_STAGES = [
  { keyPrefix: 'associate-package', stage: 'associate' },
  { keyPrefix: 'terminal-event', stage: 'terminal' },
] as const;

export type IdempotencyStage = (typeof IDEMPOTENCY_STAGES)[number]['stage'];

/**
 * `<keyPrefix>#<base64 md5 of the JSON of the key>`: Powertools hashes `JSON.stringify(deepSort(value))` of
 * what `eventKeyJmesPath` selects, here the key string itself (deepSort leaves strings as they are), with the
 * default `hashFunction` md5 and a base64 digest.
 */
export function idempotencyRecordId(keyPrefix: string, idempotencyKey: string): string {
  const hash = createHash('md5').update(JSON.stringify(idempotencyKey)).digest('base64');
  return `${keyPrefix}#${hash}`;
}

export type RecordState =
  /** The step runs now (or its invocation died and the lock has not expired yet). */
  | 'in-progress'
  /** The step's invocation died holding the lock: the next delivery of the request runs the step again. */
  | 'in-progress-lock-expired'
  | 'completed'
  /** Past `expiration`: a request with this key now would run the step again. */
  | 'expired';

export interface IdempotencyRecordView {
  stage: IdempotencyStage;
  recordId: string;
  state: RecordState;
  /** Powertools' own status attribute, as stored. */
  status: string;
  expiresAt: Date | undefined;
  inProgressUntil: Date | undefined;
  /** What the step returned (for the associate step `{ outcome, reason? }`), when completed. */
  outcome: unknown;
}

function epochSeconds(value: unknown): Date | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value * 1000) : undefined;
}

function epochMillis(value: unknown): Date | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value) : undefined;
}

/**
 * Interprets an item as DynamoDBPersistenceLayer stores it (attributes `status`, `expiration` in seconds,
 * `in_progress_expiration` in milliseconds, `data`), with its default attribute names.
 */
export function viewRecord(
  stage: IdempotencyStage,
  recordId: string,
  item: Record<string, unknown>,
  now: Date,
): IdempotencyRecordView {
  const status = typeof item.status === 'string' ? item.status : 'UNKNOWN';
  const expiresAt = epochSeconds(item.expiration);
  const inProgressUntil = epochMillis(item.in_progress_expiration);
  let state: RecordState;
  if (expiresAt !== undefined && expiresAt.getTime() < now.getTime()) {
    state = 'expired';
  } else if (status === 'INPROGRESS') {
    state =
      inProgressUntil !== undefined && inProgressUntil.getTime() < now.getTime()
        ? 'in-progress-lock-expired'
        : 'in-progress';
  } else {
    state = 'completed';
  }
  return { stage, recordId, state, status, expiresAt, inProgressUntil, outcome: item.data };
}
