/**
 * EventBridge's event-pattern language, written after its documentation ("Content filtering in Amazon
 * EventBridge event patterns") and its matcher's published semantics (github.com/aws/event-ruler):
 * exact values, prefix/suffix (optionally ignoring case), equals-ignore-case, wildcard, anything-but
 * (values, prefix, suffix, equals-ignore-case, wildcard), numeric ranges, cidr, exists and `$or`.
 * compile-time checks live in pattern-compile.ts and pattern-operators.ts, matching in pattern-match.ts.
 */
import { type CompiledPattern, compileEventPattern } from './pattern-compile.ts';
import { flattenEvent, matchesFlatEvent } from './pattern-match.ts';

export { type Branch, type CompiledPattern, compileEventPattern } from './pattern-compile.ts';
export { InvalidEventPatternError } from './pattern-error.ts';
export { type FlatEvent, flattenEvent, matchesFlatEvent } from './pattern-match.ts';
export type { Matcher, Scalar } from './pattern-operators.ts';

/** Whether `event` (a parsed JSON object) matches `pattern` (its JSON text, or already compiled). */
export function matchesEventPattern(pattern: string | CompiledPattern, event: unknown): boolean {
  const compiled = typeof pattern === 'string' ? compileEventPattern(pattern) : pattern;
  return matchesFlatEvent(compiled, flattenEvent(event));
}
