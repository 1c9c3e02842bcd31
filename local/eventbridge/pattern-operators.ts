import { type IpRange, parseCidr } from './cidr.ts';
import { InvalidEventPatternError } from './pattern-error.ts';

/** A JSON value an event can hold at a leaf. */
export type Scalar = string | number | boolean | null;

export interface NumericRange {
  lower?: { value: number; inclusive: boolean };
  upper?: { value: number; inclusive: boolean };
}

/** One element of a field's value list, compiled. */
export type Matcher =
  | { type: 'exact'; value: Scalar }
  | { type: 'prefix' | 'suffix'; value: string; ignoreCase: boolean }
  | { type: 'equals-ignore-case'; value: string }
  | { type: 'wildcard'; regex: RegExp }
  | { type: 'numeric'; range: NumericRange }
  | { type: 'cidr'; range: IpRange }
  | { type: 'exists'; exists: boolean }
  | { type: 'anything-but'; excluded: Matcher[] };

function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How AWS's JSON parser names a token in its messages: the text of a scalar, `[`, `{` or `]` past the end. */
function tokenText(value: unknown): string {
  if (value === undefined) return ']';
  if (Array.isArray(value)) return '[';
  if (isRecord(value)) return '{';
  return String(value);
}

function onlyOneKey(keys: string[]): void {
  if (keys.length > 1) fail('Only one key allowed in match expression');
}

function tooManyElements(): never {
  return fail('Too many elements in numeric expression');
}

/**
 * `*` matches any run of characters, `\*` a star and `\\` a backslash; `**` and any other escape are refused.
 * Positions count UTF-8 bytes from AWS's opening quote, so the first character is at 1, as in AWS's messages.
 */
