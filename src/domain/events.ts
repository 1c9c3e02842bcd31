import type {
  EventDetail,
  FailedDetail,
  PackageDetails,
  RejectedDetail,
  StartedDetail,
  SucceededDetail,
} from './event-schemas.ts';
import type { RequestAction } from './request.ts';

export const DETAIL_TYPES = {
  started: 'PackageAssociationStarted',
  succeeded: 'PackageAssociationSucceeded',
  failed: 'PackageAssociationFailed',
  dissociationStarted: 'PackageDissociationStarted',
  dissociationSucceeded: 'PackageDissociationSucceeded',
  dissociationFailed: 'PackageDissociationFailed',
  rejected: 'PackageRequestRejected',
  rolloutStarted: 'PackageRolloutStarted',
  rolloutWaveCompleted: 'PackageRolloutWaveCompleted',
  rolloutCompleted: 'PackageRolloutCompleted',
  rolloutHalted: 'PackageRolloutHalted',
} as const;

/** Each action's detail types: a subscriber tells an added package from a removed one by the name. */
const ACTION_DETAIL_TYPES = {
  associate: {
    started: DETAIL_TYPES.started,
    succeeded: DETAIL_TYPES.succeeded,
    failed: DETAIL_TYPES.failed,
  },
  dissociate: {
    started: DETAIL_TYPES.dissociationStarted,
    succeeded: DETAIL_TYPES.dissociationSucceeded,
    failed: DETAIL_TYPES.dissociationFailed,
  },
} as const;

export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** Why a message was refused before it became a request: a rejection's `error.code` and dead letter reason. */
export const REJECTION_CODES = [
  'InvalidRequest',
  'DomainNotAllowed',
  'RoleNotAllowed',
  'IdempotencyKeyConflict',
] as const;

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
  RejectedDetail,
  StartedDetail,
  SucceededDetail,
} from './event-schemas.ts';

/** The ids every request event and audit line carries. */
export interface RequestIdentity {
  action: RequestAction;
  /** The version an association must end at, once known. */
  targetVersion?: string | undefined;
  idempotencyKey: string;
  correlationId: string;
  domainName: string;
  packageId: string;
  requestedBy?: string | undefined;
  /** A rollout's child request: the rollout it belongs to. */
  rolloutId?: string | undefined;
}

export interface FailureReason {
  code: string;
  message: string;
  retryable: boolean;
}

export type RejectionCode = (typeof REJECTION_CODES)[number];

/** What a rejected message's body let us read, each field only if it passed its own rule. */
export interface RejectionHint {
  idempotencyKey?: string | undefined;
  correlationId?: string | undefined;
  domainName?: string | undefined;
  packageId?: string | undefined;
  requestedBy?: string | undefined;
}

/** A typed event ready to publish: the adapter turns it into a PutEvents entry. */
export interface AssociationEvent {
  detailType: DetailType;
  domainName: string | null;
  detail: EventDetail;
}

/** When and how often: the fields every event's builder needs besides what it is about. */
export interface EventStamp {
  eventId: string;
  attempt: number;
  occurredAt: Date;
}

// Fields AWS did not give are left undefined: the detail is published as JSON, which leaves them out.

function requestFields(identity: RequestIdentity, details: PackageDetails, stamp: EventStamp) {
  return {
    eventId: stamp.eventId,
    action: identity.action,
    idempotencyKey: identity.idempotencyKey,
    correlationId: identity.correlationId,
    domainName: identity.domainName,
    packageId: identity.packageId,
    packageName: details.packageName,
    packageType: details.packageType,
    packageVersion: details.packageVersion,
    targetVersion: identity.targetVersion,
    referencePath: details.referencePath,
    attempt: stamp.attempt,
    requestedBy: identity.requestedBy,
    rolloutId: identity.rolloutId,
    occurredAt: stamp.occurredAt.toISOString(),
  };
}

export function startedEvent(
  identity: RequestIdentity,
  details: PackageDetails,
  stamp: EventStamp,
): AssociationEvent {
  const fields = requestFields(identity, details, stamp);
  const detail: StartedDetail =
    identity.action === 'dissociate'
      ? { ...fields, action: 'dissociate', status: 'DISSOCIATING' }
      : { ...fields, action: 'associate', status: 'ASSOCIATING' };
  const detailType = ACTION_DETAIL_TYPES[identity.action].started;
  return { detailType, domainName: identity.domainName, detail };
}

export function succeededEvent(
  identity: RequestIdentity,
  details: PackageDetails,
  stamp: EventStamp,
): AssociationEvent {
  const fields = requestFields(identity, details, stamp);
  // A dissociated package is no longer listed: there is no status to report.
  const detail: SucceededDetail =
    identity.action === 'dissociate'
      ? { ...fields, action: 'dissociate' }
      : { ...fields, action: 'associate', status: 'ACTIVE' };
  const detailType = ACTION_DETAIL_TYPES[identity.action].succeeded;
  return { detailType, domainName: identity.domainName, detail };
}

export function failedEvent(
  identity: RequestIdentity,
  reason: FailureReason,
  stamp: EventStamp,
  details: PackageDetails = {},
): AssociationEvent {
  const failure = {
    ...requestFields(identity, details, stamp),
    status: details.status,
    error: reason,
    errorDetails: details.errorDetails,
  };
  const detail: FailedDetail =
    identity.action === 'dissociate'
      ? { ...failure, action: 'dissociate' }
      : { ...failure, action: 'associate' };
  const detailType = ACTION_DETAIL_TYPES[identity.action].failed;
  return { detailType, domainName: identity.domainName, detail };
}

/**
 * A message refused before it became a request. It names the body's key as `requestedIdempotencyKey`, never as
 * `idempotencyKey`: a conflicting message must not read, to a subscriber keyed on the key, as that key's outcome.
 */
export function rejectedEvent(
  messageId: string,
  hint: RejectionHint,
  error: { code: RejectionCode; message: string },
  stamp: EventStamp,
): AssociationEvent {
  const detail: RejectedDetail = {
    eventId: stamp.eventId,
    messageId,
    correlationId: hint.correlationId ?? messageId,
    requestedIdempotencyKey: hint.idempotencyKey,
    domainName: hint.domainName ?? null,
    packageId: hint.packageId ?? null,
    requestedBy: hint.requestedBy,
    attempt: stamp.attempt,
    occurredAt: stamp.occurredAt.toISOString(),
    error,
  };
  return { detailType: DETAIL_TYPES.rejected, domainName: hint.domainName ?? null, detail };
}
