import { hash } from 'node:crypto';
import type { AssociationRequest } from './request.ts';

/** JSON with every object's keys in order, so that two bodies asking the same thing give the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * What a request asks for, hashed: the same key with another fingerprint is a conflict. Who sent it and how it
 * is correlated (`requestedBy`, `correlationId`) describe the sender, not the request, and are left out.
 */
export function fingerprintOf(request: AssociationRequest): string {
  const asked = {
    action: 'associate',
    domainName: request.domainName,
    packageId: request.packageId,
    prerequisitePackageIds: request.prerequisitePackageIds,
    associationConfiguration: request.associationConfiguration,
  };
  return hash('sha256', canonicalJson(asked), 'hex');
}
