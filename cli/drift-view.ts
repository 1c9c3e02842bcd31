/**
 * `associator drift`: where each domain holding a package stands against the package's available version.
 * Pure: classification and formatting from what DescribePackages, GetPackageVersionHistory, ListDomainNames
 * and ListPackagesForDomain said.
 */
import type { DomainPackageDetails, PackageDetails, PackageVersionHistory } from '@aws-sdk/client-opensearch';
import { columns } from './packages-view.ts';

/** `behind` only when the history orders the domain's version before the available one. */
export type Drift = 'current' | 'behind' | 'ahead/unknown';

export interface DriftDomain {
  domainName: string;
  /** The association's status (ACTIVE, ASSOCIATING, ASSOCIATION_FAILED, …). */
  status: string;
  version: string | null;
  drift: Drift;
}

export interface DriftView {
  packageId: string;
  packageName: string;
  availableVersion: string | null;
  domains: DriftDomain[];
  counts: Record<Drift, number>;
}

/**
 * `current` at the available version; `behind` at a version the history has before it; otherwise (no version,
 * no available version, a version the history does not have or has later) `ahead/unknown`.
 */
export function classifyDrift(
  version: string | undefined,
  available: string | undefined,
  history: readonly PackageVersionHistory[],
): Drift {
  if (version === undefined || available === undefined) return 'ahead/unknown';
  if (version === available) return 'current';
  // Oldest first by creation time: the API does not promise an order.
  const ordered = [...history]
    .sort((a, b) => (a.CreatedAt?.getTime() ?? 0) - (b.CreatedAt?.getTime() ?? 0))
    .map((entry) => entry.PackageVersion);
  const at = ordered.indexOf(version);
  const target = ordered.indexOf(available);
  return at >= 0 && target >= 0 && at < target ? 'behind' : 'ahead/unknown';
}

/** One package against the domains' listings (`holdings`: each domain's ListPackagesForDomain). */
export function driftView(
  details: PackageDetails,
  history: readonly PackageVersionHistory[],
  holdings: ReadonlyMap<string, readonly DomainPackageDetails[]>,
): DriftView {
  const available = details.AvailablePackageVersion;
  const domains: DriftDomain[] = [];
  for (const [domainName, packages] of [...holdings].sort(([a], [b]) => a.localeCompare(b))) {
    const held = packages.find((entry) => entry.PackageID === details.PackageID);
    if (held === undefined) continue;
    domains.push({
      domainName,
      status: held.DomainPackageStatus ?? '-',
      version: held.PackageVersion ?? null,
      drift: classifyDrift(held.PackageVersion, available, history),
    });
  }
  const counts: Record<Drift, number> = { current: 0, behind: 0, 'ahead/unknown': 0 };
  for (const domain of domains) counts[domain.drift] += 1;
  return {
    packageId: details.PackageID ?? '-',
    packageName: details.PackageName ?? '-',
    availableVersion: available ?? null,
    domains,
    counts,
  };
}

/** Per package a summary line, then its domains indented in shared columns. */
export function formatDrift(views: readonly DriftView[]): string[] {
  const rows = columns(
    views.flatMap((view) =>
      view.domains.map((domain) => [
        `  ${domain.domainName}`,
        domain.version ?? '-',
        domain.status,
        domain.drift,
      ]),
    ),
  );
  const lines: string[] = [];
  let next = 0;
  for (const view of views) {
    const { current, behind } = view.counts;
    const where =
      view.domains.length === 0
        ? 'on no domain'
        : `${current} current, ${behind} behind, ${view.counts['ahead/unknown']} ahead/unknown`;
    lines.push(`${view.packageId} ${view.packageName}  available ${view.availableVersion ?? '-'}: ${where}`);
    lines.push(...rows.slice(next, next + view.domains.length));
    next += view.domains.length;
  }
  return lines;
}
