/**
 * The steps between holding a request and calling AWS (docs/DESIGN.md, "The package lifecycle"): `ready`
 * (is the package usable at the target version, is the domain free of a change in progress), `lock` (the
 * domain lock, so that one domain never runs two package operations at once) and `pin` (the target and the
 * call's time made durable before the call).
 */

import type { ListedPackage } from '../adapters/opensearch.ts';
import { queueUrlFromArn } from '../adapters/queues.ts';
import { classifyError } from '../domain/classify.ts';
import {
  type AbandonedAfter,
  domainLockId,
  isHeldBy,
  isLiveHolder,
  lockedBy,
  lockMembers,
  withWaiter,
} from '../domain/domain-lock.ts';
import { type LedgerRecord, type RequestRecord, requestRecordId } from '../domain/ledger.ts';
import { type PackageState, packageReadiness, type Readiness } from '../domain/readiness.ts';
import { isAtTarget } from '../domain/tracking.ts';
import { actionOf } from '../domain/transitions.ts';
import type { Plan, RetryPlan } from './holder-plans.ts';
import { runStep } from './ledger-steps.ts';
import type { Delivery } from './rejection.ts';
import { describeError, type Runtime, TransientFailure } from './runtime.ts';

export const wait = (code: string, message: string): RetryPlan => ({
  kind: 'retry',
  code,
  message,
  uncertain: false,
});

const failed = (code: string, message: string): Plan => ({
  kind: 'decide',
  decision: { outcome: 'failed', reason: { code, message, retryable: false }, details: {}, deadLetter: true },
});

