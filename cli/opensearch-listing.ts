/** Paging through the OpenSearch packages API's listings, shared by the commands that read them. */
import {
  type DomainPackageDetails,
  ListDomainNamesCommand,
  type OpenSearchClient,
  type PackageDetails,
  type PackageVersionHistory,
  paginateDescribePackages,
  paginateGetPackageVersionHistory,
  paginateListDomainsForPackage,
  paginateListPackagesForDomain,
} from '@aws-sdk/client-opensearch';

/** DescribePackages: every package, or those with these ids. */
export async function describePackages(
  client: OpenSearchClient,
  ids: readonly string[],
): Promise<PackageDetails[]> {
  const found: PackageDetails[] = [];
  const input = ids.length === 0 ? {} : { Filters: [{ Name: 'PackageID' as const, Value: [...ids] }] };
  for await (const page of paginateDescribePackages({ client, pageSize: 100 }, input)) {
    found.push(...(page.PackageDetailsList ?? []));
  }
  return found;
}

/** ListDomainsForPackage: the domains a package is associated with. */
export async function domainsOfPackage(
  client: OpenSearchClient,
  packageId: string,
): Promise<DomainPackageDetails[]> {
  const found: DomainPackageDetails[] = [];
  const pages = paginateListDomainsForPackage({ client, pageSize: 100 }, { PackageID: packageId });
  for await (const page of pages) found.push(...(page.DomainPackageDetailsList ?? []));
  return found;
}

/** ListPackagesForDomain: the packages associated with a domain (the API cannot filter by package). */
export async function packagesOfDomain(
  client: OpenSearchClient,
  domainName: string,
): Promise<DomainPackageDetails[]> {
  const found: DomainPackageDetails[] = [];
  const pages = paginateListPackagesForDomain({ client, pageSize: 100 }, { DomainName: domainName });
  for await (const page of pages) found.push(...(page.DomainPackageDetailsList ?? []));
  return found;
}

/** ListDomainNames: every domain of the account and region (one page: the API has no paging). */
export async function domainNames(client: OpenSearchClient): Promise<string[]> {
  const { DomainNames } = await client.send(new ListDomainNamesCommand({}));
  return (DomainNames ?? []).flatMap((domain) =>
    domain.DomainName === undefined ? [] : [domain.DomainName],
  );
}

/** GetPackageVersionHistory: a package's versions. */
export async function versionHistory(
  client: OpenSearchClient,
  packageId: string,
): Promise<PackageVersionHistory[]> {
  const found: PackageVersionHistory[] = [];
  const pages = paginateGetPackageVersionHistory({ client, pageSize: 100 }, { PackageID: packageId });
  for await (const page of pages) found.push(...(page.PackageVersionHistoryList ?? []));
  return found;
}
