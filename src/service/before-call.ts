/**
 * The steps between holding a request and calling AWS (docs/DESIGN.md, "The package lifecycle"): `ready`
 * (is the package usable at the target version, is the domain free of a change in progress), `lock` (the
 * domain lock, so that one domain never runs two package operations at once) and `pin` (the target and the
 * call's time made durable before the call).
 */
import { classifyError } from '../domain/classify.ts';
import {
  type AbandonedAfter,
  domainLockId,
  isHeldBy,
  isLiveHolder,
  lockedBy,
} from '../domain/domain-lock.ts';
import type { PackageDetails } from '../domain/events.ts';
import { type LedgerRecord, type RequestRecord, requestRecordId } from '../domain/ledger.ts';
import { type PackageState, packageReadiness, type Readiness } from '../domain/readiness.ts';
import { isAtTarget } from '../domain/tracking.ts';
import { actionOf } from '../domain/transitions.ts';
import type { Plan } from './holder-plans.ts';
import { runStep } from './ledger-steps.ts';
import type { Delivery } from './rejection.ts';
import { describeError, type Runtime, TransientFailure } from './runtime.ts';

const wait = (code: string, message: string): Plan => ({ kind: 'retry', code, message, uncertain: false });

const failed = (code: string, message: string): Plan => ({
  kind: 'decide',
  decision: { outcome: 'failed', reason: { code, message, retryable: false }, details: {}, deadLetter: true },
});

/** A read before the call failed: nothing was operated on, so nothing is uncertain. */
function unreadable(error: unknown): Plan {
  const decision = classifyError(error);
  if (decision.kind === 'permanent') return failed(decision.code, decision.message);
  const { code, message } = describeError(error);
  return wait(decision.kind === 'transient' ? decision.code : code, message);
}

/**
 * `ready` for the package: pins the target version of an association that named none (in memory; `pin` makes
 * it durable), or plans its end when the target can never be reached. Dissociations need nothing of it.
 */
export async function packageReady(delivery: Delivery, held: RequestRecord): Promise<RequestRecord | Plan> {
  if (actionOf(held.request) === 'dissociate') return held;
  const { associations, stepHook } = delivery.deps;
  const { packageId } = held.request;
  const target = held.targetVersion ?? held.request.packageVersion;
  return runStep(stepHook, 'ready', async () => {
    let pkg: PackageState | undefined;
    let readiness: Readiness;
    try {
      pkg = await associations.describePackage(packageId);
      readiness = packageReadiness(packageId, pkg, target);
      if (readiness.kind === 'needs-history') {
        readiness = packageReadiness(packageId, pkg, target, await associations.versionHistory(packageId));
      }
    } catch (error) {
      return unreadable(error);
    }
    if (readiness.kind === 'ready') {
      const details = { ...held.details, packageType: pkg?.packageType, packageName: pkg?.packageName };
      return { ...held, targetVersion: readiness.targetVersion, details };
    }
    if (readiness.kind === 'wait') return wait('PackageNotReady', readiness.message);
    if (readiness.kind === 'needs-history') throw new Error('the version history was read');
    return failed(readiness.code, readiness.message);
  });
}

/** `ready` for the domain: a blue/green deployment in progress is waited for, whatever the action. */
export async function domainReady(delivery: Delivery, held: RequestRecord): Promise<Plan | undefined> {
  const { associations, stepHook } = delivery.deps;
  const { domainName } = held.request;
  return runStep(stepHook, 'ready', async () => {
    try {
      const processing = await associations.isProcessing(domainName);
      return processing ? wait('DomainProcessing', `${domainName} is processing a change`) : undefined;
    } catch (error) {
      return unreadable(error);
    }
  });
}

function abandonedAfter(deps: Runtime): AbandonedAfter {
  const { retryBudgetSeconds, backoff, tracking } = deps.config;
  const longestDelay = Math.max(tracking.maxDelaySeconds, tracking.plugin.maxDelaySeconds);
  return {
    acceptedBefore: deps.now().getTime() - (retryBudgetSeconds + 2 * backoff.maxSeconds) * 1000,
    trackingSlackMs: 2 * longestDelay * 1000,
  };
}

