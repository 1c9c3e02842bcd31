import { createHash } from 'node:crypto';
import type { DomainPackageStatus } from '@aws-sdk/client-opensearch';
import {
  type AssociationRecord,
  type AssociationRequest,
  associationDetails,
  checkPrerequisites,
  checkQuota,
  IN_PROGRESS,
  inProgress,
  isBlueGreen,
  statusAt,
} from './associations.ts';
import type {
  DescribePackagesFilterName,
  DomainPackageDetailsWire,
  EngineType,
  ErrorDetails,
  PackageDetailsWire,
} from './model.ts';
import { PackageCatalogue, type PackageRecord } from './packages.ts';
import type { ParsedSeed, SeedDomain } from './seed.ts';
import { conflictError, notFoundError, validationError } from './wire.ts';

export type { AssociationRequest } from './associations.ts';

export interface StoreConfig {
  region: string;
  accountId: string;
  associationDelayMs: number;
  /** How long a plugin's blue/green deployment runs; `null`: as long as `associationDelayMs`. */
  pluginAssociationDelayMs: number | null;
  packageCopyMs: number;
  packageValidationMs: number;
  conflictOnConcurrentOperations: boolean;
  maxPackagesPerDomain: number;
}

export type StoreSettings = Partial<
  Pick<
    StoreConfig,
    | 'associationDelayMs'
    | 'pluginAssociationDelayMs'
    | 'packageCopyMs'
    | 'packageValidationMs'
    | 'conflictOnConcurrentOperations'
  >
>;

export interface DescribePackagesFilter {
  name: DescribePackagesFilterName;
  values: string[];
}

export interface AssociationSnapshot {
  DomainName: string;
  PackageID: string;
  DomainPackageStatus: DomainPackageStatus;
  PackageVersion?: string;
}

/** Failures injected through the admin routes, per domain and package. */
export interface InjectedFailures {
  association?: ErrorDetails | undefined;
  dissociation?: ErrorDetails | undefined;
}

/** AWS's answer to a change asked for while the domain applies another one (UpdateDomainConfig's wording). */
const CHANGE_IN_PROGRESS =
  'A change/update is in progress. Please wait for it to complete before requesting another change.';

const pairKey = (domainName: string, packageId: string): string => `${domainName}/${packageId}`;

/** Domains, packages and associations of one emulated account and region. */
export class PackageStore {
  readonly #seed: ParsedSeed;
  readonly #config: StoreConfig;
  readonly #now: () => number;
  readonly #catalogue: PackageCatalogue;
  #domains = new Map<string, SeedDomain>();
  #associations = new Map<string, Map<string, AssociationRecord>>();
  /** Until when (epoch ms) a domain processes a change that the admin route started. */
  #processingUntil = new Map<string, number>();
  #injected = new Map<string, InjectedFailures>();

  constructor(seed: ParsedSeed, config: StoreConfig, now: () => number) {
    this.#seed = seed;
    this.#config = config;
    this.#now = now;
    this.#catalogue = new PackageCatalogue(seed.packages, config, now);
    this.reset();
  }

  get config(): Readonly<StoreConfig> {
    return this.#config;
  }

  get packages(): PackageCatalogue {
    return this.#catalogue;
  }

  get pluginAssociationDelayMs(): number {
    return this.#config.pluginAssociationDelayMs ?? this.#config.associationDelayMs;
  }

  configure(settings: StoreSettings): void {
    for (const [name, value] of Object.entries(settings) as [keyof StoreSettings, never][]) {
      if (value !== undefined) this.#config[name] = value;
    }
  }

