/**
 * Which domains the service may touch. Entries are exact names or `prefix-*` patterns; `*` allows every
 * domain and an empty list allows none, so a forgotten setting fails closed.
 */
export interface DomainAllowList {
  readonly entries: readonly string[];
  allows(domainName: string): boolean;
}

const ENTRY_PATTERN = /^(\*|[a-z][a-z0-9-]*\*?)$/;

export class InvalidAllowListError extends Error {
  override name = 'InvalidAllowListError';
}

export function parseAllowList(value: string): DomainAllowList {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  for (const entry of entries) {
    if (!ENTRY_PATTERN.test(entry)) {
      throw new InvalidAllowListError(
        `"${entry}" is neither a domain name, a "prefix-*" pattern nor "*" (a wildcard is only allowed at the end)`,
      );
    }
  }
  const exact = new Set(entries.filter((entry) => !entry.endsWith('*')));
  const prefixes = entries.filter((entry) => entry.endsWith('*')).map((entry) => entry.slice(0, -1));
  return {
    entries,
    allows: (domainName) => exact.has(domainName) || prefixes.some((prefix) => domainName.startsWith(prefix)),
  };
}
