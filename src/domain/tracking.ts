import * as z from 'zod/mini';
import type { PackageDetails } from './events.ts';
import type { RequestAction } from './request.ts';

const nonEmpty = () => z.string().check(z.minLength(1));

/**
 * What the associate handler hands the tracker: which request to follow, and nothing the tracker would trust.
 * The domain, package and deadline come from the ledger, so a forged message cannot announce an outcome.
 */
export const trackingMessageSchema = z.strictObject({
  idempotencyKey: nonEmpty(),
  incarnation: nonEmpty(),
});
export type TrackingMessage = z.infer<typeof trackingMessageSchema>;

/** An operation being followed, as the ledger records it; `check` counts the looks, from 1. */
export interface FollowedAssociation {
  action: RequestAction;
  domainName: string;
  packageId: string;
  /** The version an association must end at; undefined for dissociations and records from before versions. */
  targetVersion?: string | undefined;
  /** Epoch ms. */
  deadline: number;
  check: number;
}

export interface TrackingPolicy {
  firstDelaySeconds: number;
  maxDelaySeconds: number;
}

export type TrackingDecision =
  | { kind: 'succeeded' }
  | {
      kind: 'failed';
      code: 'AssociationFailed' | 'AssociationLost' | 'DissociationFailed' | 'TimedOut';
      message: string;
    }
  | { kind: 'check-again'; delaySeconds: number };

/**
 * Delay before check number `check` (1-based): the first after about `firstDelaySeconds`, then doubling up to
 * the cap, with ±20% jitter so associations started together are not all checked together.
 */
export function trackingDelaySeconds(check: number, policy: TrackingPolicy, random: number): number {
  const base = Math.min(policy.maxDelaySeconds, policy.firstDelaySeconds * 2 ** Math.max(0, check - 1));
  return Math.max(1, Math.min(policy.maxDelaySeconds, Math.round(base * (0.8 + 0.4 * random))));
}

export function associationFailedMessage(details: PackageDetails): string {
  const cause = details.errorDetails?.errorMessage ?? details.errorDetails?.errorType ?? 'no details given';
  return `The domain reported ASSOCIATION_FAILED: ${cause}`;
}

export function dissociationFailedMessage(details: PackageDetails): string {
  const cause = details.errorDetails?.errorMessage ?? details.errorDetails?.errorType ?? 'no details given';
  return `The domain reported DISSOCIATION_FAILED: ${cause}`;
}

/** Whether the domain shows an association at its end state: ACTIVE, at the target version when there is one. */
export function isAtTarget(details: PackageDetails | undefined, targetVersion: string | undefined): boolean {
  if (details?.status !== 'ACTIVE') return false;
  return (
    targetVersion === undefined ||
    details.packageVersion === undefined ||
    details.packageVersion === targetVersion
  );
}

/**
 * What to do with what the domain reports for a package being followed.
 *
 * @param details the package as `ListPackagesForDomain` lists it; undefined when the domain does not list it
 */
export function decideTracking(
  followed: FollowedAssociation,
  details: PackageDetails | undefined,
  now: Date,
  policy: TrackingPolicy,
  random: number,
): TrackingDecision {
  const ended =
    followed.action === 'dissociate' ? dissociationEnd(followed, details) : associationEnd(followed, details);
  if (ended !== undefined) return ended;
  const remainingSeconds = Math.floor((followed.deadline - now.getTime()) / 1000);
  if (remainingSeconds <= 0) {
    const shown =
      details === undefined ? 'not listed' : `${details.status ?? 'unknown'}${versionText(details)}`;
    return {
      kind: 'failed',
      code: 'TimedOut',
      message: `Still ${shown} at the deadline ${new Date(followed.deadline).toISOString()} after ${followed.check} checks${followed.targetVersion === undefined ? '' : ` (target ${followed.targetVersion})`}`,
    };
  }
  const delaySeconds = trackingDelaySeconds(followed.check + 1, policy, random);
  return { kind: 'check-again', delaySeconds: Math.max(1, Math.min(delaySeconds, remainingSeconds)) };
}

const versionText = (details: PackageDetails) =>
  details.packageVersion === undefined ? '' : ` at ${details.packageVersion}`;

/** An association's end, or undefined while it runs (ACTIVE at another version is a listing that lags). */
function associationEnd(
  followed: FollowedAssociation,
  details: PackageDetails | undefined,
): TrackingDecision | undefined {
  // The listing can lag behind AssociatePackage by a moment: only a second miss means the package is gone.
  if (details === undefined) {
    if (followed.check === 1) return undefined;
    const message = `${followed.packageId} is no longer associated with ${followed.domainName}`;
    return { kind: 'failed', code: 'AssociationLost', message };
  }
  if (isAtTarget(details, followed.targetVersion)) return { kind: 'succeeded' };
  if (details.status === 'ASSOCIATION_FAILED') {
    return { kind: 'failed', code: 'AssociationFailed', message: associationFailedMessage(details) };
  }
  if (details.status === 'DISSOCIATING' || details.status === 'DISSOCIATION_FAILED') {
    // Someone else removed it while we were following it.
    const message = `${followed.packageId} on ${followed.domainName} went to ${details.status}`;
    return { kind: 'failed', code: 'AssociationLost', message };
  }
  return undefined;
}

/** A dissociation's end: the package gone from the listing, or its failure. */
function dissociationEnd(
  followed: FollowedAssociation,
  details: PackageDetails | undefined,
): TrackingDecision | undefined {
  if (details === undefined) return { kind: 'succeeded' };
  if (details.status === 'DISSOCIATION_FAILED') {
    return { kind: 'failed', code: 'DissociationFailed', message: dissociationFailedMessage(details) };
  }
  if (details.status === 'ASSOCIATING') {
    const message = `${followed.packageId} on ${followed.domainName} is being associated again`;
    return { kind: 'failed', code: 'AssociationLost', message };
  }
  return undefined;
}
