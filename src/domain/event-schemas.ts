import * as z from 'zod';
import { DETAIL_TYPES, DOMAIN_PACKAGE_STATUSES } from './events.ts';

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
