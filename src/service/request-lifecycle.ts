/**
 * One delivery of a valid request through the ledger's states (docs/DESIGN.md, "States and transitions"):
 * find or claim the request, and, holding its lease, call AWS or read the listing, then follow, decide or
 * release it. Every write is conditional on the version read; only the lease holder writes past `claim`.
 */
import { trackingFor } from '../config.ts';
import { domainWaitBackoffSeconds, throttleBackoffSeconds } from '../domain/backoff.ts';
import { isThrottling } from '../domain/classify.ts';
import { RETRIES_EXHAUSTED } from '../domain/dlq.ts';
import { lockHolderOf } from '../domain/domain-lock.ts';
import type { PackageDetails } from '../domain/events.ts';
import { fingerprintOf } from '../domain/fingerprint.ts';
import {
  hasPending,
  isExpired,
  isLeasedByAnother,
  type LedgerRecord,
  type RequestRecord,
  requestRecordId,
  TERMINAL_STATES,
} from '../domain/ledger.ts';
import { isPluginType } from '../domain/readiness.ts';
import type { AssociationRequest } from '../domain/request.ts';
import {
  acceptRequest,
  actionOf,
  type Decision,
  decide,
  follow,
  identityOf,
  release,
  takeOver,
} from '../domain/transitions.ts';
import {
  domainReady,
  type LockState,
  lockDomain,
  lockState,
  packageReady,
  pinCall,
  waitForDomain,
} from './before-call.ts';
import { callAws, GROUP_REFUSED, type Plan, type RetryPlan, resolveByListing } from './holder-plans.ts';
import { runStep } from './ledger-steps.ts';
import type { Planned } from './operation-groups.ts';
import { flushOutbox } from './outbox.ts';
import { type Delivery, reject } from './rejection.ts';
import {
  audit,
  auditDecision,
  countMetric,
  describeError,
  retryLater,
  TransientFailure,
  transitionContext,
} from './runtime.ts';
import { leaveGroupLock, unlockDomain } from './unlock.ts';

/** Past its invocation's deadline a lease still covers a call in flight and some clock skew. */
const LEASE_MARGIN_MS = 10_000;

/** A decided record whose window has passed and whose outbox is empty: its key may start a new request. */
function isReusable(record: LedgerRecord, now: Date): boolean {
  return (
    record.kind === 'request' &&
    TERMINAL_STATES.has(record.state) &&
    !hasPending(record) &&
    isExpired(record, now)
  );
}

function storedRequest(request: AssociationRequest): RequestRecord['request'] {
  const { idempotencyKey, correlationId, domainName, packageId } = request;
  return {
    // Left out for associations, so their records read as those written before dissociation existed.
    ...(request.action === 'dissociate' && { action: request.action }),
    ...(request.packageVersion !== undefined && { packageVersion: request.packageVersion }),
    idempotencyKey,
    correlationId,
    domainName,
    packageId,
    ...(request.prerequisitePackageIds !== undefined && {
      prerequisitePackageIds: request.prerequisitePackageIds,
    }),
    ...(request.associationConfiguration !== undefined && {
      associationConfiguration: request.associationConfiguration,
    }),
    ...(request.requestedBy !== undefined && { requestedBy: request.requestedBy }),
    ...(request.action === 'associate' &&
      request.rolloutId !== undefined && { rolloutId: request.rolloutId }),
  };
}

/**
 * A valid request: a new one is claimed straight away (one write; a read only when the key turns out to be
 * known), a known one continues from where the ledger says it is.
 */
export async function handleRequest(delivery: Delivery, request: AssociationRequest): Promise<void> {
  const { deps } = delivery;
  const fingerprint = fingerprintOf(request);
  const id = requestRecordId(request.idempotencyKey);
  // Settings are checked only for a request the ledger does not know yet: one accepted before they changed is
  // finished, not abandoned. A refused one is rare enough to pay a read to find out.
  const refusal = refusalOf(delivery, request);
  let current = refusal === undefined ? undefined : await deps.ledger.get(id);
  for (let round = 0; round < 2; round += 1) {
    if (current !== undefined && !isReusable(current, deps.now())) {
      await continueRequest(delivery, request, fingerprint, current);
      return;
    }
    if (refusal !== undefined) {
      await reject(delivery, request, refusal.code, refusal.message);
      return;
    }
    const next = acceptRequest(transitionContext(delivery.deps), {
      request: storedRequest(request),
      fingerprint,
      body: delivery.record.body,
      messageId: delivery.originalMessageId,
      lease: leaseFor(delivery),
      lifetimeSeconds: lifetimeOf(delivery),
    });
    const read = current;
    const result = await runStep(deps.stepHook, 'claim', () =>
      deps.ledger.write(next, read, delivery.writeId()),
    );
    if (result.written) {
      await hold(delivery, result.record, false);
      return;
    }
    // The key is known (a copy, a conflict, or a decided request whose window has passed): look again.
    current = result.current;
  }
  throw new TransientFailure('LedgerRace', `${id} kept changing while it was claimed`);
}

