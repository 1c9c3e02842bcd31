import * as z from 'zod/mini';
import {
  correlationIdSchema,
  domainNameSchema,
  idempotencyKeySchema,
  packageIdSchema,
  packageVersionSchema,
  requestedBySchema,
} from './request-fields.ts';

/** A domain name, or a prefix of one followed by `*`: `orders-*`. */
const DOMAIN_PATTERN = /^[a-z][a-z0-9-]{0,27}\*$/;

const domainOrPatternSchema = z.string({ error: 'must be a string' }).check(
  z.refine((value) => DOMAIN_PATTERN.test(value) || domainNameSchema.safeParse(value).success, {
    error: 'must be a domain name or a prefix followed by * (orders-*)',
  }),
);

const count = (min: number, max: number) =>
  z
    .int({ error: 'must be a whole number' })
    .check(
      z.gte(min, { error: `must be ${min} to ${max}` }),
      z.lte(max, { error: `must be ${min} to ${max}` }),
    );

/**
 * A rollout: one package version on many domains, in waves (docs/DESIGN.md, "Rollouts"). Strict like every
 * message: an unknown field, in the strategy too, is rejected by name.
 */
export const rolloutRequestSchema = z
  .strictObject(
    {
      action: z.literal('rollout', { error: 'must be "rollout"' }),
      packageId: packageIdSchema,
      packageVersion: packageVersionSchema,
      domains: z
        .array(domainOrPatternSchema, { error: 'must be an array of domain names and prefix* patterns' })
        .check(
          z.minLength(1, { error: 'must name 1 to 100 domains or patterns' }),
          z.maxLength(100, { error: 'must name 1 to 100 domains or patterns' }),
        ),
      strategy: z.optional(
        z.strictObject(
          {
            canary: z.optional(count(0, 100)),
            waveSize: z.optional(count(1, 100)),
            maxFailures: z.optional(count(0, 100)),
          },
          { error: 'must be an object' },
        ),
      ),
      idempotencyKey: idempotencyKeySchema,
      correlationId: correlationIdSchema,
      requestedBy: requestedBySchema,
    },
    { error: 'must be a JSON object' },
  )
  .register(z.globalRegistry, {
    title: 'PackageRolloutRequest',
    description: 'A request to put one package version on many Amazon OpenSearch Service domains, in waves.',
  });

export type RolloutRequestMessage = z.infer<typeof rolloutRequestSchema>;

export interface RolloutStrategy {
  canary: number;
  waveSize: number;
  maxFailures: number;
}

/** A validated rollout with its defaults resolved. */
export type RolloutRequest = Omit<RolloutRequestMessage, 'strategy'> & {
  idempotencyKey: string;
  correlationId: string;
  strategy: RolloutStrategy;
};

export const DEFAULT_STRATEGY: RolloutStrategy = { canary: 1, waveSize: 5, maxFailures: 0 };

export function withRolloutDefaults(
  message: RolloutRequestMessage,
  idempotencyKey: string,
  correlationId: string,
): RolloutRequest {
  return {
    ...message,
    idempotencyKey,
    correlationId,
    strategy: { ...DEFAULT_STRATEGY, ...message.strategy },
  };
}