  reset(): void {
    const now = this.#now();
    this.#catalogue.reset(this.#seed.packages);
    this.#domains = new Map(this.#seed.domains.map((domain) => [domain.DomainName, domain]));
    this.#associations = new Map(this.#seed.domains.map((domain) => [domain.DomainName, new Map()]));
    this.#processingUntil = new Map();
    this.#injected = new Map(
      this.#seed.failures.map((failure) => [
        pairKey(failure.DomainName, failure.PackageID),
        { association: failure.failAssociation, dissociation: failure.failDissociation },
      ]),
    );
    for (const { DomainName, PackageID, PackageVersion } of this.#seed.associations) {
      const pkg = this.#catalogue.require(PackageID);
      this.#recordsOf(DomainName, now).set(PackageID, {
        domainName: DomainName,
        pkg,
        packageVersion: PackageVersion ?? pkg.versions.at(-1)?.PackageVersion,
        operation: 'associate',
        startedAt: now,
        settlesAt: now,
      });
    }
  }

  domainArn(domainName: string): string {
    return `arn:aws:es:${this.#config.region}:${this.#config.accountId}:domain/${domainName}`;
  }

  /**
   * Starts associating packages with a domain, all or none. Checks run in the order the errors are most
   * specific: unknown resources, unusable packages, already-done, in-progress, domain busy, prerequisites, quota.
   * A package ACTIVE at an older version is associated again, at the package's available version.
   */
  associate(domainName: string, requests: readonly AssociationRequest[]): DomainPackageDetailsWire[] {
    const now = this.#now();
    const domain = this.#requireDomain(domainName);
    const packages = requests.map((request) => this.#requireAssociablePackage(request.packageId, domain));
    for (const request of requests) {
      for (const prerequisiteId of request.prerequisitePackageIds ?? [])
        this.#catalogue.require(prerequisiteId);
    }
    const records = this.#recordsOf(domainName, now);
    requests.forEach(({ packageId }, index) => {
      const existing = records.get(packageId);
      const status = existing === undefined ? undefined : statusAt(existing, now);
      const version = (packages[index] as PackageRecord).versions.at(-1)?.PackageVersion;
      if (status === 'ACTIVE' && existing?.packageVersion === version) {
        throw conflictError('Package is already in desired state');
      }
      this.#rejectInProgress(packageId, domainName, status);
    });
    this.#rejectWhileDomainBusy(domainName, records, now);
    checkPrerequisites(domainName, requests, records, now);
    checkQuota(domainName, requests, records, now, this.#config.maxPackagesPerDomain);

    const settlesAt = now + this.#delayFor(packages);
    return requests.map((request, index) => {
      const pkg = packages[index] as PackageRecord;
      const failure =
        pkg.failOnAssociate ?? this.#injected.get(pairKey(domainName, pkg.PackageID))?.association;
      const record: AssociationRecord = {
        domainName,
        pkg,
        packageVersion: pkg.versions.at(-1)?.PackageVersion,
        operation: 'associate',
        startedAt: now,
        settlesAt,
        ...(request.prerequisitePackageIds && { prerequisitePackageIds: request.prerequisitePackageIds }),
        ...(request.associationConfiguration && {
          associationConfiguration: request.associationConfiguration,
        }),
        ...(failure && { failure }),
      };
      // A failed or older association is replaced, and moves to the end as the newest one.
      records.delete(request.packageId);
      records.set(request.packageId, record);
      // AWS answers ASSOCIATING even when the change will be quick; the status moves on later.
      return associationDetails(record, now, 'ASSOCIATING');
    });
  }

  /** Starts dissociating packages from a domain, all or none. */
  dissociate(domainName: string, packageIds: readonly string[]): DomainPackageDetailsWire[] {
    const now = this.#now();
    this.#requireDomain(domainName);
    const packages = packageIds.map((packageId) => this.#catalogue.require(packageId));
    const records = this.#recordsOf(domainName, now);
    const existing = packageIds.map((packageId) => {
      const record = records.get(packageId);
      if (record === undefined) throw validationError('Package is not associated to this domain');
      this.#rejectInProgress(packageId, domainName, statusAt(record, now));
      return record;
    });
    this.#rejectWhileDomainBusy(domainName, records, now);
    const dependant = [...records.values()].find(
      (record) =>
        !packageIds.includes(record.pkg.PackageID) &&
        record.prerequisitePackageIds?.some((id) => packageIds.includes(id)) &&
        statusAt(record, now) !== undefined,
    );
    if (dependant !== undefined) {
      const prerequisite = dependant.prerequisitePackageIds?.find((id) => packageIds.includes(id));
      throw validationError(
        `Package ${prerequisite} is a prerequisite of package ${dependant.pkg.PackageID} on domain ${domainName}; dissociate that package first`,
      );
    }
    const settlesAt = now + this.#delayFor(packages);
    return existing.map((previous) => {
      const failure = this.#injected.get(pairKey(domainName, previous.pkg.PackageID))?.dissociation;
      const record: AssociationRecord = {
        domainName,
        pkg: previous.pkg,
        packageVersion: previous.packageVersion,
        operation: 'dissociate',
        startedAt: now,
        settlesAt,
        ...(previous.prerequisitePackageIds && { prerequisitePackageIds: previous.prerequisitePackageIds }),
        ...(previous.associationConfiguration && {
          associationConfiguration: previous.associationConfiguration,
        }),
        ...(failure && { failure }),
      };
      records.set(previous.pkg.PackageID, record);
      return associationDetails(record, now, 'DISSOCIATING');
    });
  }

  packagesForDomain(domainName: string): DomainPackageDetailsWire[] {
    const now = this.#now();
    this.#requireDomain(domainName);
    return [...this.#recordsOf(domainName, now).values()].map((record) => associationDetails(record, now));
  }

  domainsForPackage(packageId: string): DomainPackageDetailsWire[] {
    const now = this.#now();
    this.#catalogue.require(packageId);
    return [...this.#domains.keys()].flatMap((domainName) => {
      const record = this.#recordsOf(domainName, now).get(packageId);
      return record === undefined ? [] : [associationDetails(record, now)];
    });
  }

  describePackages(filters: readonly DescribePackagesFilter[]): PackageDetailsWire[] {
    return this.#catalogue
      .all()
      .map((pkg) => this.#catalogue.details(pkg))
      .filter((details) =>
        filters.every((filter) => {
          const value = details[filter.name];
          return value !== undefined && filter.values.includes(value);
        }),
      );
  }

  domainNames(engineType?: EngineType): { DomainName: string; EngineType: EngineType }[] {
    return [...this.#domains.values()]
      .filter((domain) => engineType === undefined || domain.EngineType === engineType)
      .map((domain) => ({ DomainName: domain.DomainName, EngineType: domain.EngineType }));
  }

  describeDomain(domainName: string): Record<string, unknown> {
    const now = this.#now();
    const domain = this.#requireDomain(domainName);
    const busy =
      this.#processingByAdmin(domainName, now) ||
      [...this.#recordsOf(domainName, now).values()].some((record) => inProgress(record, now));
    const endpointHash = createHash('sha256').update(this.domainArn(domainName)).digest('hex').slice(0, 26);
    return {
      DomainId: `${this.#config.accountId}/${domainName}`,
      DomainName: domainName,
      ARN: this.domainArn(domainName),
      Created: true,
      Deleted: false,
      Endpoint: `search-${domainName}-${endpointHash}.${this.#config.region}.es.amazonaws.com`,
      EngineVersion: domain.EngineVersion,
      Processing: busy,
      UpgradeProcessing: false,
      DomainProcessingStatus: busy ? 'Modifying' : 'Active',
      ClusterConfig: {
        InstanceType: domain.InstanceType,
        InstanceCount: domain.InstanceCount,
        DedicatedMasterEnabled: false,
        ZoneAwarenessEnabled: false,
      },
    };
  }

  /** Holds the domain in processing, as a configuration change would, for `ms` from now (0 ends it). */
  setProcessing(domainName: string, ms: number): void {
    this.#requireDomain(domainName);
    if (ms === 0) this.#processingUntil.delete(domainName);
    else this.#processingUntil.set(domainName, this.#now() + ms);
  }

  /** Makes the next associations or dissociations of a package on a domain fail; `undefined` clears one. */
  injectFailures(domainName: string, packageId: string, failures: InjectedFailures): void {
    this.#requireDomain(domainName);
    this.#catalogue.require(packageId);
    const key = pairKey(domainName, packageId);
    const merged = { ...this.#injected.get(key), ...failures };
    if (merged.association === undefined && merged.dissociation === undefined) this.#injected.delete(key);
    else this.#injected.set(key, merged);
  }

  injectedFailures(): {
    DomainName: string;
    PackageID: string;
    failAssociation: boolean;
    failDissociation: boolean;
  }[] {
    return [...this.#injected.entries()].map(([key, failures]) => {
      const [DomainName = '', PackageID = ''] = key.split('/');
      return {
        DomainName,
        PackageID,
        failAssociation: failures.association !== undefined,
        failDissociation: failures.dissociation !== undefined,
      };
    });
  }

  processingDomains(): { DomainName: string; processingUntil: string }[] {
    const now = this.#now();
    return [...this.#processingUntil.entries()]
      .filter(([, until]) => until > now)
      .map(([DomainName, until]) => ({ DomainName, processingUntil: new Date(until).toISOString() }));
  }

  statusOf(domainName: string, packageId: string): DomainPackageStatus | undefined {
    const now = this.#now();
    if (!this.#domains.has(domainName)) return undefined;
    const record = this.#recordsOf(domainName, now).get(packageId);
    return record === undefined ? undefined : statusAt(record, now);
  }

  snapshot(): { domains: string[]; packages: PackageDetailsWire[]; associations: AssociationSnapshot[] } {
    const now = this.#now();
    return {
      domains: [...this.#domains.keys()],
      packages: this.describePackages([]),
      associations: [...this.#domains.keys()].flatMap((domainName) =>
        [...this.#recordsOf(domainName, now).values()].map((record) => ({
          DomainName: domainName,
          PackageID: record.pkg.PackageID,
          DomainPackageStatus: statusAt(record, now) ?? 'DISSOCIATING',
          ...(record.packageVersion !== undefined && { PackageVersion: record.packageVersion }),
        })),
      ),
    };
  }

  #delayFor(packages: readonly PackageRecord[]): number {
    return packages.some(isBlueGreen) ? this.pluginAssociationDelayMs : this.#config.associationDelayMs;
  }

  #rejectInProgress(packageId: string, domainName: string, status: DomainPackageStatus | undefined): void {
    if (status !== undefined && IN_PROGRESS.has(status)) {
      throw conflictError(
        `A package operation is already in progress for package ${packageId} on domain ${domainName} (${status})`,
      );
    }
  }

  /**
   * A domain in a blue/green deployment (a plugin's, or a change the admin route started) refuses package
   * changes with ValidationException, as it refuses configuration changes; while a quick package operation runs,
   * another one is a ConflictException. With `conflictOnConcurrentOperations` off only the admin route's
   * processing refuses, so a test can run operations side by side.
   */
  #rejectWhileDomainBusy(domainName: string, records: Map<string, AssociationRecord>, now: number): void {
    if (this.#processingByAdmin(domainName, now)) throw validationError(CHANGE_IN_PROGRESS);
    if (!this.#config.conflictOnConcurrentOperations) return;
    const running = [...records.values()].filter((record) => inProgress(record, now));
    if (running.some((record) => isBlueGreen(record.pkg))) throw validationError(CHANGE_IN_PROGRESS);
    if (running.length > 0)
      throw conflictError(`Another package operation is in progress on domain ${domainName}`);
  }

  #processingByAdmin(domainName: string, now: number): boolean {
    return (this.#processingUntil.get(domainName) ?? 0) > now;
  }

  /** The domain's associations, without those whose dissociation has settled. */
  #recordsOf(domainName: string, now: number): Map<string, AssociationRecord> {
    let records = this.#associations.get(domainName);
    if (records === undefined) {
      records = new Map();
      this.#associations.set(domainName, records);
    }
    for (const [packageId, record] of records) {
      if (statusAt(record, now) === undefined) records.delete(packageId);
    }
    return records;
  }

  #requireDomain(domainName: string): SeedDomain {
    const domain = this.#domains.get(domainName);
    if (domain === undefined) throw notFoundError(`Domain not found: ${domainName}`);
    return domain;
  }

  #requireAssociablePackage(packageId: string, domain: SeedDomain): PackageRecord {
    const pkg = this.#catalogue.require(packageId);
    if (pkg.status !== 'AVAILABLE') {
      throw validationError(
        `Package ${packageId} is in status ${pkg.status}; only AVAILABLE packages can be associated`,
      );
    }
    // Plugins are built for one engine version; dictionaries carry none and fit every domain.
    if (pkg.EngineVersion !== undefined && pkg.EngineVersion !== domain.EngineVersion) {
      throw validationError(
        `Package ${packageId} is built for ${pkg.EngineVersion} but domain ${domain.DomainName} runs ${domain.EngineVersion}`,
      );
    }
    return pkg;
  }
}
