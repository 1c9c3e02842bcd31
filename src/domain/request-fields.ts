/** The rules of the fields every message shares, each naming the rule it breaks. */
import * as z from 'zod/mini';

/** AWS's DomainName rule (OpenSearch Service API reference, DomainName type). */
const DOMAIN_NAME_PATTERN = /^[a-z][a-z0-9-]+$/;
/** Both package id styles the current API accepts: legacy `F123`/`G123` and `pkg-<hex>`. */
const PACKAGE_ID_PATTERN = /^(([FG][0-9]+)|(pkg-[a-f0-9]+))$/;
const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:/-]+$/;
const IAM_ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}$/;

const lengthBetween = (min: number, max: number) => {
  const error = `must be ${min} to ${max} characters`;
  return [z.minLength(min, { error }), z.maxLength(max, { error })] as const;
};

export const domainNameSchema = z.string({ error: 'must be a string' }).check(
  ...lengthBetween(3, 28),
  z.regex(DOMAIN_NAME_PATTERN, {
    error: 'must start with a lowercase letter and contain only lowercase letters, digits and hyphens',
  }),
);

export const packageIdSchema = z
  .string({ error: 'must be a string' })
  .check(z.regex(PACKAGE_ID_PATTERN, { error: 'must match F<digits>, G<digits> or pkg-<lowercase hex>' }));

export const associationConfigurationSchema = z.strictObject(
  {
    keyStoreAccessOption: z.strictObject(
      {
        keyStoreAccessEnabled: z.boolean({ error: 'must be a boolean' }),
        keyAccessRoleArn: z.optional(
          z
            .string({ error: 'must be a string' })
            .check(z.regex(IAM_ROLE_ARN_PATTERN, { error: 'must be an IAM role ARN' })),
        ),
      },
      { error: 'must be an object' },
    ),
  },
  { error: 'must be an object' },
);

const PACKAGE_VERSION_PATTERN = /^[A-Za-z0-9._-]+$/;

export const packageVersionSchema = z.optional(
  z
    .string({ error: 'must be a string' })
    .check(
      ...lengthBetween(1, 64),
      z.regex(PACKAGE_VERSION_PATTERN, { error: 'must contain only A-Z a-z 0-9 . _ -' }),
    ),
);

export const idempotencyKeySchema = z.optional(
  z
    .string({ error: 'must be a string' })
    .check(
      ...lengthBetween(1, 128),
      z.regex(IDEMPOTENCY_KEY_PATTERN, { error: 'must contain only A-Z a-z 0-9 . _ : / -' }),
    ),
);
export const correlationIdSchema = z.optional(
  z.string({ error: 'must be a string' }).check(...lengthBetween(1, 128)),
);
export const requestedBySchema = z.optional(
  z
    .string({ error: 'must be a string' })
    .check(z.maxLength(256, { error: 'must be at most 256 characters' })),
);
