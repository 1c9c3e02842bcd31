import type {
  EventDetail,
  FailedDetail,
  PackageDetails,
  StartedDetail,
  SucceededDetail,
} from './event-schemas.ts';

export const DETAIL_TYPES = {
  started: 'PackageAssociationStarted',
  succeeded: 'PackageAssociationSucceeded',
  failed: 'PackageAssociationFailed',
} as const;

export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** The AWS `DomainPackageStatus` values (OpenSearch Service API reference). */
export const DOMAIN_PACKAGE_STATUSES = [
  'ASSOCIATING',
  'ASSOCIATION_FAILED',
  'ACTIVE',
  'DISSOCIATING',
  'DISSOCIATION_FAILED',
] as const;

export type {
  EventDetail,
  FailedDetail,
  PackageDetails,
  StartedDetail,
  SucceededDetail,
} from './event-schemas.ts';

/** The ids every event and audit line carries, whatever stage the request reached. */
export interface RequestIdentity {
  idempotencyKey: string;
  correlationId: string;
  domainName: string | null;
  packageId: string | null;
  requestedBy?: string | undefined;
}

export interface FailureReason {
  code: string;
  message: string;
  retryable: boolean;
}

/** A typed event ready to publish: the adapter turns it into a PutEvents entry. */
export interface AssociationEvent {
  detailType: DetailType;
  domainName: string | null;
  detail: EventDetail;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

function common(identity: RequestIdentity, details: PackageDetails, attempt: number, occurredAt: Date) {
  return {
    idempotencyKey: identity.idempotencyKey,
    correlationId: identity.correlationId,
    domainName: identity.domainName,
    packageId: identity.packageId,
    packageName: details.packageName,
    packageType: details.packageType,
    packageVersion: details.packageVersion,
    referencePath: details.referencePath,
    attempt,
    requestedBy: identity.requestedBy,
    occurredAt: occurredAt.toISOString(),
  };
}

export function startedEvent(
  identity: RequestIdentity & { domainName: string; packageId: string },
  details: PackageDetails,
  attempt: number,
  occurredAt: Date,
): AssociationEvent {
  const detail: StartedDetail = withoutUndefined({
    ...common(identity, details, attempt, occurredAt),
    domainName: identity.domainName,
    packageId: identity.packageId,
    status: 'ASSOCIATING' as const,
  });
  return { detailType: DETAIL_TYPES.started, domainName: identity.domainName, detail };
}

export function succeededEvent(
  identity: RequestIdentity & { domainName: string; packageId: string },
  details: PackageDetails,
  attempt: number,
  occurredAt: Date,
): AssociationEvent {
  const detail: SucceededDetail = withoutUndefined({
    ...common(identity, details, attempt, occurredAt),
    domainName: identity.domainName,
    packageId: identity.packageId,
    status: 'ACTIVE' as const,
  });
  return { detailType: DETAIL_TYPES.succeeded, domainName: identity.domainName, detail };
}

export function failedEvent(
  identity: RequestIdentity,
  reason: FailureReason,
  attempt: number,
  occurredAt: Date,
  details: PackageDetails = {},
): AssociationEvent {
  const detail: FailedDetail = withoutUndefined({
    ...common(identity, details, attempt, occurredAt),
    status: details.status,
    error: reason,
    errorDetails: details.errorDetails,
  });
  return { detailType: DETAIL_TYPES.failed, domainName: identity.domainName, detail };
}
