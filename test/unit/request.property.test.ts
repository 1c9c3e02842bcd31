import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type AssociationRequestMessage, type ParseResult, parseRequest } from '../../src/domain/request.ts';

const MESSAGE_ID = '00000000-0000-4000-8000-000000000001';
const KNOWN_FIELDS = [
  'domainName',
  'packageId',
  'prerequisitePackageIds',
  'associationConfiguration',
  'idempotencyKey',
  'correlationId',
  'requestedBy',
] as const;
type Field = (typeof KNOWN_FIELDS)[number];

/** A field path the parser builds from the schema itself: `body`, `domainName`, `prerequisitePackageIds.3`. */
const KNOWN_PATH = /^[\w.[\]_]+$/;
/** Every rule text starts with `is` or `must` and never holds `;`, which separates the parts. */
const PART = '(.+?): ((?:is|must) [^;]+)';
const WHOLE_MESSAGE = new RegExp(`^${PART}(?:; ${PART})*$`, 's');
const EACH_PART = new RegExp(`(?:^|; )${PART}(?=; |$)`, 'gs');

/**
 * The parts of a rejection message as `[field, rule]` pairs. A rule other than "is not a known field" names a
 * schema path; an unknown field is named as the producer spelled it, so its name may hold any character.
 */
function partsOf(message: string): Array<[string, string]> {
  expect(message).toMatch(WHOLE_MESSAGE);
  const parts = [...message.matchAll(EACH_PART)].map((match): [string, string] => [
    match[1] ?? '',
    match[2] ?? '',
  ]);
  expect(parts.length).toBeGreaterThan(0);
  for (const [field, rule] of parts) {
    if (rule !== 'is not a known field') expect(field).toMatch(KNOWN_PATH);
  }
  return parts;
}

/** Whatever the body, the parser answers: a request, or a rejection naming a field and a rule. */
function expectAnswered(result: ParseResult): void {
  if (result.ok) {
    expect(result.request.idempotencyKey.length).toBeGreaterThan(0);
    expect(result.request.correlationId.length).toBeGreaterThan(0);
    return;
  }
  partsOf(result.message);
}

function expectRejectedNaming(result: ParseResult, field: string): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  const fields = partsOf(result.message).map(([name]) => name);
  expect(fields.some((name) => name === field || name.startsWith(`${field}.`))).toBe(true);
}

const parse = (body: string) => parseRequest(body, MESSAGE_ID);

// --- Arbitraries: valid values for each field's rule ------------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const anyCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
/** Full Unicode plus lone surrogates: everything a JS string (and an escaped JSON string) can hold. */
const anyUnit = fc.oneof({ weight: 9, arbitrary: anyCodePoint }, { weight: 1, arbitrary: loneSurrogate });
/** Length rules count code points (a lone surrogate is one), not UTF-16 units: so do these bounds. */
const codePoints = (text: string) => [...text].length;
const freeText = (minLength: number, maxLength: number) =>
  fc
    .string({ unit: anyUnit, minLength, maxLength })
    .filter((text) => codePoints(text) >= minLength && codePoints(text) <= maxLength);

const domainName = fc.stringMatching(/^[a-z][a-z0-9-]{2,27}$/);
const packageId = fc.oneof(fc.stringMatching(/^[FG][0-9]{1,12}$/), fc.stringMatching(/^pkg-[a-f0-9]{1,32}$/));
const roleArn = fc
  .tuple(
    fc.constantFrom('aws', 'aws-cn', 'aws-us-gov'),
    fc.stringMatching(/^[0-9]{12}$/),
    fc.stringMatching(/^[\w+=,.@/-]{1,64}$/),
  )
  .map(([partition, account, name]) => `arn:${partition}:iam::${account}:role/${name}`);
const associationConfiguration = fc.record({
  keyStoreAccessOption: fc.record(
    { keyStoreAccessEnabled: fc.boolean(), keyAccessRoleArn: roleArn },
    { requiredKeys: ['keyStoreAccessEnabled'] },
  ),
});

const validRequest: fc.Arbitrary<AssociationRequestMessage> = fc.record(
  {
    domainName,
    packageId,
    prerequisitePackageIds: fc.array(packageId, { maxLength: 20 }),
    associationConfiguration,
    idempotencyKey: fc.stringMatching(/^[A-Za-z0-9._:/-]{1,128}$/),
    correlationId: freeText(1, 128),
    requestedBy: freeText(0, 256),
  },
  { requiredKeys: ['domainName', 'packageId'] },
);

// --- Arbitraries: values that break one field's rule ------------------------------------------------------

