import type { DomainPackageDetails, PackageVersionHistory } from '@aws-sdk/client-opensearch';
import { describe, expect, it } from 'vitest';
import { classifyDrift, driftView, formatDrift } from '../../cli/drift-view.ts';

const day = (n: number) => new Date(Date.UTC(2025, 0, n));
// Listed newest first, as nothing promises an order: classification goes by creation time.
const HISTORY: PackageVersionHistory[] = [
  { PackageVersion: 'v3', CreatedAt: day(3) },
  { PackageVersion: 'v1', CreatedAt: day(1) },
  { PackageVersion: 'v2', CreatedAt: day(2) },
];

describe('classifyDrift', () => {
  it.each([
    ['v3', 'v3', 'current'],
    ['v1', 'v3', 'behind'],
    ['v2', 'v3', 'behind'],
    ['v3', 'v2', 'ahead/unknown'],
    ['v9', 'v3', 'ahead/unknown'],
    [undefined, 'v3', 'ahead/unknown'],
    ['v1', undefined, 'ahead/unknown'],
  ] as const)('a domain at %s of a package available at %s is %s', (version, available, drift) => {
    expect(classifyDrift(version, available, HISTORY)).toBe(drift);
  });

  it('calls a version it cannot place against the history unknown, even one that looks older', () => {
    expect(classifyDrift('v1', 'v3', [])).toBe('ahead/unknown');
    expect(
      classifyDrift('2023.11.0', '2025.06.1', [{ PackageVersion: '2025.06.1', CreatedAt: day(5) }]),
    ).toBe('ahead/unknown');
  });
});

const held = (
  PackageID: string,
  PackageVersion: string | undefined,
  status = 'ACTIVE',
): DomainPackageDetails => ({
  PackageID,
  PackageVersion,
  DomainPackageStatus: status as DomainPackageDetails['DomainPackageStatus'],
});

describe('driftView and formatDrift', () => {
  const holdings = new Map<string, DomainPackageDetails[]>([
    ['search-eu-2', [held('F111111111', 'v3')]],
    ['search-eu-1', [held('F222222222', 'v1'), held('F111111111', 'v2')]],
    ['catalog-search', []],
    ['search-eu-4', [held('F111111111', undefined, 'ASSOCIATION_FAILED')]],
  ]);
  const synonyms = driftView(
    { PackageID: 'F111111111', PackageName: 'catalog-synonyms', AvailablePackageVersion: 'v3' },
    HISTORY,
    holdings,
  );

  it('lists only the domains holding the package, by name, each with its drift, and counts them', () => {
    expect(synonyms).toEqual({
      packageId: 'F111111111',
      packageName: 'catalog-synonyms',
      availableVersion: 'v3',
      domains: [
        { domainName: 'search-eu-1', status: 'ACTIVE', version: 'v2', drift: 'behind' },
        { domainName: 'search-eu-2', status: 'ACTIVE', version: 'v3', drift: 'current' },
        { domainName: 'search-eu-4', status: 'ASSOCIATION_FAILED', version: null, drift: 'ahead/unknown' },
      ],
      counts: { current: 1, behind: 1, 'ahead/unknown': 1 },
    });
  });

  it('prints a summary per package and its domains in shared columns', () => {
    const plugin = driftView(
      { PackageID: 'pkg-5f6e7d8c9b', PackageName: 'legacy-tokenizer-plugin' },
      [],
      holdings,
    );

    expect(formatDrift([synonyms, plugin])).toEqual([
      'F111111111 catalog-synonyms  available v3: 1 current, 1 behind, 1 ahead/unknown',
      '  search-eu-1  v2  ACTIVE              behind',
      '  search-eu-2  v3  ACTIVE              current',
      '  search-eu-4  -   ASSOCIATION_FAILED  ahead/unknown',
      'pkg-5f6e7d8c9b legacy-tokenizer-plugin  available -: on no domain',
    ]);
  });
});