/** A new record outlives the retry budget, the tracking deadline and the window, whatever happens to it. */
function lifetimeOf({ deps: { config } }: Delivery): number {
  const deadlineSeconds = Math.max(config.tracking.deadlineSeconds, config.tracking.plugin.deadlineSeconds);
  return config.retryBudgetSeconds + deadlineSeconds + config.idempotencyTtlSeconds;
}

/** What this service may not do for anyone: touch a domain off its allow-list, pass a role not configured. */
function refusalOf(delivery: Delivery, request: AssociationRequest) {
  const { config } = delivery.deps;
  if (!config.allowList.allows(request.domainName)) {
    const message = `domainName: ${request.domainName} is not in the allow-list of this service`;
    return { code: 'DomainNotAllowed' as const, message };
  }
  const role = request.associationConfiguration?.keyStoreAccessOption.keyAccessRoleArn;
  if (role !== undefined && !config.keyAccessRoleArns.has(role)) {
    // The function could pass it (iam:PassRole) only for the configured roles: refused here, before AWS.
    const message = `associationConfiguration.keyStoreAccessOption.keyAccessRoleArn: ${role} is not a key-access role of this service`;
    return { code: 'RoleNotAllowed' as const, message };
  }
  return undefined;
}

function leaseFor(delivery: Delivery) {
  const until = delivery.deps.now().getTime() + delivery.context.getRemainingTimeInMillis() + LEASE_MARGIN_MS;
  return { owner: delivery.owner, until, messageId: delivery.record.messageId };
}

/** A copy of a request the ledger already has: a conflict, a duplicate, a takeover, or a stuck follow. */
async function continueRequest(
  delivery: Delivery,
  request: AssociationRequest,
  fingerprint: string,
  current: LedgerRecord,
): Promise<void> {
  const { deps, record } = delivery;
  if (current.kind !== 'request') throw new Error(`${current.id} is not a request record`);
  if (current.fingerprint !== fingerprint) {
    const message = `idempotencyKey: ${request.idempotencyKey} was already used for another request`;
    await reject(delivery, request, 'IdempotencyKeyConflict', message);
    return;
  }
  if (current.state === 'ACCEPTED') {
    await claimAccepted(delivery, current);
    return;
  }
  if (hasPending(current)) {
    await flushOutbox(delivery.outbox, current);
    return;
  }
  if (current.state === 'TRACKING' && isPastDeadline(delivery, current)) {
    // The tracker should have ended it by now: its message was lost (or dead-lettered). End it here.
    const reason = {
      code: 'TimedOut',
      message: 'no status check concluded by the deadline',
      retryable: true,
    };
    await writeDecision(delivery, current, { outcome: 'failed', reason, details: {}, deadLetter: false });
    return;
  }
  audit(deps, 'duplicate', request, record, { reason: `already ${current.state}` });
  countMetric(deps, 'DuplicateRequest');
}

/** Past the deadline by more than the tracker's longest wait between checks. */
function isPastDeadline(delivery: Delivery, current: RequestRecord): boolean {
  const { maxDelaySeconds } = trackingFor(delivery.deps.config.tracking, current.details?.packageType);
  const slack = 2 * maxDelaySeconds * 1000;
  return delivery.deps.now().getTime() > (current.deadline ?? 0) + slack;
}

function budgetLeft(delivery: Delivery, current: RequestRecord): boolean {
  const { config, now } = delivery.deps;
  return (
    now().getTime() < current.acceptedAt + config.retryBudgetSeconds * 1000 &&
    delivery.receiveCount < config.maxAttempts
  );
}

/** `claim` of an `ACCEPTED` request: wait while another holds it; take it over when free or expired. */
async function claimAccepted(delivery: Delivery, current: RequestRecord): Promise<void> {
  const { deps, record } = delivery;
  const identity = identityOf(current.request);
  if (isLeasedByAnother(current, delivery.owner, deps.now())) {
    if (!budgetLeft(delivery, current) && current.leaseMessageId !== record.messageId) {
      // The holder's own message is still queued and will finish the request.
      audit(deps, 'duplicate', identity, record, { reason: 'in progress elsewhere; this copy ends here' });
      countMetric(deps, 'DuplicateRequest');
      return;
    }
    // This may be the holder's own message, come back while it runs (or after it died): kept, it returns once
    // the lease is over, and its takeover ends the request at the end of the budget.
    const untilLeaseEnds = Math.ceil(((current.leaseUntil ?? 0) - deps.now().getTime()) / 1000);
    const delay = budgetLeft(delivery, current) ? undefined : Math.max(1, untilLeaseEnds);
    await retryLater(deps, record, identity, 'DuplicateInProgress', 'another copy holds the request', delay);
  }
  const result = await runStep(deps.stepHook, 'claim', () =>
    deps.ledger.write(takeOver(current, leaseFor(delivery)), current, delivery.writeId()),
  );
  if (!result.written) throw new TransientFailure('LedgerRace', 'another copy moved the request on');
  await hold(delivery, result.record, result.record.callUncertain === true);
}

