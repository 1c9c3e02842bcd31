import { describe, expect, it } from 'vitest';
import { matchesEventPattern } from '../../local/eventbridge/pattern.ts';

// The sample event of the EventBridge user guide's content-filtering page (and of AWS's event-ruler README).
const SAMPLE = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

function withDetail(detail: Record<string, unknown>): Record<string, unknown> {
  return { ...SAMPLE, detail };
}

function matches(pattern: unknown, event: unknown = SAMPLE): boolean {
  return matchesEventPattern(JSON.stringify(pattern), event);
}

describe('event patterns: the user guide examples on its sample event', () => {
  it.each([
    ['prefix on time', { time: [{ prefix: '2017-10-02' }] }, true],
    ['prefix that differs', { time: [{ prefix: '2017-10-03' }] }, false],
    ['European regions', { source: ['aws.ec2'], region: [{ prefix: 'eu-' }] }, false],
    ['anything-but a string', { detail: { state: [{ 'anything-but': 'initializing' }] } }, true],
    ['anything-but the value itself', { detail: { state: [{ 'anything-but': 'running' }] } }, false],
    ['anything-but a number', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, true],
    [
      'anything-but a list of strings',
      { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      true,
    ],
    [
      'anything-but a list of numbers',
      { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
      true,
    ],
    ['anything-but a prefix', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, true],
    ['anything-but the prefix it has', { detail: { state: [{ 'anything-but': { prefix: 'run' } }] } }, false],
    ['anything-but a suffix', { detail: { 'instance-id': [{ 'anything-but': { suffix: '0000' } }] } }, false],
    [
      'anything-but ignoring case',
      { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'RUNNING' } }] } },
      false,
    ],
    [
      'numeric ranges and equality',
      {
        detail: {
          'c-count': [{ numeric: ['>', 0, '<=', 5] }],
          'd-count': [{ numeric: ['<', 10] }],
          'x-limit': [{ numeric: ['=', 3.018e2] }],
        },
      },
      true,
    ],
    ['an IP address in a CIDR block', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, true],
    ['an IP address outside it', { detail: { 'source-ip': [{ cidr: '10.0.1.0/24' }] } }, false],
    ['exists true on a present leaf', { detail: { state: [{ exists: true }] } }, true],
    ['exists false on a present leaf', { detail: { state: [{ exists: false }] } }, false],
    ['exists false on a missing field', { detail: { 'e-count': [{ exists: false }] } }, true],
    [
      'equals-ignore-case',
      { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
      true,
    ],
    [
      'the whole envelope: account and resources',
      { account: ['012345679012'], resources: [SAMPLE.resources[0]] },
      true,
    ],
    [
      'the complex example',
      {
        time: [{ prefix: '2017-10-02' }],
        detail: {
          state: [{ 'anything-but': 'initializing' }],
          'c-count': [{ numeric: ['>', 0, '<=', 5] }],
          'd-count': [{ numeric: ['<', 10] }],
          'x-limit': [{ 'anything-but': [100, 200, 300] }],
          'source-ip': [{ cidr: '10.0.0.0/8' }],
        },
      },
      true,
    ],
  ])('%s', (_name, pattern, expected) => {
    expect(matches(pattern)).toBe(expected);
  });

  it('prefix, suffix and equality ignoring case', () => {
    const service = (value: string) => withDetail({ service: value, FileName: `${value}.PNG` });
    const prefix = { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };
    expect(matches(prefix, service('eventbridge'))).toBe(true);
    expect(matches(prefix, service('EVENTBRIDGE'))).toBe(true);
    expect(matches(prefix, service('my-eventbridge'))).toBe(false);
    expect(matches({ detail: { FileName: [{ suffix: '.png' }] } }, service('image'))).toBe(false);
    expect(
      matches({ detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, service('image')),
    ).toBe(true);
  });

  it('wildcard, with its escapes, and anything-but a wildcard', () => {
    const file = (path: string) => withDetail({ FilePath: path });
    const png = { detail: { FilePath: [{ wildcard: 'dir/*.png' }] } };
    expect(matches(png, file('dir/image.png'))).toBe(true);
    expect(matches(png, file('dir/sub/image.png'))).toBe(true);
    expect(matches(png, file('dir/image.jpg'))).toBe(false);
    expect(matches({ detail: { FilePath: [{ wildcard: 'a\\*b' }] } }, file('a*b'))).toBe(true);
    expect(matches({ detail: { FilePath: [{ wildcard: 'a\\*b' }] } }, file('axb'))).toBe(false);
    expect(matches({ detail: { FilePath: [{ wildcard: 'a\\\\b' }] } }, file('a\\b'))).toBe(true);
    const notLib = { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } };
    expect(matches(notLib, file('/usr/lib/x'))).toBe(false);
    expect(matches(notLib, file('/usr/bin/x'))).toBe(true);
  });

  it('$or: any of the alternatives, combined with the fields beside it', () => {
    const pattern = {
      source: ['aws.ec2'],
      detail: {
        $or: [{ 'c-count': [{ numeric: ['>', 10] }] }, { 'd-count': [{ numeric: ['<', 10] }] }],
      },
    };
    expect(matches(pattern)).toBe(true);
    expect(matches(pattern, withDetail({ 'c-count': 1, 'd-count': 20 }))).toBe(false);
    expect(matches({ ...pattern, source: ['aws.s3'] })).toBe(false);
    const nested = {
      $or: [
        { 'detail-type': ['nope'] },
        { region: ['us-east-1'], $or: [{ account: ['1'] }, { detail: { state: ['running'] } }] },
      ],
    };
    expect(matches(nested)).toBe(true);
  });
});

