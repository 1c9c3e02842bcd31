import { ipInRange } from './cidr.ts';
import type { Branch, CompiledPattern } from './pattern-compile.ts';
import type { Matcher, NumericRange, Scalar } from './pattern-operators.ts';

/**
 * A scalar of the event at a dotted path, with the array elements it sits in: `[arrayId, index]` for each
 * enclosing array whose element is an object or an array. Two leaves from different elements of one array
 * never match together (AWS's "array consistency"); arrays of scalars hold one field only, so they need
 * no entry, which keeps the search below from trying every element against every other field.
 */
interface Leaf {
  value: Scalar;
  elements: ReadonlyArray<readonly [number, number]>;
}

/** An event flattened once, to be matched against any number of patterns. */
export type FlatEvent = ReadonlyMap<string, readonly Leaf[]>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function flattenEvent(event: unknown): FlatEvent {
  const leaves = new Map<string, Leaf[]>();
  let arrays = 0;
  const visit = (value: unknown, path: string, elements: Leaf['elements']): void => {
    if (Array.isArray(value)) {
      const arrayId = arrays++;
      value.forEach((element, index) => {
        const nested = typeof element === 'object' && element !== null;
        visit(element, path, nested ? [...elements, [arrayId, index]] : elements);
      });
    } else if (isRecord(value)) {
      for (const [key, child] of Object.entries(value))
        visit(child, path === '' ? key : `${path}.${key}`, elements);
    } else if (path !== '') {
      const list = leaves.get(path) ?? [];
      list.push({ value: value as Scalar, elements });
      leaves.set(path, list);
    }
  };
  visit(event, '', []);
  return leaves;
}

function inRange(range: NumericRange, value: number): boolean {
  const { lower, upper } = range;
  if (lower !== undefined && (lower.inclusive ? value < lower.value : value <= lower.value)) return false;
  if (upper !== undefined && (upper.inclusive ? value > upper.value : value >= upper.value)) return false;
  return true;
}

/** Whether one scalar satisfies one matcher. Only strings can match string operators, only numbers numeric. */
export function valueMatches(matcher: Matcher, value: Scalar): boolean {
  switch (matcher.type) {
    case 'exact':
      return value === matcher.value;
    case 'prefix':
      return (
        typeof value === 'string' &&
        (matcher.ignoreCase ? value.toLowerCase() : value).startsWith(matcher.value)
      );
    case 'suffix':
      return (
        typeof value === 'string' &&
        (matcher.ignoreCase ? value.toLowerCase() : value).endsWith(matcher.value)
      );
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === matcher.value;
    case 'wildcard':
      return typeof value === 'string' && matcher.regex.test(value);
    case 'numeric':
      return typeof value === 'number' && inRange(matcher.range, value);
    case 'cidr':
      return typeof value === 'string' && ipInRange(value, matcher.range);
    case 'exists':
      return matcher.exists;
    // A value of another type (or null) is "anything but" every excluded value, so it matches.
    case 'anything-but':
      return !matcher.excluded.some((excluded) => valueMatches(excluded, value));
  }
}

type Membership = ReadonlyMap<number, number>;

function consistent(membership: Membership, leaf: Leaf): boolean {
  return leaf.elements.every(([arrayId, index]) => (membership.get(arrayId) ?? index) === index);
}

function joined(membership: Membership, leaf: Leaf): Membership {
  if (leaf.elements.length === 0) return membership;
  return new Map([...membership, ...leaf.elements]);
}

/**
 * Picks one leaf per field, in AWS's order (fields sorted by path), so that all picks are array-consistent.
 * `{ "exists": false }` holds when no leaf of its path is consistent with the picks made so far.
 */
function matchesBranch(branch: Branch, event: FlatEvent): boolean {
  const fields = [...branch.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const failed = new Set<string>();
  const search = (index: number, membership: Membership): boolean => {
    const field = fields[index];
    if (field === undefined) return true;
    const key = `${index}|${[...membership].join(';')}`;
    if (failed.has(key)) return false;
    const [path, matchers] = field;
    const candidates = (event.get(path) ?? []).filter((leaf) => consistent(membership, leaf));
    for (const leaf of candidates) {
      if (
        matchers.some((matcher) => valueMatches(matcher, leaf.value)) &&
        search(index + 1, joined(membership, leaf))
      ) {
        return true;
      }
    }
    const absent =
      candidates.length === 0 && matchers.some((matcher) => matcher.type === 'exists' && !matcher.exists);
    if (absent && search(index + 1, membership)) return true;
    failed.add(key);
    return false;
  };
  return search(0, new Map());
}

export function matchesFlatEvent(pattern: CompiledPattern, event: FlatEvent): boolean {
  return pattern.branches.some((branch) => matchesBranch(branch, event));
}
