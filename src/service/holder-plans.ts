/**
 * What the lease holder learns from AWS, as a plan for its next transition: the operation's answer or error,
 * and, after a conflict, a refusal, or an answer never seen, what the domain's listing shows (docs/DESIGN.md,
 * "An unseen answer is read, not repeated", "The package lifecycle").
 */
import { classifyError } from '../domain/classify.ts';
import { ASSOCIATION_FAILED, DISSOCIATION_FAILED } from '../domain/dlq.ts';
import type { PackageDetails } from '../domain/events.ts';
import type { RequestRecord } from '../domain/ledger.ts';
import { associationFailedMessage, dissociationFailedMessage, isAtTarget } from '../domain/tracking.ts';
import { actionOf, type Decision } from '../domain/transitions.ts';
import { runStep } from './ledger-steps.ts';
import type { Delivery } from './rejection.ts';
import { describeError } from './runtime.ts';

/** What the holder does next, from an AWS answer or a listing. */
export type Plan =
  | {
      kind: 'follow';
      details: PackageDetails;
      announce: boolean;
      /** The draw for the first check's delay, shared by a group so that its tracking messages come back together. */
      delayDraw?: number;
    }
  | { kind: 'decide'; decision: Decision }
  | { kind: 'call' }
  | {
      kind: 'retry';
      code: string;
      message: string;
      uncertain: boolean;
      /** Once the message is deferred for `delaySeconds` (a waiter lists itself in its domain's lock). */
      afterDefer?: (delaySeconds: number) => Promise<void>;
    };

/** A wait: the record released, the message back after its backoff. */
export type RetryPlan = Extract<Plan, { kind: 'retry' }>;

/** Why the listing is read: a conflict, an answer never seen, or a dissociation AWS refused. */
type ListingReason = 'conflict' | 'uncertain' | 'refused';

const failed = (code: string, message: string, details: PackageDetails = {}): Plan => ({
  kind: 'decide',
  decision: { outcome: 'failed', reason: { code, message, retryable: false }, details, deadLetter: true },
});

/** `call`: AssociatePackage or DissociatePackage, and what its answer (or error) means. */
export async function callAws(delivery: Delivery, held: RequestRecord): Promise<Plan> {
  const { deps } = delivery;
  const { domainName, packageId } = held.request;
  const dissociating = actionOf(held.request) === 'dissociate';
  let details: PackageDetails;
  try {
    details = await runStep(deps.stepHook, 'call', () =>
      dissociating
        ? deps.associations.dissociate(domainName, packageId)
        : deps.associations.associate(held.request),
    );
  } catch (error) {
    return planAfterCallError(delivery, held, error, false);
  }
  return dissociating ? dissociationPlan(details, 'call') : associationPlan(details, held, 'call');
}

/**
 * What an operation's error means for one request. `grouped`: the operation carried several requests'
 * packages (`AssociatePackages`), so a refusal cannot be pinned on this one: it retries, alone next time.
 */
export async function planAfterCallError(
  delivery: Delivery,
  held: RequestRecord,
  error: unknown,
  grouped: boolean,
): Promise<Plan> {
  const dissociating = actionOf(held.request) === 'dissociate';
  const decision = classifyError(error);
  if (decision.kind === 'conflict') return resolveByListing(delivery, held, 'conflict');
  if (grouped && decision.kind === 'permanent') {
    return { kind: 'retry', code: GROUP_REFUSED, message: decision.message, uncertain: false };
  }
  // AWS refuses to dissociate a package that is not associated; its text is not what decides: the listing is.
  if (dissociating && decision.kind === 'permanent' && decision.code === 'ValidationException') {
    const plan = await resolveByListing(delivery, held, 'refused');
    return plan.kind === 'call' ? failed(decision.code, decision.message) : plan;
  }
  if (!dissociating && decision.kind === 'permanent' && decision.code === 'ValidationException') {
    return (await updatedMeanwhile(delivery, held)) ?? failed(decision.code, decision.message);
  }
  if (decision.kind === 'permanent') return failed(decision.code, decision.message);
  return {
    kind: 'retry',
    code: decision.code,
    message: decision.message,
    uncertain: isUnseenAnswer(error),
  };
}

/** A retry after AWS refused a group's operation: the request's next attempt goes alone. */
export const GROUP_REFUSED = 'GroupRefused';

/**
 * AWS refuses to associate a package that is not available, and an update may have started since `ready`:
 * then the refusal is a wait, not the request's end.
 */
async function updatedMeanwhile(delivery: Delivery, held: RequestRecord): Promise<Plan | undefined> {
  try {
    const pkg = await delivery.deps.associations.describePackage(held.request.packageId, { fresh: true });
    if (pkg?.status !== 'COPYING' && pkg?.status !== 'VALIDATING') return undefined;
    const message = `${held.request.packageId} is ${pkg.status}`;
    return { kind: 'retry', code: 'PackageNotReady', message, uncertain: false };
  } catch {
    return undefined;
  }
}

/**
 * An error without an HTTP answer below 500 may hide a call that took effect (a reset, a timeout, a 5xx). The
 * SDK retries an operation only after a throttle (src/adapters/clients.ts), which AWS answers before doing
 * anything, so the last attempt's answer is the one that counts.
 */
