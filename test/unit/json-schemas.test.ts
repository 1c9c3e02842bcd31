import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  failedDetailSchema,
  rejectedDetailSchema,
  startedDetailSchema,
  succeededDetailSchema,
} from '../../src/domain/event-schemas.ts';
import { failedEvent, rejectedEvent, startedEvent, succeededEvent } from '../../src/domain/events.ts';
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
    action: 'associate' as const,
    idempotencyKey: 'k',
    correlationId: 'c',
    domainName: 'catalog-search',
    packageId: 'F1',
  };
  const stamp = (eventId: string) => ({
    eventId,
    attempt: 1,
    occurredAt: new Date('2026-11-28T10:00:00.000Z'),
  });

  it('Started, Succeeded and Failed', () => {
    expect(
      startedDetailSchema.safeParse(startedEvent(identity, { packageName: 'p' }, stamp('e1')).detail).success,
    ).toBe(true);
    expect(succeededDetailSchema.safeParse(succeededEvent(identity, {}, stamp('e2')).detail).success).toBe(
      true,
    );
    const failed = failedEvent(
      identity,
      { code: 'RetriesExhausted', message: 'm', retryable: true },
      stamp('e3'),
    );
    expect(failedDetailSchema.parse(failed.detail)).toEqual({
      eventId: 'e3',
      idempotencyKey: 'k',
      correlationId: 'c',
      domainName: 'catalog-search',
      packageId: 'F1',
      attempt: 1,
      occurredAt: '2026-11-28T10:00:00.000Z',
      error: { code: 'RetriesExhausted', message: 'm', retryable: true },
    });
  });

  it('Rejected names the message, and the key only as the one it asked for', () => {
    const rejected = rejectedEvent(
      'message-1',
      { idempotencyKey: 'k' },
      { code: 'InvalidRequest', message: 'body: must be valid JSON' },
      stamp('e4'),
    );
    expect(rejectedDetailSchema.parse(rejected.detail)).toEqual({
      eventId: 'e4',
      messageId: 'message-1',
      correlationId: 'message-1',
      requestedIdempotencyKey: 'k',
      domainName: null,
      packageId: null,
      attempt: 1,
      occurredAt: '2026-11-28T10:00:00.000Z',
      error: { code: 'InvalidRequest', message: 'body: must be valid JSON' },
    });
    expect(rejected.detailType).toBe('PackageRequestRejected');
  });
});
