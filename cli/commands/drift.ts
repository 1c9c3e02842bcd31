import type { DomainPackageDetails } from '@aws-sdk/client-opensearch';
import { driftView, formatDrift } from '../drift-view.ts';
import { EXIT, type ExitCode } from '../io.ts';
import { describePackages, domainNames, packagesOfDomain, versionHistory } from '../opensearch-listing.ts';
import { type CommandContext, createOpenSearchClient } from './context.ts';

export interface DriftOptions {
  package: string[];
  json?: boolean | undefined;
}

/**
 * `associator drift`: every domain holding each package, at its available version (`current`), an older one
 * (`behind`) or neither (`ahead/unknown`). Exits 0 whatever the drift: only a failing API call fails it.
 */
export async function runDrift(options: DriftOptions, context: CommandContext): Promise<ExitCode> {
  const { io } = context;
  const client = createOpenSearchClient(context.target);
  try {
    const packages = await describePackages(client, options.package);
    for (const id of options.package) {
      if (!packages.some((details) => details.PackageID === id)) io.err(`${id}: no such package`);
    }
    if (packages.length === 0) return EXIT.ok;
    // Each domain's listing once, whatever the number of packages asked about.
    const holdings = new Map<string, DomainPackageDetails[]>();
    for (const domainName of await domainNames(client)) {
      holdings.set(domainName, await packagesOfDomain(client, domainName));
    }
    const views = [];
    for (const details of packages) {
      views.push(driftView(details, await versionHistory(client, details.PackageID ?? ''), holdings));
    }
    if (options.json === true) for (const view of views) io.out(JSON.stringify(view));
    else for (const line of formatDrift(views)) io.out(line);
    return EXIT.ok;
  } finally {
    client.destroy();
  }
}
