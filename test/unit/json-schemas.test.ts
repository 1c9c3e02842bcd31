import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  DETAIL_SCHEMAS,
  dissociationFailedDetailSchema,
  dissociationStartedDetailSchema,
  dissociationSucceededDetailSchema,
  failedDetailSchema,
  rejectedDetailSchema,
  startedDetailSchema,
  succeededDetailSchema,
} from '../../src/domain/event-schemas.ts';
import { failedEvent, rejectedEvent, startedEvent, succeededEvent } from '../../src/domain/events.ts';
import { jsonSchemas, SCHEMA_ID_BASE } from '../../src/domain/json-schemas.ts';

const SCHEMA_DIR = join(import.meta.dirname, '../../schema');

describe('published JSON Schemas', () => {
  it.each(Object.entries(jsonSchemas()))(
    'schema/%s is the committed output of npm run schemas',
    (file, schema) => {
      const committed = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8'));
      expect(committed).toEqual(schema);
    },
  );

  it('leaves no committed schema that npm run schemas no longer writes', () => {
    const committed = readdirSync(SCHEMA_DIR, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.json'),
    );
    expect(committed.sort()).toEqual(Object.keys(jsonSchemas()).sort());
  });

  it('gives every detail type an envelope and a detail schema, each $id its path under the base', () => {
    const schemas = jsonSchemas();
    for (const detailType of Object.keys(DETAIL_SCHEMAS)) {
      const envelope = schemas[`events/${detailType}.schema.json`];
      expect(envelope).toMatchObject({
        $id: `${SCHEMA_ID_BASE}events/${detailType}.schema.json`,
        required: [
          'version',
          'id',
          'detail-type',
          'source',
          'account',
          'time',
          'region',
          'resources',
          'detail',
        ],
        properties: { 'detail-type': { const: detailType }, detail: { title: detailType } },
      });
      expect(schemas[`events/detail/${detailType}.schema.json`]).toMatchObject({
        $id: `${SCHEMA_ID_BASE}events/detail/${detailType}.schema.json`,
        title: detailType,
      });
    }
    expect(schemas['request.schema.json']).toMatchObject({ $id: `${SCHEMA_ID_BASE}request.schema.json` });
  });

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
      action: 'associate',
      idempotencyKey: 'k',
      correlationId: 'c',
      domainName: 'catalog-search',
      packageId: 'F1',
      attempt: 1,
      occurredAt: '2026-11-28T10:00:00.000Z',
      error: { code: 'RetriesExhausted', message: 'm', retryable: true },
    });
  });

  it("a dissociation's Started, Succeeded and Failed, each against its own schema and not an association's", () => {
    const removal = { ...identity, action: 'dissociate' as const };
    const started = startedEvent(removal, {}, stamp('d1'));
    const succeeded = succeededEvent(removal, {}, stamp('d2'));
    const failed = failedEvent(
      removal,
      { code: 'DissociationFailed', message: 'm', retryable: false },
      stamp('d3'),
    );

    expect([started.detailType, succeeded.detailType, failed.detailType]).toEqual([
      'PackageDissociationStarted',
      'PackageDissociationSucceeded',
      'PackageDissociationFailed',
    ]);
    expect(dissociationStartedDetailSchema.safeParse(started.detail).success).toBe(true);
    expect(dissociationSucceededDetailSchema.safeParse(succeeded.detail).success).toBe(true);
    expect(succeeded.detail).not.toHaveProperty('status');
    expect(dissociationFailedDetailSchema.safeParse(failed.detail).success).toBe(true);
    expect(startedDetailSchema.safeParse(started.detail).success).toBe(false);
    expect(failedDetailSchema.safeParse(failed.detail).success).toBe(false);
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

describe('published envelope schemas, read by a JSON Schema validator', () => {
  // An event as the local stack's events queue delivered it (README quick start).
  const delivered = {
    version: '0',
    id: '887c767b-07ff-4404-9d8d-f63167c125cb',
    'detail-type': 'PackageAssociationSucceeded',
    source: 'package-associator',
    account: '000000000000',
    time: '2026-12-01T18:59:40Z',
    region: 'us-east-1',
    resources: ['arn:aws:es:us-east-1:000000000000:domain/catalog-search'],
    detail: JSON.parse(
      JSON.stringify(
        succeededEvent(
          {
            action: 'associate',
            idempotencyKey: 'k',
            correlationId: 'c',
            domainName: 'catalog-search',
            packageId: 'F111111111',
          },
          { packageName: 'catalog-synonyms' },
          { eventId: 'e1', attempt: 1, occurredAt: new Date('2026-12-01T18:59:40.004Z') },
        ).detail,
      ),
    ) as Record<string, unknown>,
  };
  // The schemas carry a pattern for every date-time, so formats add nothing here.
  const validate = new Ajv2020({ validateFormats: false }).compile(
    jsonSchemas()['events/PackageAssociationSucceeded.schema.json'] as object,
  );

  it('accept the event a subscriber receives, and envelope fields EventBridge may add', () => {
    expect(validate(delivered)).toBe(true);
    expect(validate({ ...delivered, 'replay-name': 'r' })).toBe(true);
  });

  it('refuse another detail type, a missing detail and a detail field the service never sends', () => {
    expect(validate({ ...delivered, 'detail-type': 'PackageAssociationFailed' })).toBe(false);
    const { detail: _detail, ...withoutDetail } = delivered;
    expect(validate(withoutDetail)).toBe(false);
    expect(validate({ ...delivered, detail: { ...delivered.detail, extra: 1 } })).toBe(false);
    expect(validate({ ...delivered, account: '0' })).toBe(false);
  });
});
