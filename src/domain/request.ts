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

const associationConfigurationSchema = z.strictObject(
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

const idempotencyKeySchema = z.optional(
  z
    .string({ error: 'must be a string' })
    .check(
      ...lengthBetween(1, 128),
      z.regex(IDEMPOTENCY_KEY_PATTERN, { error: 'must contain only A-Z a-z 0-9 . _ : / -' }),
    ),
);
const correlationIdSchema = z.optional(
  z.string({ error: 'must be a string' }).check(...lengthBetween(1, 128)),
);
const requestedBySchema = z.optional(
  z
    .string({ error: 'must be a string' })
    .check(z.maxLength(256, { error: 'must be at most 256 characters' })),
);

/** The actions a request may name; `rollout` is not one yet. */
export const REQUEST_ACTIONS = ['associate', 'dissociate'] as const;
export type RequestAction = (typeof REQUEST_ACTIONS)[number];

/**
 * The request message producers put on the requests queue.
 * Strict: an unknown field is rejected, because a typo (say `packageID`) must not be silently ignored.
 * zod/mini rather than zod: the same rules at a fraction of the import cost, which every cold start pays.
 */
export const associationRequestSchema = z
  .strictObject(
    {
      action: z.optional(z.literal('associate', { error: 'must be "associate" here' })),
      domainName: domainNameSchema,
      packageId: packageIdSchema,
      packageVersion: z.optional(
        z
          .string({ error: 'must be a string' })
          .check(
            ...lengthBetween(1, 64),
            z.regex(PACKAGE_VERSION_PATTERN, { error: 'must contain only A-Z a-z 0-9 . _ -' }),
          ),
      ),
      prerequisitePackageIds: z.optional(
        z
          .array(packageIdSchema, { error: 'must be an array of package ids' })
          .check(z.maxLength(20, { error: 'must hold at most 20 package ids' })),
      ),
      associationConfiguration: z.optional(associationConfigurationSchema),
      idempotencyKey: idempotencyKeySchema,
      correlationId: correlationIdSchema,
      requestedBy: requestedBySchema,
    },
    { error: 'must be a JSON object' },
  )
  .register(z.globalRegistry, {
    title: 'PackageAssociationRequest',
    description: 'A request to associate a custom package with an Amazon OpenSearch Service domain.',
  });

export const dissociationRequestSchema = z
  .strictObject(
    {
      action: z.literal('dissociate', { error: 'must be "dissociate"' }),
      domainName: domainNameSchema,
      packageId: packageIdSchema,
      idempotencyKey: idempotencyKeySchema,
      correlationId: correlationIdSchema,
      requestedBy: requestedBySchema,
    },
    { error: 'must be a JSON object' },
  )
  .register(z.globalRegistry, {
    title: 'PackageDissociationRequest',
    description: 'A request to remove a custom package from an Amazon OpenSearch Service domain.',
  });

export type AssociationRequestMessage = z.infer<typeof associationRequestSchema>;
type DissociationRequestMessage = z.infer<typeof dissociationRequestSchema>;

/**
 * A validated request with its defaults resolved: every later step can rely on these ids and on `action`.
 * A dissociation has no version, prerequisites or configuration.
 */
export type AssociationRequest = (
  | (AssociationRequestMessage & { action: 'associate' })
  | (DissociationRequestMessage & {
      packageVersion?: undefined;
      prerequisitePackageIds?: undefined;
      associationConfiguration?: undefined;
    })
) & {
  idempotencyKey: string;
  correlationId: string;
};

export type ParseResult =
  | { ok: true; request: AssociationRequest }
  | { ok: false; message: string; hint: Partial<AssociationRequestMessage> };

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * A hostile body can hold thousands of unknown keys, or one of megabytes: the message goes into a Failed
 * event (256 KiB per PutEvents entry, shared with batch-mates) and a log line, so it names a few, briefly.
 */
const MAX_UNKNOWN_FIELDS_NAMED = 10;
const MAX_FIELD_NAME_LENGTH = 64;

function shorten(name: string): string {
  return name.length > MAX_FIELD_NAME_LENGTH ? `${name.slice(0, MAX_FIELD_NAME_LENGTH)}…` : name;
}

/** One message per field, naming the field and the first rule it breaks. */
function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string {
  const messages = new Map<string, string>();
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const prefix = issue.path.length > 0 ? `${issue.path.map(String).join('.')}.` : '';
      for (const key of issue.keys.slice(0, MAX_UNKNOWN_FIELDS_NAMED)) {
        messages.set(`${prefix}${shorten(key)}`, 'is not a known field');
      }
      const more = issue.keys.length - MAX_UNKNOWN_FIELDS_NAMED;
      if (more > 0) messages.set(`${prefix}(${more} more)`, 'is not a known field');
      continue;
    }
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : 'body';
    if (messages.has(field)) continue;
    const missing =
      issue.path.length > 0 && issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined;
    messages.set(field, missing ? 'is required' : issue.message);
  }
  return [...messages].map(([field, message]) => `${field}: ${message}`).join('; ');
}

/**
 * Best-effort ids from a rejected body, so the Failed event and the audit line can still say which domain,
 * package and correlation id a bad request was about. Only values that pass their own rule are kept.
 */
function hintFrom(value: unknown): Partial<AssociationRequestMessage> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const record = value as Record<string, unknown>;
  const hint: Partial<AssociationRequestMessage> = {};
  if (domainNameSchema.safeParse(record.domainName).success) hint.domainName = record.domainName as string;
  if (packageIdSchema.safeParse(record.packageId).success) hint.packageId = record.packageId as string;
  for (const field of ['correlationId', 'requestedBy', 'idempotencyKey'] as const) {
    const candidate = record[field];
    const rule = associationRequestSchema.shape[field];
    if (rule.safeParse(candidate).success && typeof candidate === 'string') hint[field] = candidate;
  }
  return hint;
}

/**
 * Parses an SQS body into a request. Never throws: a bad body is a permanent `InvalidRequest`, not a crash
 * that would fail the record's batch-mates.
 *
 * @param body the raw SQS message body
 * @param messageId the SQS message id, the default idempotency key
 */
export function parseRequest(body: string, messageId: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, message: 'body: must be valid JSON', hint: {} };
  }
  const schema = schemaFor(value);
  if (schema === undefined) {
    const message = `action: must be one of ${REQUEST_ACTIONS.join(', ')}`;
    return { ok: false, message, hint: hintFrom(value) };
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const message = describeIssues(result.error.issues, value);
    return { ok: false, message, hint: hintFrom(value) };
  }
  const idempotencyKey = result.data.idempotencyKey ?? messageId;
  const correlationId = result.data.correlationId ?? idempotencyKey;
  const request: AssociationRequest =
    result.data.action === 'dissociate'
      ? { ...result.data, action: 'dissociate', idempotencyKey, correlationId }
      : { ...result.data, action: 'associate', idempotencyKey, correlationId };
  return { ok: true, request };
}

/** The schema of the body's action; undefined for an action this service does not know. */
function schemaFor(value: unknown) {
  const action =
    typeof value === 'object' && value !== null ? (value as { action?: unknown }).action : undefined;
  if (action === undefined || action === 'associate') return associationRequestSchema;
  return action === 'dissociate' ? dissociationRequestSchema : undefined;
}
