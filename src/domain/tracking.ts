import * as z from 'zod/mini';
import type { PackageDetails } from './events.ts';

const nonEmpty = () => z.string().check(z.minLength(1));

/** What the associate handler hands the tracker: enough to follow one association and announce its end. */
export const trackingMessageSchema = z.strictObject({
  idempotencyKey: nonEmpty(),
  correlationId: nonEmpty(),
  domainName: nonEmpty(),
  packageId: nonEmpty(),
  requestedBy: z.optional(z.string()),
  startedAt: z.iso.datetime(),
  deadline: z.iso.datetime(),
  check: z.int().check(z.minimum(1)),
});
export type TrackingMessage = z.infer<typeof trackingMessageSchema>;

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
  message: TrackingMessage,
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
    const cause = details.errorDetails?.errorMessage ?? details.errorDetails?.errorType ?? 'no details given';
    return {
      kind: 'failed',
      code: 'AssociationFailed',
      message: `The domain reported ASSOCIATION_FAILED: ${cause}`,
    };
  }
  if (details.status !== 'ASSOCIATING') {
    // DISSOCIATING or DISSOCIATION_FAILED: someone else removed it while we were following it.
    return {
      kind: 'failed',
      code: 'AssociationLost',
      message: `${message.packageId} on ${message.domainName} went to ${details.status ?? 'an unknown status'}`,
    };
  }
  const remainingSeconds = Math.floor((Date.parse(message.deadline) - now.getTime()) / 1000);
  if (remainingSeconds <= 0) {
    return {
      kind: 'failed',
      code: 'TimedOut',
      message: `Still ASSOCIATING at the deadline ${message.deadline} after ${message.check} checks`,
    };
  }
  const delaySeconds = trackingDelaySeconds(message.check + 1, policy, random);
  return { kind: 'check-again', delaySeconds: Math.max(1, Math.min(delaySeconds, remainingSeconds)) };
}