describe('event patterns: values and their types', () => {
  it('matches exact values of each JSON type, never across types', () => {
    const event = withDetail({ n: 5, s: '5', t: true, z: null, e: '' });
    expect(matches({ detail: { n: [5] } }, event)).toBe(true);
    expect(matches({ detail: { n: [5.0] } }, event)).toBe(true);
    expect(matches({ detail: { s: [5] } }, event)).toBe(false);
    expect(matches({ detail: { n: ['5'] } }, event)).toBe(false);
    expect(matches({ detail: { t: [true] } }, event)).toBe(true);
    expect(matches({ detail: { t: ['true'] } }, event)).toBe(false);
    expect(matches({ detail: { t: [1] } }, event)).toBe(false);
    expect(matches({ detail: { z: [null] } }, event)).toBe(true);
    expect(matches({ detail: { e: [null] } }, event)).toBe(false);
    expect(matches({ detail: { e: [''] } }, event)).toBe(true);
  });

  it('applies string operators to strings only and numeric ones to numbers only', () => {
    const event = withDetail({ n: 300, s: '300', b: false });
    expect(matches({ detail: { s: [{ numeric: ['>', 100] }] } }, event)).toBe(false);
    expect(matches({ detail: { n: [{ numeric: ['>', 100] }] } }, event)).toBe(true);
    expect(matches({ detail: { b: [{ numeric: ['<', 1] }] } }, event)).toBe(false);
    expect(matches({ detail: { n: [{ prefix: '3' }] } }, event)).toBe(false);
    expect(matches({ detail: { s: [{ prefix: '3' }] } }, event)).toBe(true);
  });

  it('numeric bounds, open and closed', () => {
    const at = (n: number) => withDetail({ n });
    const range = { detail: { n: [{ numeric: ['>=', 10, '<', 20] }] } };
    expect([9.99, 10, 19.99, 20].map((n) => matches(range, at(n)))).toEqual([false, true, true, false]);
    const open = { detail: { n: [{ numeric: ['>', 10, '<=', 20] }] } };
    expect([10, 20].map((n) => matches(open, at(n)))).toEqual([false, true]);
    expect(matches({ detail: { n: [{ numeric: ['=', -1.5] }] } }, at(-1.5))).toBe(true);
  });

  it('anything-but takes a value of another type or null, never a missing field', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };
    expect(matches(pattern, withDetail({ state: null }))).toBe(true);
    expect(matches(pattern, withDetail({ state: 42 }))).toBe(true);
    expect(matches(pattern, withDetail({}))).toBe(false);
    expect(
      matches({ detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, withDetail({ state: null })),
    ).toBe(true);
    expect(matches({ detail: { n: [{ 'anything-but': 5 }] } }, withDetail({ n: 5.0 }))).toBe(false);
  });

  it('an empty string is a value; an IPv6 block matches IPv6 addresses only', () => {
    expect(
      matches({ detail: { ip: [{ cidr: '2001:db8::/32' }] } }, withDetail({ ip: '2001:db8:1234::1' })),
    ).toBe(true);
    expect(matches({ detail: { ip: [{ cidr: '2001:db8::/32' }] } }, withDetail({ ip: '2001:db9::1' }))).toBe(
      false,
    );
    expect(matches({ detail: { ip: [{ cidr: '::/1' }] } }, withDetail({ ip: '10.0.0.1' }))).toBe(false);
  });
});

