import * as z from 'zod';
import { DETAIL_SCHEMAS } from './event-schemas.ts';
import { associationRequestSchema, dissociationRequestSchema } from './request.ts';
import { rolloutRequestSchema } from './rollout-request.ts';

/**
 * Where each published schema says it lives: this base plus its path under schema/. An `$id` names a schema;
 * validators (ajv and the like) key their caches and `$ref`s on it, they do not fetch it.
 */
export const SCHEMA_ID_BASE = 'https://github.com/opensearch-package-associator/schema/';

/**
 * The event as an EventBridge rule's target receives it: the envelope EventBridge adds around the detail the
 * service publishes (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
 * Loose, because EventBridge may add envelope fields; the detail is the service's own and is strict.
 */
export function envelopeSchema<Detail extends z.ZodType>(detailType: string, detail: Detail) {
  return z
    .looseObject({
      version: z.literal('0'),
      id: z.string().meta({
        description:
          "EventBridge's id of this publication; a republished event gets a new one, detail.eventId does not",
      }),
      'detail-type': z.literal(detailType),
      source: z
        .string()
        .meta({ description: "the stack's eventSource param, package-associator by default" }),
      account: z.string().regex(/^\d{12}$/),
      time: z.iso.datetime().meta({ description: "the detail's occurredAt, to the second" }),
      region: z.string(),
      resources: z.array(z.string()).meta({
        description: "the domain's ARN; empty when the message named no valid domain",
      }),
      detail,
    })
    .meta({ title: `${detailType} event` });
}

function published(file: string, schema: z.core.$ZodType, io: 'input' | 'output' = 'output') {
  const { $schema, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io });
  return { $schema, $id: `${SCHEMA_ID_BASE}${file}`, ...rest };
}

/**
 * The published JSON Schemas by their path under schema/, generated from the same zod schemas that validate
 * requests and build events, so the documents producers and subscribers read cannot drift from the code:
 * `events/<DetailType>.schema.json` is the whole event a subscriber receives, `events/detail/…` its detail.
 */
export function jsonSchemas(): Record<string, unknown> {
  const files: Record<string, unknown> = {
    'request.schema.json': published('request.schema.json', associationRequestSchema, 'input'),
    'dissociation-request.schema.json': published(
      'dissociation-request.schema.json',
      dissociationRequestSchema,
      'input',
    ),
    'rollout-request.schema.json': published('rollout-request.schema.json', rolloutRequestSchema, 'input'),
  };
  for (const [detailType, detail] of Object.entries(DETAIL_SCHEMAS)) {
    const envelopeFile = `events/${detailType}.schema.json`;
    files[envelopeFile] = published(envelopeFile, envelopeSchema(detailType, detail));
    const detailFile = `events/detail/${detailType}.schema.json`;
    files[detailFile] = published(detailFile, detail);
  }
  return files;
}