export function compileWildcard(text: string): RegExp {
  let source = '';
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index] ?? '';
    const position = () => Buffer.byteLength(text.slice(0, index)) + 1;
    if (character === '*') {
      if (text[index + 1] === '*') fail(`Consecutive wildcard characters at pos ${position()}`);
      source += '[\\s\\S]*';
    } else if (character === '\\') {
      const next = text[index + 1];
      if (next !== '*' && next !== '\\') fail(`Invalid escape character at pos ${position()}`);
      source += `\\${next}`;
      index += 1;
    } else {
      source += character.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

function numericOperand(value: unknown, label: string): number {
  if (typeof value !== 'number') fail(`Value of ${label} must be numeric`);
  if (!Number.isFinite(value)) fail(`Cannot compare number : ${String(value)}`);
  return value;
}

/** `["=", 5]`, `["<", 10]`, `[">", 0, "<=", 5]`: a lower bound may be followed by an upper one, never the reverse. */
export function compileNumeric(terms: unknown[]): NumericRange {
  const [operator, operand] = terms;
  if (typeof operator !== 'string') return fail(`Invalid member in numeric match: ${tokenText(operator)}`);
  switch (operator) {
    case '=': {
      const value = numericOperand(operand, 'equals');
      if (terms.length > 2) tooManyElements();
      return { lower: { value, inclusive: true }, upper: { value, inclusive: true } };
    }
    case '<':
    case '<=': {
      const value = numericOperand(operand, operator);
      if (terms.length > 2) tooManyElements();
      return { upper: { value, inclusive: operator === '<=' } };
    }
    case '>':
    case '>=': {
      const lower = { value: numericOperand(operand, operator), inclusive: operator === '>=' };
      if (terms.length === 2) return { lower };
      const upperOperator = terms[2];
      if (typeof upperOperator !== 'string') fail(`Bad value in numeric range: ${tokenText(upperOperator)}`);
      if (upperOperator !== '<' && upperOperator !== '<=')
        fail(`Bad numeric range operator: ${upperOperator}`);
      const upper = { value: numericOperand(terms[3], upperOperator), inclusive: upperOperator === '<=' };
      if (terms.length > 4) fail('Too many terms in numeric range expression');
      if (lower.value >= upper.value) fail('Bottom must be less than top');
      return { lower, upper };
    }
    default:
      return fail(`Unrecognized numeric range operator: ${operator}`);
  }
}

const ANYTHING_BUT_OPERATORS = ['equals-ignore-case', 'prefix', 'suffix', 'wildcard'] as const;
type AnythingButOperator = (typeof ANYTHING_BUT_OPERATORS)[number];

function isAnythingButOperator(name: string): name is AnythingButOperator {
  return (ANYTHING_BUT_OPERATORS as readonly string[]).includes(name);
}

function anythingButOperand(operator: AnythingButOperator, value: unknown): Matcher {
  if (typeof value !== 'string') {
    if (operator === 'equals-ignore-case') {
      fail('Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.');
    }
    fail(
      operator === 'wildcard'
        ? 'wildcard match pattern must be a string'
        : 'prefix/suffix match pattern must be a string',
    );
  }
  if ((operator === 'prefix' || operator === 'suffix') && value === '')
    fail('Null prefix/suffix not allowed');
  if (operator === 'wildcard') return { type: 'wildcard', regex: compileWildcard(value) };
  if (operator === 'equals-ignore-case') return { type: 'equals-ignore-case', value: value.toLowerCase() };
  return { type: operator, value, ignoreCase: false };
}

const MIXED_ANYTHING_BUT =
  'Inside anything but list, either all values are number or string, mixed type is not supported';

const ANYTHING_BUT_VALUE = 'Value of anything-but must be an array or single string/number value.';

function isListOrSingle(value: unknown): value is unknown[] | string | number {
  return Array.isArray(value) || typeof value === 'string' || typeof value === 'number';
}

function compileAnythingButOf(operand: Record<string, unknown>): Matcher {
  const [operator, ...others] = Object.keys(operand);
  if (operator === undefined) return fail('Anything-But expression name not found');
  if (!isAnythingButOperator(operator)) return fail(`Unsupported anything-but pattern: ${operator}`);
  const values = operand[operator];
  if (!isListOrSingle(values)) fail(ANYTHING_BUT_VALUE);
  const excluded = (Array.isArray(values) ? values : [values]).map((value) =>
    anythingButOperand(operator, value),
  );
  if (others.length > 0) tooManyElements();
  return { type: 'anything-but', excluded };
}

function compileAnythingBut(operand: unknown): Matcher {
  if (isRecord(operand)) return compileAnythingButOf(operand);
  if (!isListOrSingle(operand)) fail(ANYTHING_BUT_VALUE);
  const values: Array<string | number> = [];
  for (const value of Array.isArray(operand) ? operand : [operand]) {
    if (typeof value !== 'string' && typeof value !== 'number') {
      fail('Inside anything but list, start|null|boolean is not supported.');
    }
    values.push(value);
  }
  const strings = values.filter((value) => typeof value === 'string').length;
  if (values.length === 0 || (strings !== 0 && strings !== values.length)) fail(MIXED_ANYTHING_BUT);
  return { type: 'anything-but', excluded: values.map((value) => ({ type: 'exact', value })) };
}

function compileAffix(type: 'prefix' | 'suffix', operand: unknown, keys: string[]): Matcher {
  if (!isRecord(operand)) {
    if (typeof operand !== 'string') fail(`${type} match pattern must be a string`);
    onlyOneKey(keys);
    return { type, value: operand, ignoreCase: false };
  }
  const [operator, ...others] = Object.keys(operand);
  const label = type === 'prefix' ? 'Prefix' : 'Suffix';
  if (operator === undefined) fail(`${label} expression name not found`);
  if (operator !== 'equals-ignore-case') fail(`Unsupported ${type} pattern: ${operator}`);
  const value = operand[operator];
  if (typeof value !== 'string') fail('equals-ignore-case match pattern must be a string');
  // Keys after the operand, inside the inner object or beside it, are refused alike.
  onlyOneKey([...others, ...keys]);
  return { type, value: value.toLowerCase(), ignoreCase: true };
}

function stringOperand(operand: unknown, name: string, keys: string[]): string {
  if (typeof operand !== 'string') fail(`${name} match pattern must be a string`);
  onlyOneKey(keys);
  return operand;
}

/** An object in a field's value list: `{ "prefix": "a" }`, `{ "numeric": [...] }`, `{ "anything-but": ... }`... */
export function compileExpression(expression: Record<string, unknown>): Matcher {
  const keys = Object.keys(expression);
  const [name] = keys;
  if (name === undefined) return fail('Match expression name not found');
  const operand = expression[name];
  switch (name) {
    case 'exactly':
      return { type: 'exact', value: stringOperand(operand, 'exact', keys) };
    case 'prefix':
    case 'suffix':
      return compileAffix(name, operand, keys);
    case 'equals-ignore-case':
      return { type: name, value: stringOperand(operand, name, keys).toLowerCase() };
    case 'wildcard':
      return { type: name, regex: compileWildcard(stringOperand(operand, name, keys)) };
    // AWS's own wording: a cidr that is not a string is refused as a "prefix" pattern.
    case 'cidr':
      return { type: name, range: parseCidr(stringOperand(operand, 'prefix', keys)) };
    case 'exists':
      if (typeof operand !== 'boolean') fail('exists match pattern must be either true or false.');
      onlyOneKey(keys);
      return { type: name, exists: operand };
    case 'numeric': {
      if (!Array.isArray(operand)) return fail('Value of numeric must be an array.');
      const range = compileNumeric(operand);
      if (keys.length > 1) tooManyElements();
      return { type: name, range };
    }
    case 'anything-but': {
      const matcher = compileAnythingBut(operand);
      if (keys.length > 1) tooManyElements();
      return matcher;
    }
    default:
      return fail(`Unrecognized match type ${name}`);
  }
}
