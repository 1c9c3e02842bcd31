import {
  AssociatePackageCommand,
  AssociatePackagesCommand,
  DescribeDomainCommand,
  DescribePackagesCommand,
  DissociatePackageCommand,
  type DomainPackageDetails,
  GetPackageVersionHistoryCommand,
  ListDomainNamesCommand,
  ListPackagesForDomainCommand,
  type OpenSearchClient,
} from '@aws-sdk/client-opensearch';
import type { PackageDetails } from '../domain/events.ts';
import type { StoredRequest } from '../domain/ledger.ts';
import type { PackageState } from '../domain/readiness.ts';
import { packageReadGatherer } from './package-reads.ts';

function toPackageDetails(details: DomainPackageDetails | undefined): PackageDetails {
  if (details === undefined) return {};
  const result: PackageDetails = {};
  if (details.DomainPackageStatus !== undefined) result.status = details.DomainPackageStatus;
  if (details.PackageName !== undefined) result.packageName = details.PackageName;
  if (details.PackageType !== undefined) result.packageType = details.PackageType;
  if (details.PackageVersion !== undefined) result.packageVersion = details.PackageVersion;
  if (details.ReferencePath !== undefined) result.referencePath = details.ReferencePath;
  if (details.LastUpdated !== undefined) result.lastUpdated = details.LastUpdated.getTime();
  if (details.ErrorDetails !== undefined) {
    result.errorDetails = {
      ...(details.ErrorDetails.ErrorType !== undefined && { errorType: details.ErrorDetails.ErrorType }),
      ...(details.ErrorDetails.ErrorMessage !== undefined && {
        errorMessage: details.ErrorDetails.ErrorMessage,
      }),
    };
  }
  return result;
}

/** The package and its options, as both association operations take them. */
function forAssociation(request: StoredRequest) {
  const keyStore = request.associationConfiguration?.keyStoreAccessOption;
  return {
    PackageID: request.packageId,
    PrerequisitePackageIDList: request.prerequisitePackageIds,
    AssociationConfiguration: keyStore && {
      KeyStoreAccessOption: {
        KeyStoreAccessEnabled: keyStore.keyStoreAccessEnabled,
        KeyAccessRoleArn: keyStore.keyAccessRoleArn,
      },
    },
  };
}

export type ListedPackage = PackageDetails & { packageId: string };

export interface PackageAssociations {
  associate(request: StoredRequest): Promise<PackageDetails>;
  /** Several packages of one domain in one operation (`AssociatePackages`): what AWS answers for each. */
  associateMany(domainName: string, requests: StoredRequest[]): Promise<ListedPackage[]>;
  dissociate(domainName: string, packageId: string): Promise<PackageDetails>;
  /** Every package the domain lists, with its id. */
  list(domainName: string): Promise<(PackageDetails & { packageId: string })[]>;
  /** The package as the domain reports it, or undefined when the domain does not list it. */
  find(domainName: string, packageId: string): Promise<PackageDetails | undefined>;
  /** The package itself (`DescribePackages`), or undefined when the account has no such package. */
  describePackage(packageId: string, options?: { fresh?: boolean }): Promise<PackageState | undefined>;
  /** Every version the package has had (`GetPackageVersionHistory`). */
  versionHistory(packageId: string): Promise<string[]>;
  /** Every domain of the account and region (`ListDomainNames`). */
  listDomainNames(): Promise<string[]>;
  /** Whether the domain is processing a change (a blue/green deployment): package operations must wait. */
  isProcessing(domainName: string): Promise<boolean>;
}

/** `operations` makes the calls that change a domain; `client` reads. */
export function openSearchPackageAssociations(
  client: OpenSearchClient,
  operations: OpenSearchClient = client,
): PackageAssociations {
  // Readiness reads asked for at once (a group's, a domain's woken waiters') share one DescribePackages.
  const gathered = packageReadGatherer();
  return {
    async associate(request) {
      const response = await operations.send(
        new AssociatePackageCommand({ DomainName: request.domainName, ...forAssociation(request) }),
      );
      return toPackageDetails(response.DomainPackageDetails);
    },
    async associateMany(domainName, requests) {
      const response = await operations.send(
        new AssociatePackagesCommand({ DomainName: domainName, PackageList: requests.map(forAssociation) }),
      );
      return (response.DomainPackageDetailsList ?? []).flatMap((details) =>
        details.PackageID === undefined
          ? []
          : [{ ...toPackageDetails(details), packageId: details.PackageID }],
      );
    },
    async dissociate(domainName, packageId) {
      const response = await operations.send(
        new DissociatePackageCommand({ DomainName: domainName, PackageID: packageId }),
      );
      return toPackageDetails(response.DomainPackageDetails);
    },
    async describePackage(packageId) {
      return gathered(packageId, async (ids) => {
        const response = await client.send(
          new DescribePackagesCommand({
            Filters: [{ Name: 'PackageID', Value: ids }],
            MaxResults: ids.length,
          }),
        );
        return response.PackageDetailsList ?? [];
      });
    },
    async versionHistory(packageId) {
      const versions: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new GetPackageVersionHistoryCommand({
            PackageID: packageId,
            MaxResults: 100,
            NextToken: nextToken,
          }),
        );
        for (const entry of page.PackageVersionHistoryList ?? []) {
          if (entry.PackageVersion !== undefined) versions.push(entry.PackageVersion);
        }
        nextToken = page.NextToken;
      } while (nextToken);
      return versions;
    },
    async listDomainNames() {
      const response = await client.send(new ListDomainNamesCommand({}));
      return (response.DomainNames ?? []).flatMap((domain) =>
        domain.DomainName === undefined ? [] : [domain.DomainName],
      );
    },
    async isProcessing(domainName) {
      const response = await client.send(new DescribeDomainCommand({ DomainName: domainName }));
      const status = response.DomainStatus;
      return status?.Processing === true || status?.UpgradeProcessing === true;
    },
    async list(domainName) {
      // At most a few dozen entries per domain.
      const listed: (PackageDetails & { packageId: string })[] = [];
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new ListPackagesForDomainCommand({ DomainName: domainName, MaxResults: 100, NextToken: nextToken }),
        );
        for (const details of page.DomainPackageDetailsList ?? []) {
          if (details.PackageID !== undefined)
            listed.push({ ...toPackageDetails(details), packageId: details.PackageID });
        }
        nextToken = page.NextToken;
      } while (nextToken);
      return listed;
    },
    async find(domainName, packageId) {
      // The API has no filter by package: page through the domain's list, stopping at the package.
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new ListPackagesForDomainCommand({ DomainName: domainName, MaxResults: 100, NextToken: nextToken }),
        );
        const match = page.DomainPackageDetailsList?.find((details) => details.PackageID === packageId);
        if (match !== undefined) return toPackageDetails(match);
        nextToken = page.NextToken;
      } while (nextToken);
      return undefined;
    },
  };
}
