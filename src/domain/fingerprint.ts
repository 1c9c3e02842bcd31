import { hash } from 'node:crypto';
import type { AssociationRequest } from './request.ts';
import type { RolloutRequest } from './rollout-request.ts';

/**
 * What a request asks for, hashed: the same key with another fingerprint is a conflict. Who sent it and how it
 * is correlated (`requestedBy`, `correlationId`) describe the sender, not the request, and are left out. The
 * fields go into a JSON array in a fixed order, so two bodies asking the same thing in any key order give the
 * same text without sorting anything.
 */
export function fingerprintOf(request: AssociationRequest): string {
  const keyStore = request.associationConfiguration?.keyStoreAccessOption;
  const asked = [
    request.action,
    request.domainName,
    request.packageId,
    request.prerequisitePackageIds ?? null,
    keyStore === undefined ? null : [keyStore.keyStoreAccessEnabled, keyStore.keyAccessRoleArn ?? null],
  ];
  // Appended only when named, so an association without a version keeps the fingerprint it had before
  // versions existed, and a copy of it delivered across a deploy is still a duplicate, not a conflict.
  if (request.packageVersion !== undefined) asked.push(request.packageVersion);
  return hash('sha256', JSON.stringify(asked), 'hex');
}

/** A rollout's fingerprint: what it asks for, in a fixed order, as for requests. */
export function rolloutFingerprintOf(rollout: RolloutRequest): string {
  const { canary, waveSize, maxFailures } = rollout.strategy;
  const asked = [
    'rollout',
    rollout.packageId,
    rollout.packageVersion ?? null,
    rollout.domains,
    [canary, waveSize, maxFailures],
  ];
  return hash('sha256', JSON.stringify(asked), 'hex');
}
