import { readFileSync } from 'node:fs';
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_STAGES, idempotencyRecordId, viewRecord } from '../../src/cli/idempotency.ts';

/** Powertools' own computation, configured as src/service/associate.ts and track.ts configure it. */
function powertoolsRecordId(keyPrefix: string, idempotencyKey: string): string {
  const layer = new DynamoDBPersistenceLayer({ tableName: 'unused' });
  layer.configure({ config: new IdempotencyConfig({ eventKeyJmesPath: 'idempotencyKey' }), keyPrefix });
  const hashed = (
    layer as unknown as { getHashedIdempotencyKey(data: unknown): string }
  ).getHashedIdempotencyKey({
    idempotencyKey,
    domainName: 'orders-logs',
    packageId: 'F1',
  });
  return hashed;
}

describe('IDEMPOTENCY_STAGES', () => {
  it('lists every key prefix the services pass to makeIdempotent, and no other', () => {
    const services = ['associate.ts', 'terminal.ts', 'track.ts'].map((file) =>
      readFileSync(new URL(`../../src/service/${file}`, import.meta.url), 'utf8'),
    );
    const prefixes = services.flatMap((text) =>
      [...text.matchAll(/keyPrefix: '([\w-]+)'/g)].map((match) => match[1]),
    );
    expect(prefixes.sort()).toEqual(IDEMPOTENCY_STAGES.map((stage) => stage.keyPrefix).sort());
  });
});

describe('idempotencyRecordId', () => {
  it('equals the id Powertools stores, for every stage and any key', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128, unit: 'grapheme' }), (key) => {
        for (const { keyPrefix } of IDEMPOTENCY_STAGES) {
          expect(idempotencyRecordId(keyPrefix, key)).toBe(powertoolsRecordId(keyPrefix, key));
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe('viewRecord', () => {
  const now = new Date('2026-03-01T10:00:00.000Z');
  const seconds = (iso: string) => Date.parse(iso) / 1000;

  it('reads a completed record with its outcome and expiry', () => {
    const view = viewRecord(
      'associate',
      'associate-package#x',
      { status: 'COMPLETED', expiration: seconds('2026-03-02T10:00:00.000Z'), data: { outcome: 'started' } },
      now,
    );
    expect(view).toEqual({
      stage: 'associate',
      recordId: 'associate-package#x',
      state: 'completed',
      status: 'COMPLETED',
      expiresAt: new Date('2026-03-02T10:00:00.000Z'),
      inProgressUntil: undefined,
      outcome: { outcome: 'started' },
    });
  });

  it('tells a running step from one whose invocation died holding the lock', () => {
    const expiration = seconds('2026-03-02T10:00:00.000Z');
    const running = { status: 'INPROGRESS', expiration, in_progress_expiration: now.getTime() + 1000 };
    const dead = { status: 'INPROGRESS', expiration, in_progress_expiration: now.getTime() - 1000 };

    expect(viewRecord('terminal', 'id', running, now).state).toBe('in-progress');
    expect(viewRecord('terminal', 'id', dead, now).state).toBe('in-progress-lock-expired');
  });

  it('calls a record past its expiration expired, whatever its status', () => {
    const item = { status: 'COMPLETED', expiration: seconds('2026-03-01T09:59:59.000Z') };
    expect(viewRecord('associate', 'id', item, now).state).toBe('expired');
  });
});
