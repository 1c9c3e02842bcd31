import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  failedDetailSchema,
  startedDetailSchema,
  succeededDetailSchema,
} from '../../src/domain/event-schemas.ts';
import { failedEvent, startedEvent, succeededEvent } from '../../src/domain/events.ts';
import { jsonSchemas } from '../../src/domain/json-schemas.ts';

describe('published JSON Schemas', () => {
  it.each(Object.entries(jsonSchemas()))(
    'schema/%s is the committed output of npm run schemas',
    (file, schema) => {
      const committed = JSON.parse(readFileSync(join(import.meta.dirname, '../../schema', file), 'utf8'));
      expect(committed).toEqual(schema);
    },
  );

  it('rejects unknown request fields in the schema too', () => {
    expect(jsonSchemas()['request.schema.json']).toMatchObject({
      additionalProperties: false,
      required: ['domainName', 'packageId'],
    });
  });
});

describe('event builders produce details their schemas accept', () => {
  const identity = {
    idempotencyKey: 'k',
    correlationId: 'c',
    domainName: 'catalog-search',
    packageId: 'F1',
    requestedBy: undefined,
  };
  const at = new Date('2026-11-28T10:00:00.000Z');

  it('Started, Succeeded and Failed', () => {
    expect(
      startedDetailSchema.safeParse(startedEvent(identity, { packageName: 'p' }, 1, at).detail).success,
    ).toBe(true);
    expect(succeededDetailSchema.safeParse(succeededEvent(identity, {}, 2, at).detail).success).toBe(true);
    const failed = failedEvent(
      { ...identity, domainName: null, packageId: null },
      { code: 'InvalidRequest', message: 'body: must be valid JSON', retryable: false },
      1,
      at,
    );
    expect(failedDetailSchema.parse(failed.detail)).toEqual({
      idempotencyKey: 'k',
      correlationId: 'c',
      domainName: null,
      packageId: null,
      attempt: 1,
      occurredAt: '2026-11-28T10:00:00.000Z',
      error: { code: 'InvalidRequest', message: 'body: must be valid JSON', retryable: false },
    });
  });
});