/** A read before the call failed: nothing was operated on, so nothing is uncertain. */
export function unreadable(error: unknown): Plan {
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

/** The domain's lock as it stands, and whether a live request other than this one holds it. */
export interface LockState {
  current: LedgerRecord | undefined;
  ours: boolean;
  busy: RetryPlan | undefined;
}

/** `lock`, read only: whether a live request other than this one holds the domain (then `busy` is the wait). */
export async function lockState(delivery: Delivery, held: RequestRecord): Promise<LockState> {
  const { ledger, now } = delivery.deps;
  const { domainName, idempotencyKey } = held.request;
  const current = await ledger.get(domainLockId(domainName));
  if (isHeldBy(current, { idempotencyKey, incarnation: held.incarnation })) {
    return { current, ours: true, busy: undefined };
  }
  // A group's lock is as live as its most live member: the holder first, which is nearly always enough.
  for (const other of lockMembers(current)) {
    const otherRecord = await ledger.get(requestRecordId(other.idempotencyKey));
    if (isLiveHolder(otherRecord, other, now(), abandonedAfter(delivery.deps))) {
      const busy = wait(
        'DomainBusy',
        `${domainName} is running ${other.packageId} for ${other.idempotencyKey}`,
      );
      return { current, ours: false, busy };
    }
  }
  return { current, ours: false, busy: undefined };
}

/** A lock that changed hands while a waiter listed itself may be free: come back at once, not after a backoff. */
const LOCK_CHANGED_DELAY_SECONDS = 1;
const WAIT_ROUNDS = 3;

/**
 * `wait`: a domain held by a live request is waited for. Once the message is deferred, the request lists itself
 * in the lock, so that the `unlock` that frees the domain wakes it (docs/DESIGN.md, "The waiters are woken at `unlock`");
 * the backoff stays the guarantee.
 */
export function waitForDomain(delivery: Delivery, held: RequestRecord, lock: LockState): RetryPlan {
  const { busy, current } = lock;
  if (busy === undefined) throw new Error('only a busy domain is waited for');
  return { ...busy, afterDefer: (delaySeconds) => listAsWaiter(delivery, held, current, delaySeconds) };
}

async function listAsWaiter(
  delivery: Delivery,
  held: RequestRecord,
  read: LedgerRecord | undefined,
  delaySeconds: number,
): Promise<void> {
  const { deps, record } = delivery;
  // Listed while the lock still names one of the requests waited for (a group's members leave one by one).
  const waitedFor = lockMembers(read);
  const stillHeld = (lock: LedgerRecord | undefined) => waitedFor.some((member) => isHeldBy(lock, member));
  let current = read;
  for (let round = 0; round < WAIT_ROUNDS; round += 1) {
    if (current?.kind !== 'domain-lock' || !stillHeld(current)) break;
    const now = deps.now();
    const waiter = {
      idempotencyKey: held.request.idempotencyKey,
      receiptHandle: record.receiptHandle,
      since: now.getTime(),
      visibleAt: now.getTime() + delaySeconds * 1000,
    };
    const next = withWaiter(current, waiter, now);
    // Ten wait already: this one waits its backoff alone.
    if (next === undefined) return;
    const result = await runStep(deps.stepHook, 'wait', () =>
      deps.ledger.write(next, current, delivery.writeId()),
    );
    if (result.written) return;
    current = result.current;
  }
  // The holder is gone (or kept changing): the domain may be free now.
  await deps.queues.defer(
    queueUrlFromArn(record.eventSourceARN),
    record.receiptHandle,
    LOCK_CHANGED_DELAY_SECONDS,
  );
}

/**
 * `lock`: the domain lock for this request. One naming a live request is waited for (`DomainBusy`). Before a
 * free one is taken, the listing must show nothing running on the domain (a holder may have been decided, say
 * `TimedOut`, while AWS went on; an operation may have been started outside the service), and a package
 * already at its end state is decided without any operation; a lock its last holder left idle (its operation
 * seen to end) needs no listing.
 */
export async function lockDomain(
  delivery: Delivery,
  held: RequestRecord,
  seen?: LockState,
): Promise<Plan | undefined> {
  const { ledger, now, stepHook } = delivery.deps;
  const { domainName, packageId, idempotencyKey } = held.request;
  for (let round = 0; round < 3; round += 1) {
    // The lock as `planFor` read it, first: the write below is conditional on it all the same.
    const { current, ours, busy } =
      round === 0 && seen !== undefined ? seen : await lockState(delivery, held);
    if (ours) return undefined;
    if (busy !== undefined) return waitForDomain(delivery, held, { current, ours, busy });
    const idle = current?.kind === 'domain-lock' && current.idle === true;
    if (!idle) {
      const listed = await listingBeforeLock(delivery, domainName);
      if (!Array.isArray(listed)) return listed;
      const done = doneByListing(held, listed);
      if (done !== undefined) return done;
    }
    const holder = { idempotencyKey, incarnation: held.incarnation, packageId };
    const next = lockedBy(current, domainName, holder, now());
    const result = await runStep(stepHook, 'lock', () => ledger.write(next, current, delivery.writeId()));
    if (result.written) return undefined;
  }
  throw new TransientFailure('LedgerRace', `the lock of ${domainName} kept changing`);
}

const RUNNING: ReadonlySet<string | undefined> = new Set(['ASSOCIATING', 'DISSOCIATING']);

type Listing = ListedPackage[];

/** The listing before a lock not left idle: what runs on the domain, or the wait (or end) an error means. */
export async function listingBeforeLock(delivery: Delivery, domainName: string): Promise<Listing | Plan> {
  let listed: Listing;
  try {
    listed = await delivery.deps.associations.list(domainName);
  } catch (error) {
    return unreadable(error);
  }
  const running = listed.find((details) => RUNNING.has(details.status));
  if (running !== undefined) {
    return wait('DomainBusy', `${domainName} is running ${running.packageId} (${running.status})`);
  }
  return listed;
}

/** A request the listing shows at its end state is decided with no lock and no operation. */
export function doneByListing(held: RequestRecord, listed: Listing): Plan | undefined {
  const { packageId } = held.request;
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
