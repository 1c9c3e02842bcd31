/**
 * Whether a package can be associated now, at the version a request must end at (docs/DESIGN.md, "The package
 * lifecycle"). `AssociatePackage` takes no version: it always applies the package's available one.
 */
import { PACKAGE_NOT_USABLE } from './dlq.ts';

/** The package as `DescribePackages` reports it. */
export interface PackageState {
  status?: string;
  availableVersion?: string;
  packageType?: string;
  packageName?: string;
}

/** Package types AWS installs by a blue/green deployment: hours, not minutes. */
const PLUGIN_PACKAGE_TYPES: ReadonlySet<string> = new Set([
  'ZIP-PLUGIN',
  'PACKAGE-LICENSE',
  'PACKAGE-CONFIG',
]);

export const isPluginType = (packageType: string | undefined): boolean =>
  packageType !== undefined && PLUGIN_PACKAGE_TYPES.has(packageType);

/** States a package leaves by itself: an association waits for them to end. */
const BECOMING_AVAILABLE: ReadonlySet<string> = new Set(['COPYING', 'VALIDATING']);

export type Readiness =
  | { kind: 'ready'; targetVersion: string | undefined }
  | { kind: 'wait'; message: string }
  /** A named version other than the available one while an update runs: the history tells older from next. */
  | { kind: 'needs-history' }
  | { kind: 'unusable'; code: typeof PACKAGE_NOT_USABLE | 'ResourceNotFoundException'; message: string };

/**
 * @param target the request's version, or the one pinned earlier; undefined: whatever becomes available
 * @param history the package's past versions, when `needs-history` asked for them
 */
export function packageReadiness(
  packageId: string,
  pkg: PackageState | undefined,
  target: string | undefined,
  history?: readonly string[],
): Readiness {
  if (pkg === undefined) {
    return { kind: 'unusable', code: 'ResourceNotFoundException', message: `${packageId} does not exist` };
  }
  const available = pkg.availableVersion;
  if (pkg.status === 'AVAILABLE') {
    if (target === undefined || target === available) return { kind: 'ready', targetVersion: available };
    const message = `${packageId} is available at ${available ?? 'no version'}, and AssociatePackage applies only the available version: ${target} cannot be reached`;
    return { kind: 'unusable', code: PACKAGE_NOT_USABLE, message };
  }
  if (pkg.status !== undefined && !BECOMING_AVAILABLE.has(pkg.status)) {
    return { kind: 'unusable', code: PACKAGE_NOT_USABLE, message: `${packageId} is ${pkg.status}` };
  }
  const waiting = { kind: 'wait' as const, message: `${packageId} is ${pkg.status ?? 'in no known state'}` };
  if (target === undefined || target === available) return waiting;
  if (history === undefined) return { kind: 'needs-history' };
  if (history.includes(target)) {
    const message = `${target} is a past version of ${packageId}, which is being updated past it`;
    return { kind: 'unusable', code: PACKAGE_NOT_USABLE, message };
  }
  return waiting;
}
