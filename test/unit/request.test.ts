import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src/domain/request.ts';

const valid = { domainName: 'catalog-search', packageId: 'F123' };
const parse = (body: unknown) =>
  parseRequest(typeof body === 'string' ? body : JSON.stringify(body), 'msg-1');
const errorOf = (body: unknown) => {
  const result = parse(body);
  if (result.ok) throw new Error('expected a rejection');
  return result.message;
};

describe('parseRequest', () => {
  it('resolves defaults: the key is the message id and the correlation id is the key', () => {
    expect(parse(valid)).toEqual({
      ok: true,
      kind: 'request',
      request: { action: 'associate', ...valid, idempotencyKey: 'msg-1', correlationId: 'msg-1' },
    });
  });

  it('reads a dissociation, which names only a domain and a package', () => {
    const body = { action: 'dissociate', domainName: 'catalog-search', packageId: 'F123' };
    expect(parse(body)).toEqual({
      ok: true,
      kind: 'request',
      request: { ...body, idempotencyKey: 'msg-1', correlationId: 'msg-1' },
    });
    expect(parse({ ...body, packageVersion: 'v2' })).toEqual({
      ok: false,
      message: 'packageVersion: is not a known field',
      hint: { domainName: 'catalog-search', packageId: 'F123' },
    });
  });

  it('names the actions it knows when the action is another', () => {
    expect(parse({ ...valid, action: 'purge' })).toMatchObject({
      ok: false,
      message: 'action: must be one of associate, dissociate, rollout',
    });
    expect(parse({ ...valid, action: 7 })).toMatchObject({
      ok: false,
      message: 'action: must be one of associate, dissociate, rollout',
    });
  });

  it('takes a package version: letters, digits, dots, dashes and underscores', () => {
    expect(parse({ ...valid, packageVersion: 'v7' })).toMatchObject({
      ok: true,
      kind: 'request',
      request: { packageVersion: 'v7' },
    });
    expect(parse({ ...valid, packageVersion: 'v 7' })).toMatchObject({
      ok: false,
      message: 'packageVersion: must contain only A-Z a-z 0-9 . _ -',
    });
    expect(parse({ ...valid, packageVersion: '' })).toMatchObject({
      ok: false,
      message: 'packageVersion: must be 1 to 64 characters',
    });
  });

  it('keeps every optional field it is given', () => {
    const full = {
      ...valid,
      prerequisitePackageIds: ['G9', 'pkg-0a1b'],
      associationConfiguration: {
        keyStoreAccessOption: {
          keyStoreAccessEnabled: true,
          keyAccessRoleArn: 'arn:aws:iam::123456789012:role/opensearch-keys',
        },
      },
      idempotencyKey: 'order-42:v1/a_b.c',
      correlationId: 'corr 1',
      requestedBy: 'team-search',
    };
    expect(parse(full)).toEqual({ ok: true, kind: 'request', request: { action: 'associate', ...full } });
  });

  describe.each([
    ['abc', true],
    ['a'.repeat(28), true],
    ['a1-b', true],
    ['ab', false],
    ['a'.repeat(29), false],
    ['-abc', false],
    ['1abc', false],
    ['Abc', false],
    ['ab_c', false],
  ])('domainName %j', (domainName, accepted) => {
    it(accepted ? 'is accepted' : 'is rejected naming the field', () => {
      const result = parse({ ...valid, domainName });
      expect(result.ok).toBe(accepted);
      if (!result.ok) expect(result.message).toMatch(/^domainName: /);
    });
  });

  it('says which domainName rule was broken', () => {
    expect(errorOf({ ...valid, domainName: 'ab' })).toBe('domainName: must be 3 to 28 characters');
    expect(errorOf({ ...valid, domainName: '-abc' })).toBe(
      'domainName: must start with a lowercase letter and contain only lowercase letters, digits and hyphens',
    );
  });

  describe.each([
    ['F123', true],
    ['G9', true],
    ['pkg-0a1b', true],
    ['f123', false],
    ['pkg-XYZ', false],
    ['F', false],
    ['pkg-', false],
    ['H123', false],
    ['F12a', false],
  ])('packageId %j', (packageId, accepted) => {
    it(accepted ? 'is accepted' : 'is rejected with the rule', () => {
      const result = parse({ ...valid, packageId });
      expect(result.ok).toBe(accepted);
      if (!result.ok) {
        expect(result.message).toBe('packageId: must match F<digits>, G<digits> or pkg-<lowercase hex>');
      }
    });
  });

  it('rejects a body that is not JSON', () => {
    expect(errorOf('{"domainName": ')).toBe('body: must be valid JSON');
  });

  it.each([['[]'], ['null'], ['"text"'], ['42']])('rejects the JSON value %s as not an object', (body) => {
    expect(errorOf(body)).toBe('body: must be a JSON object');
  });

  it('rejects unknown fields by name, so a typo is never ignored', () => {
    expect(errorOf({ ...valid, packageID: 'F1' })).toBe('packageID: is not a known field');
  });

  it('names every missing required field', () => {
    expect(errorOf({})).toBe('domainName: is required; packageId: is required');
  });

  it('checks nested fields with their full path', () => {
    expect(
      errorOf({
        ...valid,
        prerequisitePackageIds: ['F1', 'nope'],
        associationConfiguration: { keyStoreAccessOption: { keyStoreAccessEnabled: 'yes' } },
      }),
    ).toBe(
      'prerequisitePackageIds.1: must match F<digits>, G<digits> or pkg-<lowercase hex>; ' +
        'associationConfiguration.keyStoreAccessOption.keyStoreAccessEnabled: must be a boolean',
    );
    expect(
      errorOf({
        ...valid,
        associationConfiguration: {
          keyStoreAccessOption: { keyStoreAccessEnabled: true, keyAccessRoleArn: 'x' },
        },
      }),
    ).toBe('associationConfiguration.keyStoreAccessOption.keyAccessRoleArn: must be an IAM role ARN');
  });

  it.each([
    ['idempotencyKey', '', 'idempotencyKey: must be 1 to 128 characters'],
    ['idempotencyKey', 'k'.repeat(129), 'idempotencyKey: must be 1 to 128 characters'],
    ['idempotencyKey', 'has space', 'idempotencyKey: must contain only A-Z a-z 0-9 . _ : / -'],
    ['correlationId', 'c'.repeat(129), 'correlationId: must be 1 to 128 characters'],
    ['requestedBy', 'r'.repeat(257), 'requestedBy: must be at most 256 characters'],
  ])('enforces the %s rule', (field, value, message) => {
    expect(errorOf({ ...valid, [field]: value })).toBe(message);
  });

  it('keeps the valid ids of a rejected body as a hint for the Failed event', () => {
    const result = parse({ ...valid, correlationId: 'c-1', extra: true });
    expect(result).toEqual({
      ok: false,
      message: 'extra: is not a known field',
      hint: { domainName: 'catalog-search', packageId: 'F123', correlationId: 'c-1' },
    });
  });

  it('treats a __proto__ key as an unknown field instead of touching prototypes', () => {
    expect(errorOf('{"domainName":"catalog-search","packageId":"F1","__proto__":{"x":1}}')).toBe(
      '__proto__: is not a known field',
    );
  });
});

describe('parseRequest on hostile bodies', () => {
  it('names at most ten unknown fields, each briefly, so the message stays small', () => {
    const keys = Array.from({ length: 20_000 }, (_, index) => `"k${index}":0`).join(',');
    const message = errorOf(`{"domainName":"catalog-search","packageId":"F1",${keys}}`);
    expect(message).toMatch(
      /^k0: is not a known field; k1: .*k9: is not a known field; \(19990 more\): is not a known field$/,
    );
    const long = errorOf({ ...valid, ['x'.repeat(300_000)]: 1 });
    expect(long).toBe(`${'x'.repeat(64)}…: is not a known field`);
  });
});
