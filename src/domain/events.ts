import { z } from 'zod';

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

/** What AWS told us about a package on a domain, in the event's field names. */
export const packageDetailsSchema = z.object({
  status: z.enum(DOMAIN_PACKAGE_STATUSES).optional(),
  packageName: z.string().optional(),
  packageType: z.string().optional(),
  packageVersion: z.string().optional(),
  referencePath: z.string().optional(),
});
export type PackageDetails = z.infer<typeof packageDetailsSchema> & {
  errorDetails?: { errorType?: string; errorMessage?: string };
};

const commonDetailSchema = packageDetailsSchema.extend({
  idempotencyKey: z.string(),
  correlationId: z.string(),
  domainName: z
    .string()
    .nullable()
    .meta({ description: 'null only when a rejected body named no valid domain' }),
  packageId: z
    .string()
    .nullable()
    .meta({ description: 'null only when a rejected body named no valid package' }),
  attempt: z.int().min(1).meta({ description: 'the delivery attempt (SQS ApproximateReceiveCount)' }),
  requestedBy: z.string().optional(),
  occurredAt: z.iso.datetime(),
});

export const startedDetailSchema = commonDetailSchema
  .extend({ domainName: z.string(), packageId: z.string(), status: z.literal('ASSOCIATING') })
  .meta({ title: DETAIL_TYPES.started });

export const succeededDetailSchema = commonDetailSchema
  .extend({ domainName: z.string(), packageId: z.string(), status: z.literal('ACTIVE') })
  .meta({ title: DETAIL_TYPES.succeeded });

export const failedDetailSchema = commonDetailSchema
  .extend({
    error: z.object({
      code: z.string().meta({ description: 'a reason code of DESIGN.md, or the AWS error name' }),
      message: z.string(),
      retryable: z.boolean().meta({ description: 'whether resending the same request could succeed' }),
    }),
    errorDetails: z
      .object({ errorType: z.string().optional(), errorMessage: z.string().optional() })
      .optional()
      .meta({ description: "AWS's ErrorDetails when the domain reported ASSOCIATION_FAILED" }),
  })
  .meta({ title: DETAIL_TYPES.failed });

export type StartedDetail = z.infer<typeof startedDetailSchema>;
export type SucceededDetail = z.infer<typeof succeededDetailSchema>;
export type FailedDetail = z.infer<typeof failedDetailSchema>;
export type EventDetail = StartedDetail | SucceededDetail | FailedDetail;

export const DETAIL_SCHEMAS = {
  [DETAIL_TYPES.started]: startedDetailSchema,
  [DETAIL_TYPES.succeeded]: succeededDetailSchema,
  [DETAIL_TYPES.failed]: failedDetailSchema,
} as const;

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
