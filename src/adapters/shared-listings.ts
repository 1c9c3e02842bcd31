import type { PackageDetails } from '../domain/events.ts';
import type { PackageAssociations } from './opensearch.ts';

type Listing = (PackageDetails & { packageId: string })[];

/**
 * The associations adapter for one tracker invocation: one `ListPackagesForDomain` per domain answers every
 * status check of the batch on that domain (each check is a call the account's throttled control plane could
 * have spent on another request). Only for the tracker: its checks all read after the operations they follow,
 * while a listing in the associate handler may have to see a call made a moment before in the same invocation.
 */
export function withSharedListings(associations: PackageAssociations): PackageAssociations {
  const listings = new Map<string, Promise<Listing>>();
  const list = (domainName: string): Promise<Listing> => {
    const shared = listings.get(domainName);
    if (shared !== undefined) return shared;
    const listing = associations.list(domainName);
    listings.set(domainName, listing);
    // A failed listing is not shared with the checks after it: each asks again.
    listing.catch(() => {
      if (listings.get(domainName) === listing) listings.delete(domainName);
    });
    return listing;
  };
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