/** Holding the lease: the AWS call (or, after an unseen answer, the listing first), then its transition. */
async function hold(delivery: Delivery, held: RequestRecord, uncertain: boolean): Promise<void> {
  try {
    const planned = await planFor(delivery, held, uncertain);
    await apply(delivery, planned.held, planned.plan);
  } catch (error) {
    if (error instanceof TransientFailure) throw error;
    // A ledger write or a send failed while holding the request: free it for the retry, which reads the
    // listing first (AWS may have accepted the call).
    const { code, message } = describeError(error);
    await releaseQuietly(delivery, held, code, true);
    throw new TransientFailure(code, message);
  }
}

const isRecord = (value: RequestRecord | Plan): value is RequestRecord => value.kind === 'request';

/**
 * `ready`, `lock`, `pin`, `call` (docs/DESIGN.md, "The package lifecycle"). After an unseen answer the listing
 * comes first, against the pinned target: the operation may be running, and a domain processing it, or a
 * package updated since, is no reason to wait or fail.
 */
async function planFor(delivery: Delivery, read: RequestRecord, uncertain: boolean): Promise<Planned> {
  let held = read;
  // Every call is preceded by `pin`: without its time, no call of this request can have taken effect.
  if (uncertain && held.calledAt !== undefined) {
    const plan = await resolveByListing(delivery, held, 'uncertain');
    if (plan.kind !== 'call') return { held, plan };
  }
  // A domain another request operates on is waited for before anything is asked of AWS: a burst queued on one
  // domain costs ledger reads while it waits, not control-plane calls.
  let lock = await lockState(delivery, held);
  if (lock.busy !== undefined) return { held, plan: waitForDomain(delivery, held, lock) };
  const ready = await packageReady(delivery, held);
  if (!isRecord(ready)) return { held, plan: ready };
  const domainWait = await domainReady(delivery, ready);
  if (domainWait !== undefined) return plannedWait(held, ready, domainWait);
  if (joinsGroup(delivery, ready, lock)) {
    const joined = await delivery.groups?.join({ delivery, read: held, ready, seen: lock });
    if (joined !== undefined && joined !== 'alone') return joined;
  } else {
    delivery.groups?.leave(ready.request.domainName, delivery.owner);
  }
  if (inGroupLock(lock)) {
    // Alone in a group's lock: another member's operation may run. Off the lock, then it is taken again as any
    // request takes it.
    await leaveGroupLock(delivery.deps, held.request.domainName, [lockHolderOf(held)], delivery.writeId());
    lock = await lockState(delivery, held);
    if (lock.busy !== undefined) return { held, plan: waitForDomain(delivery, held, lock) };
  }
  const lockWait = await lockDomain(delivery, ready, lock);
  if (lockWait !== undefined) return plannedWait(held, ready, lockWait);
  held = await pinCall(delivery, ready);
  return { held, plan: await callAws(delivery, held) };
}

/**
 * A wait releases the record as read: the target `ready` chose stays in memory until `pin`, so the next holder
 * chooses again (a package updated meanwhile is associated at its new version, not failed).
 */
const plannedWait = (read: RequestRecord, ready: RequestRecord, plan: Plan): Planned =>
  plan.kind === 'retry' ? { held: read, plan } : { held: ready, plan };

/** This request is one of the members a group's lock names (back after its group's call failed or crashed). */
const inGroupLock = (lock: LockState) =>
  lock.ours && lock.current?.kind === 'domain-lock' && lock.current.grouped === true;

/**
 * Whether a request may share its domain's operation with others of the invocation: an association of a
 * package known not to be a plugin (a blue/green deployment is not shared with dictionaries), not holding the
 * lock already (unless as a member of a group's lock, whose members may meet again), never in a group AWS
 * refused (alone, a refusal is its own), and with a retry left.
 */
function joinsGroup(delivery: Delivery, ready: RequestRecord, lock: LockState): boolean {
  const packageType = ready.details?.packageType;
  return (
    delivery.groups !== undefined &&
    (!lock.ours || inGroupLock(lock)) &&
    actionOf(ready.request) === 'associate' &&
    packageType !== undefined &&
    !isPluginType(packageType) &&
    ready.alone !== true &&
    // On its last delivery a request goes alone: another's refusal would end it RetriesExhausted untried.
    budgetLeft(delivery, ready)
  );
}

