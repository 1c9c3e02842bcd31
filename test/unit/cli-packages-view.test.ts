import { describe, expect, it } from 'vitest';
import { formatPackageTable, packageView } from '../../cli/packages-view.ts';

const synonyms = {
  PackageID: 'F111111111',
  PackageName: 'catalog-synonyms',
  PackageType: 'TXT-DICTIONARY',
  PackageStatus: 'AVAILABLE',
  AvailablePackageVersion: 'v3',
} as const;

describe('packageView', () => {
  it('marks each domain current at the available version and behind at an older one, in name order', () => {
    const view = packageView(synonyms, [
      { DomainName: 'orders-metrics', DomainPackageStatus: 'ACTIVE', PackageVersion: 'v2' },
      { DomainName: 'catalog-search', DomainPackageStatus: 'ASSOCIATING', PackageVersion: 'v3' },
    ]);
    expect(view).toEqual({
      packageId: 'F111111111',
      packageName: 'catalog-synonyms',
      packageType: 'TXT-DICTIONARY',
      status: 'AVAILABLE',
      availableVersion: 'v3',
      domains: [
        { domainName: 'catalog-search', status: 'ASSOCIATING', version: 'v3', standing: 'current' },
        { domainName: 'orders-metrics', status: 'ACTIVE', version: 'v2', standing: 'behind' },
      ],
    });
  });

  it('keeps the error of a failed package, and calls a domain behind when no version is known', () => {
    const view = packageView(
      {
        PackageID: 'F444444444',
        PackageName: 'broken-synonyms',
        PackageType: 'TXT-DICTIONARY',
        PackageStatus: 'VALIDATION_FAILED',
        ErrorDetails: { ErrorType: 'ValidationFailed', ErrorMessage: 'Line 12: bad rule' },
      },
      [{ DomainName: 'orders-logs', DomainPackageStatus: 'ACTIVE' }],
    );
    expect(view.availableVersion).toBeNull();
    expect(view.error).toEqual({ type: 'ValidationFailed', message: 'Line 12: bad rule' });
    expect(view.domains).toEqual([
      { domainName: 'orders-logs', status: 'ACTIVE', version: null, standing: 'behind' },
    ]);
  });
});

describe('formatPackageTable', () => {
  it('aligns the packages in columns, each with its domains indented under it in columns of their own', () => {
    const lines = formatPackageTable([
      packageView(synonyms, [
        { DomainName: 'orders-metrics', DomainPackageStatus: 'ACTIVE', PackageVersion: 'v2' },
        { DomainName: 'catalog-search', DomainPackageStatus: 'ASSOCIATING', PackageVersion: 'v3' },
      ]),
      packageView(
        {
          PackageID: 'pkg-0a1b2c3d4e',
          PackageName: 'ranking',
          PackageType: 'ZIP-PLUGIN',
          PackageStatus: 'VALIDATING',
          AvailablePackageVersion: 'v1',
          ErrorDetails: { ErrorType: 'X', ErrorMessage: 'y' },
        },
        [{ DomainName: 'hr-private', DomainPackageStatus: 'DISSOCIATION_FAILED', PackageVersion: 'v1' }],
      ),
    ]);
    expect(lines).toEqual([
      'PACKAGE         NAME              TYPE            STATUS      AVAILABLE',
      'F111111111      catalog-synonyms  TXT-DICTIONARY  AVAILABLE   v3',
      '  catalog-search  ASSOCIATING          v3  current',
      '  orders-metrics  ACTIVE               v2  behind',
      'pkg-0a1b2c3d4e  ranking           ZIP-PLUGIN      VALIDATING  v1         X: y',
      '  hr-private      DISSOCIATION_FAILED  v1  current',
    ]);
  });
});