/** The domain lock as read, and the wait it means when it names another request that still runs. */
export interface LockRead {
  current: LedgerRecord | undefined;
  busy: Plan | undefined;
}

/**
 * The lock, read before `ready` too: a request whose domain runs another one waits (`DomainBusy`) without asking
 * AWS anything, so a queue of requests for one domain spends the configuration API's rate only on the request
 * that runs. `lock` starts from that read; its write is conditional on the version read, so a lock taken
 * meanwhile makes it read again.
 */
export async function readLock(delivery: Delivery, held: RequestRecord): Promise<LockRead> {
  const { ledger, now } = delivery.deps;
  const { domainName, idempotencyKey } = held.request;
  const current = await ledger.get(domainLockId(domainName));
  const other = current?.kind === 'domain-lock' ? current.holder : undefined;
  if (other === undefined || isHeldBy(current, { idempotencyKey, incarnation: held.incarnation })) {
    return { current, busy: undefined };
  }
  const otherRecord = await ledger.get(requestRecordId(other.idempotencyKey));
  const live = isLiveHolder(otherRecord, other, now(), abandonedAfter(delivery.deps));
  const message = `${domainName} is running ${other.packageId} for ${other.idempotencyKey}`;
  return { current, busy: live ? wait('DomainBusy', message) : undefined };
}

/**
 * `lock`: the domain lock for this request. One naming a live request is waited for (`DomainBusy`). Before a
 * free one is taken, the listing must show nothing running on the domain (a holder may have been decided, say
 * `TimedOut`, while AWS went on; an operation may have been started outside the service), and a package
 * already at its end state is decided without any operation.
 */
export async function lockDomain(
  delivery: Delivery,
  held: RequestRecord,
  peeked?: LockRead,
): Promise<Plan | undefined> {
  const { ledger, now, stepHook } = delivery.deps;
  const { domainName, packageId, idempotencyKey } = held.request;
  const holder = { idempotencyKey, incarnation: held.incarnation };
  for (let round = 0; round < 3; round += 1) {
    const { current, busy } = round === 0 && peeked !== undefined ? peeked : await readLock(delivery, held);
    if (busy !== undefined) return busy;
    if (isHeldBy(current, holder)) return undefined;
    const listed = await listingBeforeLock(delivery, held);
    if (listed !== undefined) return listed;
    const next = lockedBy(current, domainName, { ...holder, packageId }, now());
    const result = await runStep(stepHook, 'lock', () => ledger.write(next, current, delivery.writeId()));
    if (result.written) return undefined;
  }
  throw new TransientFailure('LedgerRace', `the lock of ${domainName} kept changing`);
}

const RUNNING: ReadonlySet<string | undefined> = new Set(['ASSOCIATING', 'DISSOCIATING']);

async function listingBeforeLock(delivery: Delivery, held: RequestRecord): Promise<Plan | undefined> {
  const { domainName, packageId } = held.request;
  let listed: (PackageDetails & { packageId: string })[];
  try {
    listed = await delivery.deps.associations.list(domainName);
  } catch (error) {
    return unreadable(error);
  }
  const running = listed.find((details) => RUNNING.has(details.status));
  if (running !== undefined) {
    return wait('DomainBusy', `${domainName} is running ${running.packageId} (${running.status})`);
  }
  const ours = listed.find((details) => details.packageId === packageId);
  const { packageId: _id, ...details } = ours ?? { packageId };
  const done =
    actionOf(held.request) === 'dissociate' ? ours === undefined : isAtTarget(ours, held.targetVersion);
  return done ? { kind: 'decide', decision: { outcome: 'succeeded', details } } : undefined;
}

/** `pin`: the target version, the package type and the call's time, durable before the call. */
export async function pinCall(delivery: Delivery, held: RequestRecord): Promise<RequestRecord> {
  const { ledger, now, stepHook } = delivery.deps;
  const next = { ...held, calledAt: now().getTime() };
  const result = await runStep(stepHook, 'pin', () => ledger.write(next, held, delivery.writeId()));
  if (!result.written) throw new TransientFailure('LedgerRace', 'the request moved on before its call');
  return result.record;
}
