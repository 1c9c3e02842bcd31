/** `associator packages`: each package, its available version, and where it is associated at which version. */
import type { DomainPackageDetails, PackageDetails } from '@aws-sdk/client-opensearch';

export interface PackageDomainView {
  domainName: string;
  status: string;
  version: string | null;
  /** `current` at the package's available version, `behind` at an older one (or none known). */
  standing: 'current' | 'behind';
}

export interface PackageView {
  packageId: string;
  packageName: string;
  packageType: string;
  status: string;
  availableVersion: string | null;
  error?: { type: string; message: string };
  domains: PackageDomainView[];
}

/** What one package's DescribePackages entry and ListDomainsForPackage listing say, as one view. */
export function packageView(details: PackageDetails, domains: readonly DomainPackageDetails[]): PackageView {
  const available = details.AvailablePackageVersion ?? null;
  const error = details.ErrorDetails;
  return {
    packageId: details.PackageID ?? '-',
    packageName: details.PackageName ?? '-',
    packageType: details.PackageType ?? '-',
    status: details.PackageStatus ?? '-',
    availableVersion: available,
    ...(error !== undefined && {
      error: { type: error.ErrorType ?? '-', message: error.ErrorMessage ?? '-' },
    }),
    domains: domains
      .map((domain) => ({
        domainName: domain.DomainName ?? '-',
        status: domain.DomainPackageStatus ?? '-',
        version: domain.PackageVersion ?? null,
        standing:
          available !== null && domain.PackageVersion === available
            ? ('current' as const)
            : ('behind' as const),
      }))
      .sort((a, b) => a.domainName.localeCompare(b.domainName)),
  };
}

/** Cells padded to their column's widest, two spaces apart; the last column unpadded. */
export function columns(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * A table, one line per package (id, name, type, status, available version, error), with its domains indented
 * under it (domain, association status, version, current or behind).
 */
export function formatPackageTable(views: readonly PackageView[]): string[] {
  const lines: string[] = [];
  const packageLines = columns([
    ['PACKAGE', 'NAME', 'TYPE', 'STATUS', 'AVAILABLE'],
    ...views.map((view) => [
      view.packageId,
      view.packageName,
      view.packageType,
      view.status,
      view.availableVersion ?? '-',
      view.error === undefined ? '' : `${view.error.type}: ${view.error.message}`,
    ]),
  ]);
  // Domain lines share their own columns across the table, so versions and standings line up.
  const domainLines = columns(
    views.flatMap((view) =>
      view.domains.map((domain) => [
        `  ${domain.domainName}`,
        domain.status,
        domain.version ?? '-',
        domain.standing,
      ]),
    ),
  );
  lines.push(packageLines[0] ?? '');
  let next = 0;
  views.forEach((view, index) => {
    lines.push(packageLines[index + 1] ?? '');
    lines.push(...domainLines.slice(next, next + view.domains.length));
    next += view.domains.length;
  });
  return lines;
}
