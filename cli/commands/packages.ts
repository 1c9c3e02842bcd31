import {
  type DomainPackageDetails,
  type OpenSearchClient,
  type PackageDetails,
  paginateDescribePackages,
  paginateListDomainsForPackage,
} from '@aws-sdk/client-opensearch';
import { EXIT, type ExitCode } from '../io.ts';
import { formatPackageTable, packageView } from '../packages-view.ts';
import { type CommandContext, createOpenSearchClient } from './context.ts';

export interface PackagesOptions {
  /** Only these packages (DescribePackages' PackageID filter). */
  package?: string[] | undefined;
  json?: boolean | undefined;
}

async function describePackages(client: OpenSearchClient, ids: readonly string[]): Promise<PackageDetails[]> {
  const found: PackageDetails[] = [];
  const input = ids.length === 0 ? {} : { Filters: [{ Name: 'PackageID' as const, Value: [...ids] }] };
  for await (const page of paginateDescribePackages({ client, pageSize: 100 }, input)) {
    found.push(...(page.PackageDetailsList ?? []));
  }
  return found;
}

async function domainsOf(client: OpenSearchClient, packageId: string): Promise<DomainPackageDetails[]> {
  const found: DomainPackageDetails[] = [];
  for await (const page of paginateListDomainsForPackage(
    { client, pageSize: 100 },
    { PackageID: packageId },
  )) {
    found.push(...(page.DomainPackageDetailsList ?? []));
  }
  return found;
}

/** `associator packages`: the account's packages and, for each, the domains holding it at which version. */
export async function runPackages(options: PackagesOptions, context: CommandContext): Promise<ExitCode> {
  const { io } = context;
  const client = createOpenSearchClient(context.target);
  try {
    const packages = await describePackages(client, options.package ?? []);
    const views = [];
    for (const details of packages) {
      views.push(packageView(details, await domainsOf(client, details.PackageID ?? '')));
    }
    if (options.json === true) for (const view of views) io.out(JSON.stringify(view));
    else for (const line of formatPackageTable(views)) io.out(line);
    if (views.length > 0) return EXIT.ok;
    io.err(options.package === undefined ? 'no packages in this account and region' : 'no such package');
    return EXIT.failed;
  } finally {
    client.destroy();
  }
}
