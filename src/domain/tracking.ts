import * as z from 'zod/mini';
import type { PackageDetails } from './events.ts';

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

/** An association being followed, as the ledger records it; `check` counts the looks, from 1. */
export interface FollowedAssociation {
  domainName: string;
  packageId: string;
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
  | { kind: 'failed'; code: 'AssociationFailed' | 'AssociationLost' | 'TimedOut'; message: string }
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

/**
 * What to do with what the domain reports for a package being followed.
 *
 * @param details the package as `ListPackagesForDomain` lists it; undefined when the domain no longer lists it
 */
export function decideTracking(
  message: FollowedAssociation,
  details: PackageDetails | undefined,
  now: Date,
  policy: TrackingPolicy,
  random: number,
): TrackingDecision {
  // The listing can lag behind AssociatePackage by a moment: only a second miss means the package is gone.
  if (details === undefined && message.check === 1) {
    return { kind: 'check-again', delaySeconds: trackingDelaySeconds(2, policy, random) };
  }
  if (details === undefined) {
    return {
      kind: 'failed',
      code: 'AssociationLost',
      message: `${message.packageId} is no longer associated with ${message.domainName}`,
    };
  }
  if (details.status === 'ACTIVE') return { kind: 'succeeded' };
  if (details.status === 'ASSOCIATION_FAILED') {
    return { kind: 'failed', code: 'AssociationFailed', message: associationFailedMessage(details) };
  }
  if (details.status !== 'ASSOCIATING') {
    // DISSOCIATING or DISSOCIATION_FAILED: someone else removed it while we were following it.
    return {
      kind: 'failed',
      code: 'AssociationLost',
      message: `${message.packageId} on ${message.domainName} went to ${details.status ?? 'an unknown status'}`,
    };
  }
  const remainingSeconds = Math.floor((message.deadline - now.getTime()) / 1000);
  if (remainingSeconds <= 0) {
    return {
      kind: 'failed',
      code: 'TimedOut',
      message: `Still ASSOCIATING at the deadline ${new Date(message.deadline).toISOString()} after ${message.check} checks`,
    };
  }
  const delaySeconds = trackingDelaySeconds(message.check + 1, policy, random);
  return { kind: 'check-again', delaySeconds: Math.max(1, Math.min(delaySeconds, remainingSeconds)) };
}