async function apply(delivery: Delivery, held: RequestRecord, plan: Plan): Promise<void> {
  const { deps } = delivery;
  if (plan.kind === 'follow') {
    await writeFollow(delivery, held, plan.details, plan.announce, plan.delayDraw);
    return;
  }
  if (plan.kind === 'decide') {
    await writeDecision(delivery, held, plan.decision);
    return;
  }
  if (plan.kind === 'call') throw new Error('a call plan is carried out before apply');
  if (budgetLeft(delivery, held)) {
    // Sticky, unlike the reason the next wait overwrites: a package that made AWS refuse a group refuses the next.
    const base = plan.code === GROUP_REFUSED ? { ...held, alone: true } : held;
    await releaseQuietly(delivery, base, plan.code, plan.uncertain);
    const identity = identityOf(held.request);
    const { backoff } = deps.config;
    const delay = isThrottling(plan.code)
      ? throttleBackoffSeconds(delivery.receiveCount, backoff, deps.random())
      : plan.code === 'DomainBusy'
        ? domainWaitBackoffSeconds(delivery.receiveCount, backoff, deps.random())
        : undefined;
    await retryLater(deps, delivery.record, identity, plan.code, plan.message, delay, plan.afterDefer);
  }
  await endOfBudget(delivery, held, plan);
}

/**
 * The budget is spent: an unseen answer is handed to the tracker (which ends it ACTIVE, failed or lost); a
 * refusal AWS did answer ends as RetriesExhausted.
 */
async function endOfBudget(delivery: Delivery, held: RequestRecord, plan: RetryPlan) {
  // Without `calledAt` no call of this request can have taken effect (`pin` comes before every call): nothing for
  // the tracker to find, which would end it AssociationLost.
  if ((plan.uncertain || held.callUncertain === true) && held.calledAt !== undefined) {
    await writeFollow(delivery, held, {}, false);
    return;
  }
  const { config } = delivery.deps;
  const message = `${plan.code} after ${held.attempts} attempts (budget ${config.retryBudgetSeconds} s, at most ${config.maxAttempts} deliveries): ${plan.message}`;
  const reason = { code: RETRIES_EXHAUSTED, message, retryable: true };
  await writeDecision(delivery, held, { outcome: 'failed', reason, details: {}, deadLetter: true });
}

async function writeFollow(
  delivery: Delivery,
  held: RequestRecord,
  details: PackageDetails,
  announce: boolean,
  delayDraw = delivery.deps.random(),
) {
  const { deps, record } = delivery;
  const packageType = details.packageType ?? held.details?.packageType;
  const { deadlineSeconds, firstDelaySeconds } = trackingFor(deps.config.tracking, packageType);
  const firstDelay = Math.max(1, Math.round(firstDelaySeconds * (0.8 + 0.4 * delayDraw)));
  const next = follow(transitionContext(delivery.deps), held, details, {
    deadlineSeconds,
    firstDelaySeconds: firstDelay,
    announce,
  });
  const result = await runStep(deps.stepHook, 'follow', () =>
    deps.ledger.write(next, held, delivery.writeId()),
  );
  if (!result.written) throw new TransientFailure('LedgerRace', 'the request moved on while it was held');
  audit(deps, 'started', identityOf(held.request), record, { status: details.status ?? 'unknown' });
  if (announce) countMetric(deps, 'AssociationStarted');
  await flushOutbox(delivery.outbox, result.record);
}

async function writeDecision(delivery: Delivery, read: RequestRecord, decision: Decision): Promise<void> {
  const { deps, record } = delivery;
  const next = decide(transitionContext(delivery.deps), read, decision);
  const result = await runStep(deps.stepHook, 'decide', () =>
    deps.ledger.write(next, read, delivery.writeId()),
  );
  if (!result.written) throw new TransientFailure('LedgerRace', 'the request moved on before its decision');
  auditDecision(deps, identityOf(read.request), record, decision);
  await unlockDomain(deps, result.record, delivery.writeId());
  await flushOutbox(delivery.outbox, result.record);
}

/** `release`, best effort: when it fails, the lease simply runs out at the invocation's deadline. */
async function releaseQuietly(delivery: Delivery, held: RequestRecord, reason: string, uncertain: boolean) {
  const { deps } = delivery;
  try {
    await runStep(deps.stepHook, 'release', () =>
      deps.ledger.write(release(held, reason, uncertain), held, delivery.writeId()),
    );
  } catch (error) {
    deps.logger.warn('could not release the request', { messageId: delivery.record.messageId, error });
  }
}
