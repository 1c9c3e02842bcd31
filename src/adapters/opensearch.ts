import {
  AssociatePackageCommand,
  type DomainPackageDetails,
  ListPackagesForDomainCommand,
  type OpenSearchClient,
} from '@aws-sdk/client-opensearch';
import type { PackageDetails } from '../domain/events.ts';
import type { AssociationRequest } from '../domain/request.ts';

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

export interface PackageAssociations {
  associate(request: AssociationRequest): Promise<PackageDetails>;
  /** The package as the domain reports it, or undefined when the domain does not list it. */
  find(domainName: string, packageId: string): Promise<PackageDetails | undefined>;
}

export function openSearchPackageAssociations(client: OpenSearchClient): PackageAssociations {
  return {
    async associate(request) {
      const keyStore = request.associationConfiguration?.keyStoreAccessOption;
      const response = await client.send(
        new AssociatePackageCommand({
          DomainName: request.domainName,
          PackageID: request.packageId,
          PrerequisitePackageIDList: request.prerequisitePackageIds,
          AssociationConfiguration: keyStore && {
            KeyStoreAccessOption: {
              KeyStoreAccessEnabled: keyStore.keyStoreAccessEnabled,
              KeyAccessRoleArn: keyStore.keyAccessRoleArn,
            },
          },
        }),
      );
      return toPackageDetails(response.DomainPackageDetails);
    },
    async find(domainName, packageId) {
      // The API has no filter by package: page through the domain's list (at most a few dozen entries).
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
