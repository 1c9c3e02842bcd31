import * as z from 'zod';
import { DETAIL_SCHEMAS } from './event-schemas.ts';
import { associationRequestSchema } from './request.ts';

/**
 * The published JSON Schemas, generated from the same zod schemas that validate requests and build events,
 * so the documents producers and subscribers read cannot drift from the code.
 */
export function jsonSchemas(): Record<string, unknown> {
  const request = z.toJSONSchema(associationRequestSchema, { target: 'draft-2020-12', io: 'input' });
  const files: Record<string, unknown> = { 'request.schema.json': request };
  for (const [detailType, schema] of Object.entries(DETAIL_SCHEMAS)) {
    files[`events/${detailType}.schema.json`] = z.toJSONSchema(schema, { target: 'draft-2020-12' });
  }
  return files;
}
