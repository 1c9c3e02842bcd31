import type { PackageDetails as AwsPackageDetails } from '@aws-sdk/client-opensearch';
import type { PackageState } from '../domain/readiness.ts';

/**
 * Reads asked for within this long of each other share one `DescribePackages`: the members of a group, and the
 * woken waiters of a domain, reach `ready` at about the same moment, each for its own package.
 */
const GATHER_MS = 10;
/** Package ids per call: one filter value each, one page. */
const MAX_PER_CALL = 20;

/** `DescribePackages` for these ids (distinct, at most 20). */
export type DescribeMany = (packageIds: string[]) => Promise<AwsPackageDetails[]>;

interface Asked {
  packageId: string;
  resolve(state: PackageState | undefined): void;
  reject(error: unknown): void;
}

function stateOf(details: AwsPackageDetails): PackageState {
  return {
    ...(details.PackageStatus !== undefined && { status: details.PackageStatus }),
    ...(details.AvailablePackageVersion !== undefined && {
      availableVersion: details.AvailablePackageVersion,
    }),
    ...(details.PackageType !== undefined && { packageType: details.PackageType }),
    ...(details.PackageName !== undefined && { packageName: details.PackageName }),
  };
}

async function send(asked: Asked[], describe: DescribeMany): Promise<void> {
  const ids = [...new Set(asked.map((entry) => entry.packageId))];
  try {
    const found = new Map((await describe(ids)).map((details) => [details.PackageID, details]));
    for (const entry of asked) {
      const details = found.get(entry.packageId);
      entry.resolve(details === undefined ? undefined : stateOf(details));
    }
  } catch (error) {
    for (const entry of asked) entry.reject(error);
  }
}

/**
 * `describePackage` for one environment, gathering the packages asked for at once into one call; the first
 * caller's `describe` makes it.
 */
export function packageReadGatherer() {
  let gathering: { asked: Asked[]; describe: DescribeMany } | undefined;

  function flush(): void {
    if (gathering === undefined) return;
    const { asked, describe } = gathering;
    gathering = undefined;
    for (let index = 0; index < asked.length; index += MAX_PER_CALL) {
      void send(asked.slice(index, index + MAX_PER_CALL), describe);
    }
  }

  return function describePackage(
    packageId: string,
    describe: DescribeMany,
  ): Promise<PackageState | undefined> {
    return new Promise((resolve, reject) => {
      if (gathering === undefined) {
        gathering = { asked: [], describe };
        setTimeout(flush, GATHER_MS);
      }
      gathering.asked.push({ packageId, resolve, reject });
    });
  };
}
