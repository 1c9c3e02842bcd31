import type { DomainPackageStatus } from '@aws-sdk/client-opensearch';
import {
  BLUE_GREEN_PACKAGE_TYPES,
  type DomainPackageDetailsWire,
  type ErrorDetails,
  type PackageAssociationConfiguration,
} from './model.ts';
import type { PackageRecord } from './packages.ts';
import { EmulatorApiError, validationError } from './wire.ts';

export interface AssociationRequest {
  packageId: string;
  prerequisitePackageIds?: string[];
  associationConfiguration?: PackageAssociationConfiguration;
}

/**
 * One package on one domain. Its status is not stored but derived from the clock, so a pending
 * operation needs no timer: it reads ASSOCIATING (or DISSOCIATING) until `settlesAt`, then its outcome.
 */
export interface AssociationRecord {
  domainName: string;
  pkg: PackageRecord;
  /** The package's `AvailablePackageVersion` when the association was asked for. */
  packageVersion: string | undefined;
  operation: 'associate' | 'dissociate';
  startedAt: number;
  settlesAt: number;
  prerequisitePackageIds?: string[];
  associationConfiguration?: PackageAssociationConfiguration;
  failure?: ErrorDetails;
}

export const IN_PROGRESS: ReadonlySet<DomainPackageStatus> = new Set(['ASSOCIATING', 'DISSOCIATING']);

/** `undefined` once a dissociation has settled: the package is no longer on the domain. */
export function statusAt(record: AssociationRecord, now: number): DomainPackageStatus | undefined {
  if (now < record.settlesAt) return record.operation === 'associate' ? 'ASSOCIATING' : 'DISSOCIATING';
  if (record.operation === 'dissociate')
    return record.failure === undefined ? undefined : 'DISSOCIATION_FAILED';
  return record.failure === undefined ? 'ACTIVE' : 'ASSOCIATION_FAILED';
}

export const inProgress = (record: AssociationRecord, now: number): boolean =>
  IN_PROGRESS.has(statusAt(record, now) ?? 'ACTIVE');

export const isBlueGreen = (pkg: PackageRecord): boolean => BLUE_GREEN_PACKAGE_TYPES.has(pkg.PackageType);

/** A prerequisite must be on the domain (ACTIVE or ASSOCIATING) or in the same request. */
export function checkPrerequisites(
  domainName: string,
  requests: readonly AssociationRequest[],
  records: ReadonlyMap<string, AssociationRecord>,
  now: number,
): void {
  const requestedIds = new Set(requests.map((request) => request.packageId));
  for (const request of requests) {
    for (const prerequisiteId of request.prerequisitePackageIds ?? []) {
      if (prerequisiteId === request.packageId) {
        throw validationError(`Package ${request.packageId} cannot be its own prerequisite`);
      }
      const prerequisite = records.get(prerequisiteId);
      const status = prerequisite === undefined ? undefined : statusAt(prerequisite, now);
      if (!requestedIds.has(prerequisiteId) && status !== 'ACTIVE' && status !== 'ASSOCIATING') {
        throw validationError(
          `Prerequisite package ${prerequisiteId} must be associated with domain ${domainName} before package ${request.packageId}`,
        );
      }
    }
  }
}

/** The per-domain quota counts what the domain holds, failed associations aside, and the requested packages once. */
export function checkQuota(
  domainName: string,
  requests: readonly AssociationRequest[],
  records: ReadonlyMap<string, AssociationRecord>,
  now: number,
  maxPackagesPerDomain: number,
): void {
  const requestedIds = new Set(requests.map((request) => request.packageId));
  const held = [...records.values()].filter((record) => {
    const status = statusAt(record, now);
    return !requestedIds.has(record.pkg.PackageID) && status !== undefined && status !== 'ASSOCIATION_FAILED';
  }).length;
  if (held + requests.length > maxPackagesPerDomain) {
    throw new EmulatorApiError(
      'LimitExceededException',
      `Domain ${domainName} has ${held} packages; at most ${maxPackagesPerDomain} packages can be associated with a domain`,
    );
  }
}

const toEpochSeconds = (ms: number): number => ms / 1000;

/** `DomainPackageDetails` of a record; `reportedStatus` overrides the clock's, as operations answer. */
export function associationDetails(
  record: AssociationRecord,
  now: number,
  reportedStatus?: DomainPackageStatus,
): DomainPackageDetailsWire {
  const status = reportedStatus ?? statusAt(record, now) ?? 'DISSOCIATING';
  const { pkg } = record;
  const failed = status === 'ASSOCIATION_FAILED' || status === 'DISSOCIATION_FAILED';
  return {
    PackageID: pkg.PackageID,
    PackageName: pkg.PackageName,
    PackageType: pkg.PackageType,
    LastUpdated: toEpochSeconds(now < record.settlesAt ? record.startedAt : record.settlesAt),
    DomainName: record.domainName,
    DomainPackageStatus: status,
    ...(record.packageVersion !== undefined && { PackageVersion: record.packageVersion }),
    ...(record.prerequisitePackageIds && { PrerequisitePackageIDList: record.prerequisitePackageIds }),
    ...(pkg.PackageType === 'TXT-DICTIONARY' && { ReferencePath: `analyzers/${pkg.PackageID}` }),
    ...(failed && record.failure && { ErrorDetails: record.failure }),
    ...(record.associationConfiguration && { AssociationConfiguration: record.associationConfiguration }),
  };
}
