/** Building, checking and batching request messages: pure, so every rule is tested without a queue. */
import { type AssociationRequestMessage, parseRequest } from '../src/domain/request.ts';

export interface RequestFlags {
  domain?: string | undefined;
  package?: string | undefined;
  /** Ask for a dissociation (`action: "dissociate"`); without it the service's default action, associate. */
  dissociate?: boolean | undefined;
  packageVersion?: string | undefined;
  prerequisite?: string[] | undefined;
  idempotencyKey?: string | undefined;
  correlationId?: string | undefined;
  requestedBy?: string | undefined;
}

/** The request message the flags describe; unset flags are left out so the service applies its defaults. */
export function requestFromFlags(flags: RequestFlags): Record<string, unknown> {
  const message: Record<string, unknown> = {};
  if (flags.dissociate === true) message.action = 'dissociate';
  if (flags.domain !== undefined) message.domainName = flags.domain;
  if (flags.package !== undefined) message.packageId = flags.package;
  if (flags.packageVersion !== undefined) message.packageVersion = flags.packageVersion;
  if (flags.prerequisite !== undefined && flags.prerequisite.length > 0) {
    message.prerequisitePackageIds = flags.prerequisite;
  }
  if (flags.idempotencyKey !== undefined) message.idempotencyKey = flags.idempotencyKey;
  if (flags.correlationId !== undefined) message.correlationId = flags.correlationId;
  if (flags.requestedBy !== undefined) message.requestedBy = flags.requestedBy;
  return message;
}

export type CheckedRequest = { ok: true } | { ok: false; problem: string };

/**
 * Checks a body with the service's own parser, so the CLI refuses exactly what the service would dead-letter
 * as `InvalidRequest`, with the same "field: rule" message.
 */
export function checkRequestBody(body: string): CheckedRequest {
  const parsed = parseRequest(body, 'not-yet-sent');
  return parsed.ok ? { ok: true } : { ok: false, problem: parsed.message };
}

/** The body's own `idempotencyKey`, if it names one; otherwise the service uses the SQS message id. */
export function declaredIdempotencyKey(body: string): string | undefined {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== 'object' || value === null) return undefined;
    const { idempotencyKey } = value as Partial<Record<keyof AssociationRequestMessage, unknown>>;
    return typeof idempotencyKey === 'string' ? idempotencyKey : undefined;
  } catch {
    return undefined;
  }
}

const FLAG_OF_FIELD: Record<string, string> = {
  action: '--dissociate',
  domainName: '--domain',
  packageId: '--package',
  packageVersion: '--package-version',
  prerequisitePackageIds: '--prerequisite',
  idempotencyKey: '--idempotency-key',
  correlationId: '--correlation-id',
  requestedBy: '--requested-by',
};

/**
 * "domainName: rule" → "domainName (--domain): rule", for messages built from flags; `flags` maps each field
 * path (`strategy.canary`, array indexes left out) to its flag.
 */
export function withFlagNames(problem: string, flags: Record<string, string> = FLAG_OF_FIELD): string {
  return problem.replace(
    /(^|; )([A-Za-z]+(?:\.[A-Za-z]+)*)((?:\.\d+)?):/g,
    (match, start: string, field: string, index: string) => {
      const flag = flags[field];
      return flag === undefined ? match : `${start}${field}${index} (${flag}):`;
    },
  );
}

export interface JsonLine {
  /** 1-based line number in the file, for messages. */
  line: number;
  body: string;
}

/** The non-blank lines of a JSON-lines file, each kept as written (only the line ending removed). */
export function readJsonLines(text: string): JsonLine[] {
  const lines: JsonLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const body = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (body.trim() !== '') lines.push({ line: index + 1, body });
  });
  return lines;
}

/**
 * SendMessageBatch takes at most 10 entries and 256 KiB of bodies in total. (AWS raised the per-message limit
 * to 1 MiB in 2025; 256 KiB stays accepted everywhere, emulators included, at the cost of more batches.)
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
 */
export const SEND_BATCH_LIMITS = { maxEntries: 10, maxBytes: 256 * 1024 } as const;

/** Groups entries in order into batches within the limits; an entry too big for any batch goes alone. */
export function planBatches<T extends { body: string }>(
  entries: readonly T[],
  limits: { maxEntries: number; maxBytes: number } = SEND_BATCH_LIMITS,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    const bytes = Buffer.byteLength(entry.body, 'utf8');
    if (
      current.length > 0 &&
      (current.length >= limits.maxEntries || currentBytes + bytes > limits.maxBytes)
    ) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
