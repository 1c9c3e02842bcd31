import { InvalidEventPatternError } from './pattern-error.ts';
import { compileExpression, type Matcher } from './pattern-operators.ts';

/**
 * One way for an event to match: every dotted path here must hold a value one of its matchers accepts
 * (or, for `{ "exists": false }`, hold none). A pattern's `$or`s multiply out into several branches.
 */
export type Branch = ReadonlyMap<string, readonly Matcher[]>;

export interface CompiledPattern {
  branches: readonly Branch[];
}

// `$or`s multiply: a few dozen of them in a 4 KiB pattern would otherwise make billions of branches.
const MAX_BRANCHES = 1024;

// AWS keeps these names for operators, so inside `$or` they cannot name fields.
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cross(left: readonly Branch[], right: readonly Branch[]): Branch[] {
  if (left.length * right.length > MAX_BRANCHES) {
    fail(`Rule is too complex: its $or combinations make more than ${MAX_BRANCHES} alternatives`);
  }
  return left.flatMap((a) => right.map((b) => new Map([...a, ...b])));
}

function compileValues(values: unknown[]): Matcher[] {
  const matchers = values.map((value): Matcher => {
    if (isRecord(value)) return compileExpression(value);
    if (Array.isArray(value)) return fail('Match value must be String, number, true, false, or null');
    return { type: 'exact', value: value as string | number | boolean | null };
  });
  if (matchers.length === 0) fail('Empty arrays are not allowed');
  return matchers;
}

function compileOr(alternatives: unknown, path: readonly string[]): Branch[] {
  if (!Array.isArray(alternatives)) return fail('It must be an Array followed with $or.');
  const branches = alternatives.flatMap((alternative) => {
    if (!isRecord(alternative)) return fail('Only JSON object is allowed in array of $or relationship.');
    return compileObject(alternative, path, true);
  });
  if (alternatives.length < 2) fail('There must have at least 2 Objects in $or relationship.');
  return branches;
}

function compileObject(
  object: Record<string, unknown>,
  path: readonly string[],
  insideOr: boolean,
): Branch[] {
  const keys = Object.keys(object);
  if (keys.length === 0) fail('Empty objects are not allowed');
  let branches: Branch[] = [new Map()];
  for (const key of keys) {
    const value = object[key];
    if (key === '$or') {
      branches = cross(branches, compileOr(value, path));
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      fail(`${key} is Ruler reserved fieldName which cannot be used inside $or.`);
    }
    if (isRecord(value)) {
      branches = cross(branches, compileObject(value, [...path, key], insideOr));
    } else if (Array.isArray(value)) {
      // Paths are dot-joined, as AWS joins them: {"a": {"b": [...]}} and {"a.b": [...]} are one field.
      const field = [...path, key].join('.');
      const matchers = compileValues(value);
      branches = branches.map((branch) => new Map([...branch, [field, matchers]]));
    } else {
      fail(`"${key}" must be an object or an array`);
    }
  }
  return branches;
}

/** Parses and validates an event pattern the way EventBridge does, refusing it with AWS's reason. */
export function compileEventPattern(text: string): CompiledPattern {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (!isRecord(parsed)) fail('Filter is not an object');
  return { branches: compileObject(parsed, [], false) };
}
