import * as z from 'zod';
import { DETAIL_TYPES, DOMAIN_PACKAGE_STATUSES, REJECTION_CODES } from './events.ts';

// The event details as zod schemas: their types, and the published JSON Schemas (npm run schemas). Kept out
// of events.ts so the handlers, which only build details, do not construct these schemas at every cold start.

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
  /** Epoch ms of the listing's `LastUpdated`: which operation a status belongs to. Not published. */
  lastUpdated?: number;
};

const eventIdSchema = z.string().meta({
  description:
    'the same for every publication of this event (after a crash, a retry, a replay), another for every other event: de-duplicate on it',
});

const requestDetailSchema = packageDetailsSchema.extend({
  eventId: eventIdSchema,
  action: z.enum(['associate', 'dissociate']),
  packageVersion: z
    .string()
    .optional()
    .meta({ description: 'the version the domain reports the package at, where AWS gave it' }),
  targetVersion: z.string().optional().meta({
    description:
      "the version an association must end at: the request's packageVersion, or the package's available version once seen usable",
  }),
  idempotencyKey: z.string(),
  correlationId: z.string(),
  domainName: z.string(),
  packageId: z.string(),
  attempt: z.int().min(1).meta({ description: 'the attempts the service had made at this request' }),
  requestedBy: z.string().optional(),
  rolloutId: z.string().optional().meta({ description: "a rollout's child request: the rollout's id" }),
  occurredAt: z.iso.datetime(),
});

export const startedDetailSchema = requestDetailSchema
  .extend({ action: z.literal('associate'), status: z.literal('ASSOCIATING') })
  .meta({ title: DETAIL_TYPES.started });

export const succeededDetailSchema = requestDetailSchema
  .extend({ action: z.literal('associate'), status: z.literal('ACTIVE') })
  .meta({ title: DETAIL_TYPES.succeeded });

export const dissociationStartedDetailSchema = requestDetailSchema
  .extend({ action: z.literal('dissociate'), status: z.literal('DISSOCIATING') })
  .meta({ title: DETAIL_TYPES.dissociationStarted });

/** No `status`: the domain no longer lists the package. */
export const dissociationSucceededDetailSchema = requestDetailSchema
  .omit({ status: true })
  .extend({ action: z.literal('dissociate') })
  .meta({ title: DETAIL_TYPES.dissociationSucceeded });

const failureDetailSchema = requestDetailSchema.extend({
  error: z.object({
    code: z.string().meta({ description: 'a reason code of docs/DESIGN.md, or the AWS error name' }),
    message: z.string(),
    retryable: z.boolean().meta({ description: 'whether resending the same request could succeed' }),
  }),
  errorDetails: z
    .object({ errorType: z.string().optional(), errorMessage: z.string().optional() })
    .optional()
    .meta({
      description: "AWS's ErrorDetails when the domain reported ASSOCIATION_FAILED or DISSOCIATION_FAILED",
    }),
});

export const failedDetailSchema = failureDetailSchema
  .extend({ action: z.literal('associate') })
  .meta({ title: DETAIL_TYPES.failed });

export const dissociationFailedDetailSchema = failureDetailSchema
  .extend({ action: z.literal('dissociate') })
  .meta({ title: DETAIL_TYPES.dissociationFailed });

export const rejectedDetailSchema = z
  .object({
    eventId: eventIdSchema,
    messageId: z.string().meta({ description: 'the SQS message id of the rejected message' }),
    correlationId: z
      .string()
      .meta({ description: "the body's correlationId if it had a valid one, else the messageId" }),
    requestedIdempotencyKey: z.string().optional().meta({
      description: "the body's idempotencyKey, if valid: a rejected message is not that key's request",
    }),
    domainName: z.string().nullable().meta({ description: 'null when the body named no valid domain' }),
    packageId: z.string().nullable().meta({ description: 'null when the body named no valid package' }),
    requestedBy: z.string().optional(),
    attempt: z.int().min(1).meta({ description: 'the delivery attempt (SQS ApproximateReceiveCount)' }),
    occurredAt: z.iso.datetime(),
    error: z.object({
      code: z.enum(REJECTION_CODES),
      message: z.string(),
    }),
  })
  .meta({ title: DETAIL_TYPES.rejected });

