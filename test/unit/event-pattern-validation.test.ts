import { describe, expect, it } from 'vitest';
import { compileEventPattern, InvalidEventPatternError } from '../../local/eventbridge/pattern.ts';

function reasonFor(pattern: unknown): string {
  try {
    compileEventPattern(typeof pattern === 'string' ? pattern : JSON.stringify(pattern));
  } catch (error) {
    if (error instanceof InvalidEventPatternError) return error.reason;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(pattern)}`);
}

describe('event patterns that AWS refuses, with its reasons', () => {
  it.each([
    // Structure
    ['["not", "an", "object"]', 'Filter is not an object'],
    [{ string: 'my-value' }, '"string" must be an object or an array'],
    [{ int: 42 }, '"int" must be an object or an array'],
    [{ detail: {} }, 'Empty objects are not allowed'],
    [{ resources: [] }, 'Empty arrays are not allowed'],
    [{ a: [['nested']] }, 'Match value must be String, number, true, false, or null'],
    [{ a: [{}] }, 'Match expression name not found'],
    [{ my_key: [{ EXISTS: true }] }, 'Unrecognized match type EXISTS'],
    [{ a: [{ prefix: 'a', suffix: 'b' }] }, 'Only one key allowed in match expression'],
    // prefix, suffix, equals-ignore-case, wildcard, cidr
    [{ time: [{ prefix: ['2022-07-13'] }] }, 'prefix match pattern must be a string'],
    [{ FileName: [{ suffix: 123 }] }, 'suffix match pattern must be a string'],
    [{ a: [{ prefix: {} }] }, 'Prefix expression name not found'],
    [{ a: [{ suffix: { wildcard: 'x' } }] }, 'Unsupported suffix pattern: wildcard'],
    [{ a: [{ prefix: { 'equals-ignore-case': 1 } }] }, 'equals-ignore-case match pattern must be a string'],
    [
      { 'detail-type': [{ 'equals-ignore-case': ['ec2'] }] },
      'equals-ignore-case match pattern must be a string',
    ],
    [{ EventBusArn: [{ wildcard: 123 }] }, 'wildcard match pattern must be a string'],
    [
      { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:**:event-bus/*' }] },
      'Consecutive wildcard characters at pos 26',
    ],
    [{ a: [{ wildcard: 'a\\b' }] }, 'Invalid escape character at pos 2'],
    [{ ip: [{ cidr: ['bad-type'] }] }, 'prefix match pattern must be a string'],
    [{ ip: [{ cidr: '10.0.0.0' }] }, "Malformed CIDR, one '/' required"],
    [{ ip: [{ cidr: '10.0.0.0/x' }] }, 'Malformed CIDR, mask bits must be an integer'],
    [{ ip: [{ cidr: 'xx.11.xx/24' }] }, 'Nonstandard IP address: xx.11.xx'],
    [{ ip: [{ cidr: '10.0.0.0/32' }] }, 'IPv4 mask bits must be < 32'],
    // exists
    [{ a: [{ exists: 'yes' }] }, 'exists match pattern must be either true or false.'],
    // numeric
    [{ a: [{ numeric: 5 }] }, 'Value of numeric must be an array.'],
    [{ a: [{ numeric: [] }] }, 'Invalid member in numeric match: ]'],
    [{ a: [{ numeric: ['!=', 5] }] }, 'Unrecognized numeric range operator: !='],
    [{ a: [{ numeric: ['>', 0, '<'] }] }, 'Value of < must be numeric'],
    [{ a: [{ numeric: ['>', 0, '>', 0] }] }, 'Bad numeric range operator: >'],
    [{ a: [{ numeric: ['=', '5'] }] }, 'Value of equals must be numeric'],
    [{ a: [{ numeric: ['<', 10, '>', 0] }] }, 'Too many elements in numeric expression'],
    [{ a: [{ numeric: ['>', 5, '<', 5] }] }, 'Bottom must be less than top'],
    [{ a: [{ numeric: ['>', 0, '<', 5, 6] }] }, 'Too many terms in numeric range expression'],
    // anything-but
    [
      { a: [{ 'anything-but': null }] },
      'Value of anything-but must be an array or single string/number value.',
    ],
    [
      { a: [{ 'anything-but': ['stopped', null] }] },
      'Inside anything but list, start|null|boolean is not supported.',
    ],
    [
      { a: [{ 'anything-but': ['a', 1] }] },
      'Inside anything but list, either all values are number or string, mixed type is not supported',
    ],
    [{ a: [{ 'anything-but': {} }] }, 'Anything-But expression name not found'],
    [{ a: [{ 'anything-but': { numeric: ['>', 1] } }] }, 'Unsupported anything-but pattern: numeric'],
    [
      { a: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'file' } } }] },
      'Value of anything-but must be an array or single string/number value.',
    ],
    [{ a: [{ 'anything-but': { prefix: '' } }] }, 'Null prefix/suffix not allowed'],
    [{ a: [{ 'anything-but': { suffix: [123, '.txt'] } }] }, 'prefix/suffix match pattern must be a string'],
    [
      { a: [{ 'anything-but': { 'equals-ignore-case': 123 } }] },
      'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
    ],
    [{ a: [{ 'anything-but': { wildcard: [123, '*/dir/*'] } }] }, 'wildcard match pattern must be a string'],
    // $or
    [{ $or: { a: ['x'] } }, 'It must be an Array followed with $or.'],
    [{ $or: [{ a: ['x'] }] }, 'There must have at least 2 Objects in $or relationship.'],
    [{ $or: [{ a: ['x'] }, 'b'] }, 'Only JSON object is allowed in array of $or relationship.'],
    [
      { $or: [{ a: ['x'] }, { prefix: ['y'] }] },
      'prefix is Ruler reserved fieldName which cannot be used inside $or.',
    ],
  ])('%j: %s', (pattern, reason) => {
    expect(reasonFor(pattern)).toBe(reason);
  });

  it('refuses text that is not JSON, with the parser’s reason', () => {
    expect(reasonFor("{'bad': 'quotation'}")).toMatch(/JSON/);
  });

  it('words the message as the API answers it', () => {
    expect(() => compileEventPattern('{"int": 42}')).toThrow(
      'Event pattern is not valid. Reason: "int" must be an object or an array',
    );
  });

  it('accepts the forms the user guide documents', () => {
    const documented = [
      { time: [{ prefix: '2017-10-02' }] },
      { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
      { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } },
      { detail: { state: [{ 'anything-but': { prefix: ['init', 'error'] } }] } },
      { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
      { detail: { 'source-ip': [{ cidr: '2001:db8::/32' }] } },
      { detail: { FilePath: [{ wildcard: '' }] } },
      { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] },
    ];
    for (const pattern of documented)
      expect(compileEventPattern(JSON.stringify(pattern)).branches.length).toBeGreaterThan(0);
  });

  it('multiplies $or into alternatives, and refuses too many of them', () => {
    const pair = (name: string) => ({ $or: [{ [`${name}1`]: ['x'] }, { [`${name}2`]: ['x'] }] });
    expect(compileEventPattern(JSON.stringify({ a: pair('a'), b: pair('b') })).branches).toHaveLength(4);
    const many = Object.fromEntries(
      Array.from({ length: 11 }, (_, index) => [`f${index}`, pair(`f${index}`)]),
    );
    expect(reasonFor(many)).toMatch(/^Rule is too complex/);
  });
});
