import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../src/domain/fingerprint.ts';
import { parseRequest } from '../../src/domain/request.ts';
import { sqsSafeJson, sqsSafeText } from '../../src/domain/sqs-text.ts';

/** What SQS refuses in a body or a String attribute. */
const REFUSED = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

describe('sqsSafeJson', () => {
  it('escapes what SQS refuses, and reads back as the same value', () => {
    const value = { requestedBy: 'team \uFFFF\uFFFE \u0001 \uD800 ✓ 🚀' };
    const text = sqsSafeJson(value);
    expect(text).toBe('{"requestedBy":"team \\uffff\\ufffe \\u0001 \\ud800 ✓ 🚀"}');
    expect(REFUSED.test(text)).toBe(false);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('holds for any string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (requestedBy) => {
        const text = sqsSafeJson({ requestedBy });
        expect(REFUSED.test(text)).toBe(false);
        expect(JSON.parse(text)).toEqual({ requestedBy });
      }),
    );
  });

  it('sqsSafeText replaces, for attributes that are not JSON', () => {
    expect(sqsSafeText('a\uFFFFb')).toBe('a\uFFFDb');
  });
});

describe('fingerprintOf', () => {
  const parse = (body: object) => {
    const parsed = parseRequest(JSON.stringify(body), 'm-1');
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.request;
  };

  it('is the same for the same request whatever the key order, sender or correlation', () => {
    const a = parse({
      domainName: 'catalog-search',
      packageId: 'F1',
      prerequisitePackageIds: ['G1'],
      requestedBy: 'a',
    });
    const b = parse({
      prerequisitePackageIds: ['G1'],
      packageId: 'F1',
      domainName: 'catalog-search',
      correlationId: 'c',
    });
    expect(fingerprintOf(a)).toBe(fingerprintOf(b));
  });

  it.each([
    { domainName: 'orders-1', packageId: 'F1' },
    { domainName: 'catalog-search', packageId: 'F2' },
    { domainName: 'catalog-search', packageId: 'F1', prerequisitePackageIds: ['G1'] },
    {
      domainName: 'catalog-search',
      packageId: 'F1',
      associationConfiguration: { keyStoreAccessOption: { keyStoreAccessEnabled: true } },
    },
  ])('differs when the request asks for something else: %j', (other) => {
    expect(fingerprintOf(parse(other))).not.toBe(
      fingerprintOf(parse({ domainName: 'catalog-search', packageId: 'F1' })),
    );
  });
});