const domainProgressSchema = z.object({
  state: z.enum(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED']),
  code: z.string().optional().meta({ description: "a failed child's reason code" }),
  packageVersion: z.string().optional().meta({ description: 'the version the domain reported at the end' }),
});

const rolloutDetailSchema = z.object({
  eventId: eventIdSchema,
  rolloutId: z.string().meta({ description: "the rollout's idempotencyKey; its child requests carry it" }),
  correlationId: z.string(),
  packageId: z.string(),
  packageVersion: z.string().optional().meta({ description: 'the version every domain must end at' }),
  strategy: z.object({ canary: z.int(), waveSize: z.int(), maxFailures: z.int() }),
  domains: z.array(z.string()).meta({ description: 'the resolved domains, in rollout order' }),
  waves: z.array(z.array(z.string())).meta({ description: 'wave 0 is the canary' }),
  wave: z.int().min(0).optional().meta({ description: 'the wave a WaveCompleted event is about' }),
  outcomes: z.record(z.string(), domainProgressSchema).meta({ description: 'per domain, so far' }),
  counts: z.object({ pending: z.int(), running: z.int(), succeeded: z.int(), failed: z.int() }),
  requestedBy: z.string().optional(),
  occurredAt: z.iso.datetime(),
});

export const rolloutStartedDetailSchema = rolloutDetailSchema.meta({ title: DETAIL_TYPES.rolloutStarted });
export const rolloutWaveCompletedDetailSchema = rolloutDetailSchema
  .extend({ wave: z.int().min(0) })
  .meta({ title: DETAIL_TYPES.rolloutWaveCompleted });
export const rolloutCompletedDetailSchema = rolloutDetailSchema.meta({
  title: DETAIL_TYPES.rolloutCompleted,
});
export const rolloutHaltedDetailSchema = rolloutDetailSchema.meta({ title: DETAIL_TYPES.rolloutHalted });
export type RolloutDetail = z.infer<typeof rolloutDetailSchema>;

export type StartedDetail =
  | z.infer<typeof startedDetailSchema>
  | z.infer<typeof dissociationStartedDetailSchema>;
export type SucceededDetail =
  | z.infer<typeof succeededDetailSchema>
  | z.infer<typeof dissociationSucceededDetailSchema>;
export type FailedDetail =
  | z.infer<typeof failedDetailSchema>
  | z.infer<typeof dissociationFailedDetailSchema>;
export type RejectedDetail = z.infer<typeof rejectedDetailSchema>;
export type EventDetail = StartedDetail | SucceededDetail | FailedDetail | RejectedDetail | RolloutDetail;

export const DETAIL_SCHEMAS = {
  [DETAIL_TYPES.started]: startedDetailSchema,
  [DETAIL_TYPES.succeeded]: succeededDetailSchema,
  [DETAIL_TYPES.failed]: failedDetailSchema,
  [DETAIL_TYPES.dissociationStarted]: dissociationStartedDetailSchema,
  [DETAIL_TYPES.dissociationSucceeded]: dissociationSucceededDetailSchema,
  [DETAIL_TYPES.dissociationFailed]: dissociationFailedDetailSchema,
  [DETAIL_TYPES.rejected]: rejectedDetailSchema,
  [DETAIL_TYPES.rolloutStarted]: rolloutStartedDetailSchema,
  [DETAIL_TYPES.rolloutWaveCompleted]: rolloutWaveCompletedDetailSchema,
  [DETAIL_TYPES.rolloutCompleted]: rolloutCompletedDetailSchema,
  [DETAIL_TYPES.rolloutHalted]: rolloutHaltedDetailSchema,
} as const;
