import type { ListedPackage, PackageAssociations } from './opensearch.ts';
import { recentReads } from './recent-reads.ts';

/**
 * The associations adapter for one tracker invocation: one `ListPackagesForDomain` per domain answers every
 * status check of the batch on that domain (each check is a call the account's throttled control plane could
 * have spent on another request). Only for the tracker: its checks all read after the operations they follow,
 * while a listing in the associate handler may have to see a call made a moment before in the same invocation.
 */
export function withSharedListings(associations: PackageAssociations): PackageAssociations {
  // For the whole invocation: the adapter lives as long as the batch.
  const listings = recentReads<ListedPackage[]>(Number.POSITIVE_INFINITY);
  const list = (domainName: string) => listings.read(domainName, () => associations.list(domainName));
  return {
    ...associations,
    list,
    async find(domainName, packageId) {
      const match = (await list(domainName)).find((details) => details.packageId === packageId);
      if (match === undefined) return undefined;
      const { packageId: _id, ...details } = match;
      return details;
    },
  };
}
