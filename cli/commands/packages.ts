import { EXIT, type ExitCode } from '../io.ts';
import { describePackages, domainsOfPackage } from '../opensearch-listing.ts';
import { formatPackageTable, packageView } from '../packages-view.ts';
import { type CommandContext, createOpenSearchClient } from './context.ts';

export interface PackagesOptions {
  /** Only these packages (DescribePackages' PackageID filter). */
  package?: string[] | undefined;
  json?: boolean | undefined;
}

/** `associator packages`: the account's packages and, for each, the domains holding it at which version. */
export async function runPackages(options: PackagesOptions, context: CommandContext): Promise<ExitCode> {
  const { io } = context;
  const client = createOpenSearchClient(context.target);
  try {
    const packages = await describePackages(client, options.package ?? []);
    const views = [];
    for (const details of packages) {
      views.push(packageView(details, await domainsOfPackage(client, details.PackageID ?? '')));
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