describe('event patterns: arrays, nesting and existence', () => {
  it('an array in the event matches when any element does', () => {
    const event = withDetail({ tags: ['a', 'b'], empty: [] });
    expect(matches({ detail: { tags: ['b', 'c'] } }, event)).toBe(true);
    expect(matches({ detail: { tags: ['c'] } }, event)).toBe(false);
    expect(matches({ detail: { tags: [{ 'anything-but': 'a' }] } }, event)).toBe(true);
    expect(matches({ detail: { tags: [{ exists: true }] } }, event)).toBe(true);
    expect(matches({ detail: { empty: [{ exists: true }] } }, event)).toBe(false);
    expect(matches({ detail: { empty: [{ exists: false }] } }, event)).toBe(true);
    expect(matches({ detail: { empty: [null] } }, event)).toBe(false);
  });

  it('fields of one array element match together, never across elements', () => {
    const event = withDetail({
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    });
    expect(matches({ detail: { employees: { firstName: ['Anna'] } } }, event)).toBe(true);
    expect(matches({ detail: { employees: { firstName: ['Anna'], lastName: ['Smith'] } } }, event)).toBe(
      true,
    );
    expect(matches({ detail: { employees: { firstName: ['Anna'], lastName: ['Jones'] } } }, event)).toBe(
      false,
    );
    expect(matches({ detail: { employees: { id: [{ exists: true }] } } }, event)).toBe(false);
  });

  it('exists works on leaves only: an object is not a value', () => {
    const event = withDetail({ 'c-count': { c1: 100 }, blank: {} });
    expect(matches({ detail: { 'c-count': [{ exists: false }] } }, event)).toBe(true);
    expect(matches({ detail: { 'c-count': [{ exists: true }] } }, event)).toBe(false);
    expect(matches({ detail: { blank: [{ exists: false }] } }, event)).toBe(true);
    expect(matches({ detail: { 'c-count': { c1: [{ exists: true }] } } }, event)).toBe(true);
    expect(matches({ detail: { state: [{ exists: true }] } }, withDetail({ state: null }))).toBe(true);
  });

  it('a value or its absence: exists false beside other values of one field', () => {
    const pattern = { detail: { state: [{ 'anything-but': ['roses'] }, { exists: false }] } };
    expect(matches(pattern, withDetail({}))).toBe(true);
    expect(matches(pattern, withDetail({ state: 'tulips' }))).toBe(true);
    expect(matches(pattern, withDetail({ state: 'roses' }))).toBe(false);
  });

  it('joins paths with dots, so a dotted key and a nested one are the same field', () => {
    expect(
      matches({ detail: { state: { status: ['running'] } } }, withDetail({ 'state.status': 'running' })),
    ).toBe(true);
    expect(
      matches({ detail: { 'state.status': ['running'] } }, withDetail({ state: { status: 'running' } })),
    ).toBe(true);
  });

  it('needs every field of the pattern, and ignores the event fields it does not name', () => {
    expect(matches({ source: ['aws.ec2'], 'detail-type': ['nope'] })).toBe(false);
    expect(matches({ source: ['aws.ec2'] })).toBe(true);
    expect(matches({ detail: { missing: ['x'] } })).toBe(false);
  });
});