const notAString = fc.jsonValue().filter((value) => typeof value !== 'string');
const breaking = (rule: RegExp) =>
  fc.oneof(
    notAString,
    fc.string({ unit: anyUnit }).filter((s) => !rule.test(s)),
  );

const invalidValueFor: Record<Field, fc.Arbitrary<unknown>> = {
  domainName: breaking(/^[a-z][a-z0-9-]{2,27}$/),
  packageId: breaking(/^(([FG][0-9]+)|(pkg-[a-f0-9]+))$/),
  prerequisitePackageIds: fc.oneof(
    fc.jsonValue().filter((value) => !Array.isArray(value)),
    fc.array(packageId, { minLength: 21, maxLength: 30 }),
    fc
      .tuple(fc.array(packageId, { maxLength: 5 }), breaking(/^(([FG][0-9]+)|(pkg-[a-f0-9]+))$/))
      .map(([ids, bad]) => [...ids, bad]),
  ),
  associationConfiguration: fc.oneof(
    fc.jsonValue().filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)),
    fc.constant({}),
    fc.record({
      keyStoreAccessOption: fc.record({
        keyStoreAccessEnabled: notAString.filter((v) => v !== true && v !== false),
      }),
    }),
    fc.record({
      keyStoreAccessOption: fc.record({
        keyStoreAccessEnabled: fc.boolean(),
        keyAccessRoleArn: breaking(/^arn:aws/),
      }),
    }),
  ),
  idempotencyKey: fc.oneof(
    notAString,
    fc.constant(''),
    fc.stringMatching(/^[A-Za-z0-9]{129,200}$/),
    fc.string({ unit: anyUnit, minLength: 1 }).filter((s) => !/^[A-Za-z0-9._:/-]+$/.test(s)),
  ),
  correlationId: fc.oneof(notAString, fc.constant(''), freeText(129, 300)),
  requestedBy: fc.oneof(notAString, freeText(257, 400)),
};

/** The JSON text of an object's entries in this order, so `__proto__` stays an own key, not a prototype. */
function objectText(entries: ReadonlyArray<readonly [string, unknown]>): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
}

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

afterEach(() => {
  // A parser that merged untrusted keys into an object literal would show up here, for every later test too.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
});

describe('parseRequest, for any input', () => {
  it('answers any string, JSON or not, and never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: anyUnit, maxLength: 200 }), (body) => expectAnswered(parse(body))),
      { numRuns: 500 },
    );
  });

  it('answers any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => expectAnswered(parse(JSON.stringify(value)))),
      { numRuns: 300 },
    );
  });

  it('answers any JSON object, including ones with arbitrary unknown keys', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: anyUnit }), fc.jsonValue({ maxDepth: 2 })), { maxLength: 8 }),
        (entries) => expectAnswered(parse(objectText(entries))),
      ),
      { numRuns: 300 },
    );
  });
});

