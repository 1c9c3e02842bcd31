/** Building and checking a rollout message from flags: pure, so every rule is tested without a queue. */
import { rolloutFingerprintOf } from '../src/domain/fingerprint.ts';
import { parseMessage } from '../src/domain/request.ts';
import { withFlagNames } from './requests.ts';

export interface RolloutFlags {
  package?: string | undefined;
  packageVersion?: string | undefined;
  /** Names and `prefix*` patterns, each flag possibly a comma-separated list. */
  domains?: string[] | undefined;
  canary?: string | undefined;
  waveSize?: string | undefined;
  maxFailures?: string | undefined;
  key?: string | undefined;
  correlationId?: string | undefined;
  requestedBy?: string | undefined;
}

const FLAG_OF_FIELD: Record<string, string> = {
  packageId: '--package',
  packageVersion: '--package-version',
  domains: '--domains',
  strategy: '--canary, --wave-size, --max-failures',
  'strategy.canary': '--canary',
  'strategy.waveSize': '--wave-size',
  'strategy.maxFailures': '--max-failures',
  idempotencyKey: '--key',
  correlationId: '--correlation-id',
  requestedBy: '--requested-by',
};

/** A flag's text as a number for the schema to judge; blank is not 0 but not a number at all. */
function countOf(text: string): number {
  return text.trim() === '' ? Number.NaN : Number(text);
}

/** The rollout message the flags describe; unset flags are left out so the service applies its defaults. */
export function rolloutFromFlags(flags: RolloutFlags): Record<string, unknown> {
  const message: Record<string, unknown> = { action: 'rollout' };
  if (flags.package !== undefined) message.packageId = flags.package;
  if (flags.packageVersion !== undefined) message.packageVersion = flags.packageVersion;
  message.domains = (flags.domains ?? []).flatMap((entry) =>
    entry
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  );
  const strategy: Record<string, number> = {};
  if (flags.canary !== undefined) strategy.canary = countOf(flags.canary);
  if (flags.waveSize !== undefined) strategy.waveSize = countOf(flags.waveSize);
  if (flags.maxFailures !== undefined) strategy.maxFailures = countOf(flags.maxFailures);
  if (Object.keys(strategy).length > 0) message.strategy = strategy;
  if (flags.key !== undefined) message.idempotencyKey = flags.key;
  if (flags.correlationId !== undefined) message.correlationId = flags.correlationId;
  if (flags.requestedBy !== undefined) message.requestedBy = flags.requestedBy;
  return message;
}

export type CheckedRollout =
  | { ok: true; body: string; fingerprint: string; declaredKey: string | undefined }
  | { ok: false; problem: string };

/**
 * Checks the message with the service's own parser, so the CLI refuses exactly what the service would
 * dead-letter as `InvalidRequest`, naming the flag of each field. The fingerprint tells this rollout's record
 * from another one under the same key.
 */
export function checkRollout(message: Record<string, unknown>): CheckedRollout {
  const body = JSON.stringify(message);
  const parsed = parseMessage(body, 'not-yet-sent');
  if (!parsed.ok) return { ok: false, problem: withFlagNames(parsed.message, FLAG_OF_FIELD) };
  if (parsed.kind !== 'rollout') return { ok: false, problem: 'action: must be "rollout"' };
  const declaredKey = typeof message.idempotencyKey === 'string' ? message.idempotencyKey : undefined;
  return { ok: true, body, fingerprint: rolloutFingerprintOf(parsed.rollout), declaredKey };
}
