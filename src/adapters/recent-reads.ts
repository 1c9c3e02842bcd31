import type { PackageState } from '../domain/readiness.ts';
import type { PackageAssociations } from './opensearch.ts';

/**
 * The associations adapter with its two readiness reads reused for `reuseMs` per execution environment, and
 * concurrent identical reads sharing one call. A rollout's wave, or a batch, asks the same package of every
 * domain at once: one DescribePackages answers them all. Short, because both change: a package updated within
 * it is caught by the refusal AssociatePackage then answers (read again, `fresh`). Everything else, the
 * listing above all, is read every time.
 */
export function withRecentReads(
  associations: PackageAssociations,
  reuseMs: number,
  now: () => number = Date.now,
): PackageAssociations {
  if (reuseMs <= 0) return associations;
  const packages = recentReads<PackageState | undefined>(reuseMs, now);
  const domains = recentReads<boolean>(reuseMs, now);
  return {
    ...associations,
    describePackage: (packageId, options) =>
      options?.fresh === true
        ? associations.describePackage(packageId)
        : packages.read(packageId, () => associations.describePackage(packageId)),
    isProcessing: (domainName) => domains.read(domainName, () => associations.isProcessing(domainName)),
  };
}

/**
 * Reads by key, each answer (or the call still in flight) reused for `reuseMs`; a failed read is not reused.
 */
export function recentReads<T>(reuseMs: number, now: () => number = Date.now) {
  const entries = new Map<string, { at: number; value: Promise<T> }>();
  return {
    read(key: string, load: () => Promise<T>): Promise<T> {
      const entry = entries.get(key);
      if (entry !== undefined && now() - entry.at < reuseMs) return entry.value;
      const value = load();
      entries.set(key, { at: now(), value });
      // A failed read is not reused: the next caller asks again.
      value.catch(() => {
        if (entries.get(key)?.value === value) entries.delete(key);
      });
      return value;
    },
  };
}
