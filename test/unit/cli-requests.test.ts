import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkRequestBody,
  declaredIdempotencyKey,
  planBatches,
  readJsonLines,
  requestFromFlags,
  withFlagNames,
} from '../../cli/requests.ts';

describe('requestFromFlags', () => {
  it('maps flags to request fields and leaves out what was not given', () => {
    expect(requestFromFlags({ domain: 'orders-logs', package: 'F1' })).toEqual({
      domainName: 'orders-logs',
      packageId: 'F1',
    });
    expect(
      requestFromFlags({
        domain: 'd',
        package: 'p',
        prerequisite: ['G2', 'G3'],
        idempotencyKey: 'k',
        correlationId: 'c',
        requestedBy: 'me',
      }),
    ).toEqual({
      domainName: 'd',
      packageId: 'p',
      prerequisitePackageIds: ['G2', 'G3'],
      idempotencyKey: 'k',
      correlationId: 'c',
      requestedBy: 'me',
    });
  });
});

describe('requestFromFlags for dissociations and versions', () => {
  it('puts action "dissociate" first for --dissociate', () => {
    const body = requestFromFlags({ dissociate: true, domain: 'orders-logs', package: 'F222222222' });
    expect(JSON.stringify(body)).toBe(
      '{"action":"dissociate","domainName":"orders-logs","packageId":"F222222222"}',
    );
  });

  it('adds packageVersion for --package-version, and no action for an association', () => {
    expect(
      requestFromFlags({ domain: 'orders-logs', package: 'F1', packageVersion: 'v7', dissociate: false }),
    ).toEqual({
      domainName: 'orders-logs',
      packageId: 'F1',
      packageVersion: 'v7',
    });
  });

  it('names the flags of the new fields in refusals', () => {
    expect(
      withFlagNames('action: must be associate or dissociate; packageVersion: must match ^v[0-9]+$'),
    ).toBe(
      'action (--dissociate): must be associate or dissociate; packageVersion (--package-version): must match ^v[0-9]+$',
    );
  });
});

describe('checkRequestBody', () => {
  it("accepts what the service accepts and refuses with the service's message", () => {
    expect(checkRequestBody('{"domainName":"orders-logs","packageId":"F222222222"}')).toEqual({ ok: true });
    expect(checkRequestBody('{"domainName":"orders-logs"}')).toEqual({
      ok: false,
      problem: 'packageId: is required',
    });
    expect(checkRequestBody('{')).toEqual({ ok: false, problem: 'body: must be valid JSON' });
  });
});

describe('declaredIdempotencyKey', () => {
  it('reads the key a body names, and nothing from bodies without one', () => {
    expect(declaredIdempotencyKey('{"idempotencyKey":"k-1"}')).toBe('k-1');
    expect(declaredIdempotencyKey('{"idempotencyKey":7}')).toBeUndefined();
    expect(declaredIdempotencyKey('{}')).toBeUndefined();
    expect(declaredIdempotencyKey('null')).toBeUndefined();
    expect(declaredIdempotencyKey('not json')).toBeUndefined();
  });
});

describe('withFlagNames', () => {
  it('adds the flag to each field it knows, array indexes included', () => {
    expect(withFlagNames('domainName: is required; prerequisitePackageIds.1: must match X; body: bad')).toBe(
      'domainName (--domain): is required; prerequisitePackageIds.1 (--prerequisite): must match X; body: bad',
    );
  });
});

describe('readJsonLines', () => {
  it('keeps each non-blank line as written, with its 1-based number', () => {
    expect(readJsonLines('{"a":1}\r\n\n  \n {"b": 2} \n')).toEqual([
      { line: 1, body: '{"a":1}' },
      { line: 4, body: ' {"b": 2} ' },
    ]);
  });
});

describe('planBatches', () => {
  it('keeps every entry, in order, in batches within both limits', () => {
    const limits = { maxEntries: 10, maxBytes: 100 };
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 60, unit: 'grapheme' }).map((body) => ({ body }))),
        (entries) => {
          const batches = planBatches(entries, limits);
          expect(batches.flat()).toEqual(entries);
          for (const batch of batches) {
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length).toBeLessThanOrEqual(limits.maxEntries);
            const bytes = batch.reduce((sum, entry) => sum + Buffer.byteLength(entry.body), 0);
            // Only a single oversized entry may exceed the byte limit, and then alone.
            if (batch.length > 1) expect(bytes).toBeLessThanOrEqual(limits.maxBytes);
          }
        },
      ),
    );
  });

  it('sends 25 small entries as 10, 10 and 5', () => {
    const entries = Array.from({ length: 25 }, (_, index) => ({ body: String(index) }));
    expect(planBatches(entries).map((batch) => batch.length)).toEqual([10, 10, 5]);
  });
});
