/**
 * A rollout message (docs/DESIGN.md, "Rollouts"): acceptance resolves the domains once and starts the canary
 * wave in the rollout's record; its children's outcomes advance it (rollout-advance.ts).
 */
import type { RejectionHint } from '../domain/events.ts';
import { rolloutFingerprintOf } from '../domain/fingerprint.ts';
import { hasPending, isExpired } from '../domain/ledger.ts';
import { acceptRollout, resolveDomains, rolloutRecordId } from '../domain/rollout.ts';
import type { RolloutRequest } from '../domain/rollout-request.ts';
import { runStep } from './ledger-steps.ts';
import { flushOutbox } from './outbox.ts';
import { type Delivery, reject } from './rejection.ts';
import { audit, countMetric, type Runtime, TransientFailure, transitionContext } from './runtime.ts';

/** Before its decision a rollout's record outlives any number of waves of the longest operations. */
const ROLLOUT_LIFETIME_SECONDS = 30 * 86_400;

export async function handleRollout(delivery: Delivery, rollout: RolloutRequest, hint: RejectionHint) {
  const { deps, record } = delivery;
  const fingerprint = rolloutFingerprintOf(rollout);
  const current = await deps.ledger.get(rolloutRecordId(rollout.idempotencyKey));
  const reusable = current !== undefined && isExpired(current, deps.now()) && !hasPending(current);
  if (current !== undefined && !reusable) {
    if (current.kind !== 'rollout' || current.fingerprint !== fingerprint) {
      const message = `idempotencyKey: ${rollout.idempotencyKey} was already used for another request`;
      await reject(delivery, hint, 'IdempotencyKeyConflict', message);
      return;
    }
    if (hasPending(current)) await flushOutbox(delivery.outbox, current);
    else audit(deps, 'duplicate', hint, record, { reason: `rollout already ${current.state}` });
    return;
  }
  const existing = await readOrRetry('ListDomainNames', () => deps.associations.listDomainNames());
  const resolution = resolveDomains(rollout.domains, existing, (name) => deps.config.allowList.allows(name));
  if (!resolution.ok) {
    await reject(delivery, hint, resolution.code, resolution.message);
    return;
  }
  const next = acceptRollout(transitionContext(deps), {
    rollout,
    fingerprint,
    domains: resolution.domains,
    packageVersion: await targetVersion(deps, rollout),
    lifetimeSeconds: ROLLOUT_LIFETIME_SECONDS,
  });
  const result = await runStep(deps.stepHook, 'accept-rollout', () =>
    deps.ledger.write(next, current, delivery.writeId()),
  );
  if (!result.written) throw new TransientFailure('LedgerRace', 'the rollout was accepted by another copy');
  audit(deps, 'started', hint, record, { reason: 'RolloutStarted', message: `${next.waves.length} waves` });
  countMetric(deps, 'RolloutStarted');
  await flushOutbox(delivery.outbox, result.record);
}

async function readOrRetry<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new TransientFailure(`${what}Failed`, (error as Error).message);
  }
}

/**
 * The version every child must end at: the one named, or the package's available one now. A package being
 * copied or validated is waited for; one that cannot be read as available is left to the children to fail.
 */
async function targetVersion(deps: Runtime, rollout: RolloutRequest): Promise<string | undefined> {
  if (rollout.packageVersion !== undefined) return rollout.packageVersion;
  const pkg = await readOrRetry('DescribePackages', () =>
    deps.associations.describePackage(rollout.packageId),
  );
  if (pkg?.status === 'COPYING' || pkg?.status === 'VALIDATING') {
    throw new TransientFailure('PackageNotReady', `${rollout.packageId} is ${pkg.status}`);
  }
  return pkg?.status === 'AVAILABLE' ? pkg.availableVersion : undefined;
}