describe('parseRequest, for valid requests', () => {
  it('accepts every generated valid request and keeps its fields as they were', () => {
    fc.assert(
      fc.property(validRequest, fc.uuid(), (request, messageId) => {
        const result = parseRequest(JSON.stringify(request), messageId);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const idempotencyKey = request.idempotencyKey ?? messageId;
        expect(result.request).toEqual({
          action: 'associate',
          ...request,
          idempotencyKey,
          correlationId: request.correlationId ?? idempotencyKey,
        });
      }),
      { numRuns: 300 },
    );
  });

  it('defaults the idempotency key to the message id and the correlation id to the key', () => {
    fc.assert(
      fc.property(
        validRequest,
        fc.string({ minLength: 1, maxLength: 100 }),
        fc.boolean(),
        (generated, messageId, keepKey) => {
          const { idempotencyKey, correlationId: _ignored, ...rest } = generated;
          const request = keepKey && idempotencyKey !== undefined ? { ...rest, idempotencyKey } : rest;
          const result = parseRequest(JSON.stringify(request), messageId);
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          const expectedKey = keepKey && idempotencyKey !== undefined ? idempotencyKey : messageId;
          expect(result.request.idempotencyKey).toBe(expectedKey);
          expect(result.request.correlationId).toBe(expectedKey);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps free-text fields holding any Unicode, lone surrogates included, escaped or raw in the body', () => {
    fc.assert(
      fc.property(domainName, packageId, freeText(1, 128), freeText(0, 256), (domain, id, corr, by) => {
        const request = { domainName: domain, packageId: id, correlationId: corr, requestedBy: by };
        // JSON.stringify escapes lone surrogates; the raw form carries them unescaped inside the string.
        const raw = `{"domainName":"${domain}","packageId":"${id}","correlationId":${rawString(corr)},"requestedBy":${rawString(by)}}`;
        for (const body of [JSON.stringify(request), raw]) {
          const result = parse(body);
          expect(result.ok).toBe(true);
          if (result.ok) expect(result.request).toMatchObject(request);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('counts characters (code points), not UTF-16 units, against the length rules', () => {
    const valid = { domainName: 'catalog-search', packageId: 'F1' };
    expect(parse(JSON.stringify({ ...valid, requestedBy: '🚀'.repeat(256) })).ok).toBe(true);
    expect(parse(JSON.stringify({ ...valid, requestedBy: '🚀'.repeat(257) }))).toMatchObject({
      ok: false,
      message: 'requestedBy: must be at most 256 characters',
    });
  });
});

/** A JSON string literal that escapes only what JSON requires, leaving every other character as it is. */
function rawString(text: string): string {
  return `"${text.replace(/[^\x20-\uffff]|[\\"]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

describe('parseRequest, for a valid request with one field broken', () => {
  it.each(KNOWN_FIELDS)('names %s and its rule', (field) => {
    fc.assert(
      fc.property(validRequest, invalidValueFor[field], (request, value) => {
        const body = objectText(Object.entries({ ...request, [field]: value }));
        expectRejectedNaming(parse(body), field);
      }),
      { numRuns: 60 },
    );
  });

  it.each(['domainName', 'packageId'] as const)('says %s is required when it is missing', (field) => {
    fc.assert(
      fc.property(validRequest, (request) => {
        const { [field]: _removed, ...rest } = request;
        const result = parse(JSON.stringify(rest));
        expectRejectedNaming(result, field);
        if (!result.ok) expect(result.message).toContain(`${field}: is required`);
      }),
      { numRuns: 30 },
    );
  });

  it('names an unknown field, wherever the object allows none', () => {
    const unknownKey = fc
      .string({ unit: anyUnit, minLength: 1, maxLength: 20 })
      .filter((key) => !(KNOWN_FIELDS as readonly string[]).includes(key));
    fc.assert(
      fc.property(validRequest, unknownKey, fc.jsonValue({ maxDepth: 2 }), (request, key, value) => {
        const result = parse(objectText([...Object.entries(request), [key, value]]));
        expect(result.ok).toBe(false);
        if (!result.ok) expect(partsOf(result.message)).toContainEqual([key, 'is not a known field']);
      }),
      { numRuns: 150 },
    );
  });

  it('rejects a non-ASCII character in any field with an ASCII-only rule, naming that field', () => {
    const patterned = fc.constantFrom(
      'domainName',
      'packageId',
      'idempotencyKey',
    ) satisfies fc.Arbitrary<Field>;
    const nonAscii = fc.oneof(
      anyCodePoint.filter((char) => char.charCodeAt(0) > 0x7f),
      loneSurrogate,
    );
    fc.assert(
      fc.property(validRequest, patterned, nonAscii, fc.nat(), (request, field, char, position) => {
        const original = request[field] ?? 'key';
        const at = position % (original.length + 1);
        const value = `${original.slice(0, at)}${char}${original.slice(at)}`;
        expectRejectedNaming(parse(JSON.stringify({ ...request, [field]: value })), field);
      }),
      { numRuns: 200 },
    );
  });
});

describe('parseRequest, for hostile bodies', () => {
  const valid = { domainName: 'catalog-search', packageId: 'F1' };
  const validText = JSON.stringify(valid);
  const OVERSIZED = 256 * 1024;
  const DEPTH = 10_000;
  const nestedArrays = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
  const nestedObjects = `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`;

  it.each([
    ['garbage of 256 KiB', 'x'.repeat(OVERSIZED), 'body: must be valid JSON'],
    ['a string of 256 KiB', JSON.stringify('s'.repeat(OVERSIZED)), 'body: must be a JSON object'],
    [
      'requestedBy of 256 KiB',
      JSON.stringify({ ...valid, requestedBy: 'r'.repeat(OVERSIZED) }),
      'requestedBy: must be at most 256 characters',
    ],
    [
      'correlationId of 256 KiB of emoji',
      JSON.stringify({ ...valid, correlationId: '😀'.repeat(OVERSIZED / 4) }),
      'correlationId: must be 1 to 128 characters',
    ],
    ['arrays nested 10 000 deep', nestedArrays, 'body: must be a JSON object'],
    [
      'objects nested 10 000 deep',
      nestedObjects,
      'domainName: is required; packageId: is required; a: is not a known field',
    ],
    [
      'associationConfiguration nested 10 000 deep',
      `{"domainName":"catalog-search","packageId":"F1","associationConfiguration":${nestedArrays}}`,
      'associationConfiguration: must be an object',
    ],
    [
      'keyStoreAccessOption nested 10 000 deep',
      `{"domainName":"catalog-search","packageId":"F1","associationConfiguration":${'{"keyStoreAccessOption":'.repeat(DEPTH)}true${'}'.repeat(DEPTH)}}`,
      'associationConfiguration.keyStoreAccessOption.keyStoreAccessEnabled: is required; ' +
        'associationConfiguration.keyStoreAccessOption.keyStoreAccessOption: is not a known field',
    ],
    [
      'prerequisitePackageIds nested 10 000 deep',
      `{"domainName":"catalog-search","packageId":"F1","prerequisitePackageIds":[${nestedArrays}]}`,
      'prerequisitePackageIds.0: must be a string',
    ],
    [
      'an unknown field nested 10 000 deep',
      `{"domainName":"catalog-search","packageId":"F1","deep":${nestedObjects}}`,
      'deep: is not a known field',
    ],
  ])('rejects %s with the field and the rule', (_name, body, message) => {
    const result = parse(body);
    expect(result).toMatchObject({ ok: false, message });
    expectAnswered(result);
  });

  it('accepts a valid request padded with whitespace to 256 KiB', () => {
    const padding = ' \n\t\r'.repeat(OVERSIZED / 8);
    expect(parse(`${padding}${validText}${padding}`)).toEqual({
      ok: true,
      kind: 'request',
      request: { action: 'associate', ...valid, idempotencyKey: MESSAGE_ID, correlationId: MESSAGE_ID },
    });
  });

  it('answers a body of thousands of unknown fields without throwing', () => {
    const entries = Array.from({ length: 20_000 }, (_, index): [string, number] => [`k${index}`, index]);
    const result = parse(objectText([...Object.entries(valid), ...entries]));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(partsOf(result.message)).toHaveLength(11);
  });

  it.each(['number', 'boolean', 'null', 'array', 'object'])(
    'rejects a %s where a string is expected',
    (kind) => {
      const value = { number: 42, boolean: true, null: null, array: ['F1'], object: { id: 'F1' } }[kind];
      for (const field of ['domainName', 'packageId', 'idempotencyKey', 'correlationId', 'requestedBy']) {
        const result = parse(JSON.stringify({ ...valid, [field]: value }));
        expect(result).toMatchObject({ message: `${field}: must be a string` });
      }
    },
  );
});

describe('parseRequest and prototype keys', () => {
  const pollution = { polluted: 'yes', toString: 'x', domainName: 'catalog-search', packageId: 'F1' };

  it.each(PROTOTYPE_KEYS)('treats a top-level %s key as an unknown field and pollutes nothing', (key) => {
    const result = parse(
      objectText([
        ['domainName', 'catalog-search'],
        ['packageId', 'F1'],
        [key, pollution],
      ]),
    );
    expect(result).toMatchObject({ ok: false, message: `${key}: is not a known field` });
  });

  it.each(PROTOTYPE_KEYS)('treats a nested %s key as an unknown field and pollutes nothing', (key) => {
    const keyStore = `{"keyStoreAccessEnabled":true,${JSON.stringify(key)}:${JSON.stringify(pollution)}}`;
    const body = `{"domainName":"catalog-search","packageId":"F1","associationConfiguration":{${JSON.stringify(key)}:{"polluted":1},"keyStoreAccessOption":${keyStore}}}`;
    const result = parse(body);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(partsOf(result.message)).toEqual(
      expect.arrayContaining([
        [`associationConfiguration.${key}`, 'is not a known field'],
        [`associationConfiguration.keyStoreAccessOption.${key}`, 'is not a known field'],
      ]),
    );
  });

  it('never takes a field from a prototype key, whatever else the body holds', () => {
    const prototypeEntry = fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), fc.constant(pollution));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(prototypeEntry, fc.tuple(fc.string(), fc.jsonValue({ maxDepth: 2 }))), {
          minLength: 1,
          maxLength: 6,
        }),
        (entries) => {
          const result = parse(objectText(entries));
          expectAnswered(result);
          // Only own keys count: the domain and package in `pollution` must never surface through a prototype.
          const ownDomain = entries.some(([key]) => key === 'domainName');
          if (!result.ok && !ownDomain) expect(result.hint.domainName).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });
});