function isUnseenAnswer(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  return typeof status !== 'number' || status >= 500;
}

export function associationPlan(
  details: PackageDetails,
  held: RequestRecord,
  after: 'call' | 'listing',
): Plan {
  if (isAtTarget(details, held.targetVersion)) {
    return { kind: 'decide', decision: { outcome: 'succeeded', details } };
  }
  if (details.status === 'ASSOCIATION_FAILED') {
    const reason = {
      code: ASSOCIATION_FAILED,
      message: associationFailedMessage(details),
      retryable: false,
    };
    return { kind: 'decide', decision: { outcome: 'failed', reason, details, deadLetter: after === 'call' } };
  }
  return { kind: 'follow', details, announce: true };
}

function dissociationPlan(details: PackageDetails | undefined, after: 'call' | 'listing'): Plan {
  if (details === undefined) return { kind: 'decide', decision: { outcome: 'succeeded', details: {} } };
  if (details.status === 'DISSOCIATION_FAILED') {
    const reason = {
      code: DISSOCIATION_FAILED,
      message: dissociationFailedMessage(details),
      retryable: false,
    };
    return { kind: 'decide', decision: { outcome: 'failed', reason, details, deadLetter: after === 'call' } };
  }
  return { kind: 'follow', details, announce: true };
}

/**
 * A listing last updated before the request's last call (with room for the clocks of AWS and Lambda to differ)
 * cannot show what this request did. Without a time, it may: the safe reading is that it does.
 */
function isOlderThan(details: PackageDetails, held: RequestRecord): boolean {
  const since = held.calledAt ?? held.acceptedAt;
  return details.lastUpdated !== undefined && details.lastUpdated < since - CLOCK_SKEW_MS;
}

/** How far AWS's timestamps and Lambda's clock may be apart. */
const CLOCK_SKEW_MS = 5_000;

/**
 * `resolve`: the domain's listing says what a conflict, a refusal or an unseen answer left. Only this
 * request's operation running, or its end state, ends the wait; after an unseen answer, a listing showing the
 * operation never took effect means it is made (again).
 */
export async function resolveByListing(
  delivery: Delivery,
  held: RequestRecord,
  why: ListingReason,
): Promise<Plan> {
  const { deps } = delivery;
  const { domainName, packageId } = held.request;
  let details: PackageDetails | undefined;
  try {
    details = await runStep(deps.stepHook, 'resolve', () => deps.associations.find(domainName, packageId));
  } catch (error) {
    const decision = classifyError(error);
    if (decision.kind === 'permanent') return failed(decision.code, decision.message);
    const code = decision.kind === 'transient' ? decision.code : 'ConflictException';
    return { kind: 'retry', code, message: describeError(error).message, uncertain: true };
  }
  return actionOf(held.request) === 'dissociate'
    ? dissociationByListing(held, details, why)
    : associationByListing(held, details, why);
}

function associationByListing(held: RequestRecord, details: PackageDetails | undefined, why: ListingReason) {
  const { packageId } = held.request;
  if (details?.status === 'ASSOCIATING' || isAtTarget(details, held.targetVersion)) {
    return associationPlan(details as PackageDetails, held, 'listing');
  }
  // A conflict too may hide a call of ours that took effect (read the safe way, whoever retried it): a failure
  // since the request's last call is therefore its outcome; associating again would be a second operation.
  // Only an older one is another request's, to be replaced.
  if (details?.status === 'ASSOCIATION_FAILED' && !isOlderThan(details, held)) {
    return associationPlan(details, held, 'listing');
  }
  // Not listed, failed long ago, or ACTIVE at an older version: after an unseen answer, nothing of ours ran.
  if (why === 'uncertain' && (details === undefined || details.status === 'ASSOCIATION_FAILED')) {
    return { kind: 'call' } as const;
  }
  if (why === 'uncertain' && details?.status === 'ACTIVE') return { kind: 'call' } as const;
  return listingRetry(packageId, details, why);
}

function dissociationByListing(held: RequestRecord, details: PackageDetails | undefined, why: ListingReason) {
  const { packageId } = held.request;
  if (details === undefined || details.status === 'DISSOCIATING') return dissociationPlan(details, 'listing');
  if (details.status === 'DISSOCIATION_FAILED' && !isOlderThan(details, held)) {
    return dissociationPlan(details, 'listing');
  }
  // Still associated (or failed to dissociate long ago): after an unseen answer our call did not take effect.
  const stillThere = new Set(['ACTIVE', 'DISSOCIATION_FAILED', 'ASSOCIATION_FAILED']);
  if (why !== 'conflict' && stillThere.has(details.status ?? '')) {
    return { kind: 'call' } as const;
  }
  return listingRetry(packageId, details, why);
}

function listingRetry(packageId: string, details: PackageDetails | undefined, why: ListingReason): Plan {
  const shown = details === undefined ? 'not listed' : `listed ${details.status}`;
  const code = why === 'conflict' ? 'ConflictException' : 'PackageBusy';
  return { kind: 'retry', code, message: `${packageId} is ${shown}`, uncertain: false };
}
