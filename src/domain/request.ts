import * as z from 'zod/mini';
import {
  associationConfigurationSchema,
  correlationIdSchema,
  domainNameSchema,
  idempotencyKeySchema,
  packageIdSchema,
  packageVersionSchema,
  requestedBySchema,
} from './request-fields.ts';
import { type RolloutRequest, rolloutRequestSchema, withRolloutDefaults } from './rollout-request.ts';

export { domainNameSchema, packageIdSchema };

/** The actions a message may name; a rollout is not a request of its own but makes one per domain. */
export const REQUEST_ACTIONS = ['associate', 'dissociate', 'rollout'] as const;
export type RequestAction = 'associate' | 'dissociate';

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
      packageVersion: packageVersionSchema,
      prerequisitePackageIds: z.optional(
        z
          .array(packageIdSchema, { error: 'must be an array of package ids' })
          .check(z.maxLength(20, { error: 'must hold at most 20 package ids' })),
      ),
      associationConfiguration: z.optional(associationConfigurationSchema),
      idempotencyKey: idempotencyKeySchema,
      correlationId: correlationIdSchema,
      requestedBy: requestedBySchema,
      /** Set by the service on a rollout's child requests: their decisions advance the rollout. */
      rolloutId: idempotencyKeySchema,
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
  | { ok: true; kind: 'request'; request: AssociationRequest }
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
  const parsed = parseMessage(body, messageId);
  if (!parsed.ok || parsed.kind === 'request') return parsed;
  return { ok: false, message: 'action: must be associate or dissociate here', hint: parsed.hint };
}

/** Every message the requests queue takes: an association, a dissociation or a rollout. */
export type ParsedMessage =
  | { ok: true; kind: 'request'; request: AssociationRequest }
  | { ok: true; kind: 'rollout'; rollout: RolloutRequest; hint: Partial<AssociationRequestMessage> }
  | { ok: false; message: string; hint: Partial<AssociationRequestMessage> };

/** Like parseRequest, for any action; never throws. */
export function parseMessage(body: string, messageId: string): ParsedMessage {
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
  if (result.data.action === 'rollout') {
    const rollout = withRolloutDefaults(result.data, idempotencyKey, correlationId);
    return { ok: true, kind: 'rollout', rollout, hint: hintFrom(value) };
  }
  const request: AssociationRequest =
    result.data.action === 'dissociate'
      ? { ...result.data, action: 'dissociate', idempotencyKey, correlationId }
      : { ...result.data, action: 'associate', idempotencyKey, correlationId };
  return { ok: true, kind: 'request', request };
}

/** The schema of the body's action; undefined for an action this service does not know. */
function schemaFor(value: unknown) {
  const action =
    typeof value === 'object' && value !== null ? (value as { action?: unknown }).action : undefined;
  if (action === undefined || action === 'associate') return associationRequestSchema;
  if (action === 'rollout') return rolloutRequestSchema;
  return action === 'dissociate' ? dissociationRequestSchema : undefined;
}
