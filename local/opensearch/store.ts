import { createHash } from 'node:crypto';
import type { DomainPackageStatus } from '@aws-sdk/client-opensearch';
import type {
  DescribePackagesFilterName,
  DomainPackageDetailsWire,
  EngineType,
  ErrorDetails,
  PackageAssociationConfiguration,
  PackageDetailsWire,
} from './model.ts';
import type { ParsedSeed, SeedDomain, SeedPackage } from './seed.ts';
import { conflictError, EmulatorApiError, notFoundError, validationError } from './wire.ts';

export interface StoreConfig {
  region: string;
  accountId: string;
  associationDelayMs: number;
  conflictOnConcurrentOperations: boolean;
  maxPackagesPerDomain: number;
}

export interface AssociationRequest {
  packageId: string;
  prerequisitePackageIds?: string[];
  associationConfiguration?: PackageAssociationConfiguration;
}

export interface DescribePackagesFilter {
  name: DescribePackagesFilterName;
  values: string[];
}

/**
 * One package on one domain. Its status is not stored but derived from the clock, so a pending
 * association needs no timer: it reads ASSOCIATING until `settlesAt`, then its outcome.
 */
interface AssociationRecord {
  domainName: string;
  pkg: SeedPackage;
  operation: 'associate' | 'dissociate';
  startedAt: number;
  settlesAt: number;
  prerequisitePackageIds?: string[];
  associationConfiguration?: PackageAssociationConfiguration;
  failure?: ErrorDetails;
}

export interface AssociationSnapshot {
  DomainName: string;
  PackageID: string;
  DomainPackageStatus: DomainPackageStatus;
}

const IN_PROGRESS: ReadonlySet<DomainPackageStatus> = new Set(['ASSOCIATING', 'DISSOCIATING']);

/** `undefined` once a dissociation has settled: the package is no longer on the domain. */
function statusAt(record: AssociationRecord, now: number): DomainPackageStatus | undefined {
  if (now < record.settlesAt) return record.operation === 'associate' ? 'ASSOCIATING' : 'DISSOCIATING';
  if (record.operation === 'dissociate') return undefined;
  return record.failure === undefined ? 'ACTIVE' : 'ASSOCIATION_FAILED';
}

const toEpochSeconds = (ms: number): number => ms / 1000;

/** Domains, packages and associations of one emulated account and region. */
export class PackageStore {
  readonly #seed: ParsedSeed;
  readonly #config: StoreConfig;
  readonly #now: () => number;
  #domains = new Map<string, SeedDomain>();
  #packages = new Map<string, SeedPackage>();
  #associations = new Map<string, Map<string, AssociationRecord>>();

  constructor(seed: ParsedSeed, config: StoreConfig, now: () => number) {
    this.#seed = seed;
    this.#config = config;
    this.#now = now;
    this.reset();
  }

  get config(): Readonly<StoreConfig> {
    return this.#config;
  }

  configure(
    settings: Partial<Pick<StoreConfig, 'associationDelayMs' | 'conflictOnConcurrentOperations'>>,
  ): void {
    if (settings.associationDelayMs !== undefined)
      this.#config.associationDelayMs = settings.associationDelayMs;
    if (settings.conflictOnConcurrentOperations !== undefined) {
      this.#config.conflictOnConcurrentOperations = settings.conflictOnConcurrentOperations;
    }
  }

  reset(): void {
    const now = this.#now();
    this.#domains = new Map(this.#seed.domains.map((domain) => [domain.DomainName, domain]));
    this.#packages = new Map(this.#seed.packages.map((pkg) => [pkg.PackageID, pkg]));
    this.#associations = new Map(this.#seed.domains.map((domain) => [domain.DomainName, new Map()]));
    for (const { DomainName, PackageID } of this.#seed.associations) {
      const pkg = this.#requirePackage(PackageID);
      this.#recordsOf(DomainName, now).set(PackageID, {
        domainName: DomainName,
        pkg,
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
   * Starts associating packages with a domain, all or none. Checks run in the order the errors are
   * most specific: unknown resources, unusable packages, already-done, in-progress, prerequisites, quota.
   */
  associate(domainName: string, requests: readonly AssociationRequest[]): DomainPackageDetailsWire[] {
    const now = this.#now();
    const domain = this.#requireDomain(domainName);
    const packages = requests.map((request) => this.#requireAssociablePackage(request.packageId, domain));
    for (const request of requests) {
      for (const prerequisiteId of request.prerequisitePackageIds ?? []) this.#requirePackage(prerequisiteId);
    }
    const records = this.#recordsOf(domainName, now);

    for (const { packageId } of requests) {
      const existing = records.get(packageId);
      const status = existing === undefined ? undefined : statusAt(existing, now);
      if (status === 'ACTIVE') {
        throw conflictError(
          `Package ${packageId} is already associated with domain ${domainName}: already in desired state ACTIVE`,
        );
      }
      if (status !== undefined && IN_PROGRESS.has(status)) {
        throw conflictError(
          `A package operation is already in progress for package ${packageId} on domain ${domainName} (${status})`,
        );
      }
    }
    this.#rejectConcurrentOperation(domainName, records, now);

    const requestedIds = new Set(requests.map((request) => request.packageId));
    for (const request of requests) {
      for (const prerequisiteId of request.prerequisitePackageIds ?? []) {
        if (prerequisiteId === request.packageId) {
          throw validationError(`Package ${request.packageId} cannot be its own prerequisite`);
        }
        const prerequisite = records.get(prerequisiteId);
        const status = prerequisite === undefined ? undefined : statusAt(prerequisite, now);
        if (!requestedIds.has(prerequisiteId) && status !== 'ACTIVE' && status !== 'ASSOCIATING') {
          throw validationError(
            `Prerequisite package ${prerequisiteId} must be associated with domain ${domainName} before package ${request.packageId}`,
          );
        }
      }
    }

    const held = [...records.values()].filter((record) => {
      const status = statusAt(record, now);
      return status !== undefined && status !== 'ASSOCIATION_FAILED';
    }).length;
    if (held + requests.length > this.#config.maxPackagesPerDomain) {
      throw new EmulatorApiError(
        'LimitExceededException',
        `Domain ${domainName} has ${held} packages; at most ${this.#config.maxPackagesPerDomain} packages can be associated with a domain`,
      );
    }

    const settlesAt = now + this.#config.associationDelayMs;
    return requests.map((request, index) => {
      const pkg = packages[index] as SeedPackage;
      const record: AssociationRecord = {
        domainName,
        pkg,
        operation: 'associate',
        startedAt: now,
        settlesAt,
        ...(request.prerequisitePackageIds && { prerequisitePackageIds: request.prerequisitePackageIds }),
        ...(request.associationConfiguration && {
          associationConfiguration: request.associationConfiguration,
        }),
        ...(pkg.failOnAssociate && { failure: pkg.failOnAssociate }),
      };
      // A failed association is replaced, and moves to the end as the newest one.
      records.delete(request.packageId);
      records.set(request.packageId, record);
      // AWS answers ASSOCIATING even when the change will be quick; the status moves on later.
      return this.#details(record, now, 'ASSOCIATING');
    });
  }

  dissociate(domainName: string, packageId: string): DomainPackageDetailsWire {
    const now = this.#now();
    this.#requireDomain(domainName);
    this.#requirePackage(packageId);
    const records = this.#recordsOf(domainName, now);
    const existing = records.get(packageId);
    if (existing === undefined) {
      throw notFoundError(`Package ${packageId} is not associated with domain ${domainName}`);
    }
    const status = statusAt(existing, now);
    if (status !== undefined && IN_PROGRESS.has(status)) {
      throw conflictError(
        `A package operation is already in progress for package ${packageId} on domain ${domainName} (${status})`,
      );
    }
    this.#rejectConcurrentOperation(domainName, records, now);
    const dependant = [...records.values()].find(
      (record) => record.prerequisitePackageIds?.includes(packageId) && statusAt(record, now) !== undefined,
    );
    if (dependant !== undefined) {
      throw validationError(
        `Package ${packageId} is a prerequisite of package ${dependant.pkg.PackageID} on domain ${domainName}; dissociate that package first`,
      );
    }
    const record: AssociationRecord = {
      domainName,
      pkg: existing.pkg,
      operation: 'dissociate',
      startedAt: now,
      settlesAt: now + this.#config.associationDelayMs,
      ...(existing.prerequisitePackageIds && { prerequisitePackageIds: existing.prerequisitePackageIds }),
      ...(existing.associationConfiguration && {
        associationConfiguration: existing.associationConfiguration,
      }),
    };
    records.set(packageId, record);
    return this.#details(record, now, 'DISSOCIATING');
  }

  packagesForDomain(domainName: string): DomainPackageDetailsWire[] {
    const now = this.#now();
    this.#requireDomain(domainName);
    return [...this.#recordsOf(domainName, now).values()].map((record) => this.#details(record, now));
  }

  domainsForPackage(packageId: string): DomainPackageDetailsWire[] {
    const now = this.#now();
    this.#requirePackage(packageId);
    return [...this.#domains.keys()].flatMap((domainName) => {
      const record = this.#recordsOf(domainName, now).get(packageId);
      return record === undefined ? [] : [this.#details(record, now)];
    });
  }

  describePackages(filters: readonly DescribePackagesFilter[]): PackageDetailsWire[] {
    return [...this.#packages.values()]
      .map((pkg) => this.#packageDetails(pkg))
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
    const busy = [...this.#recordsOf(domainName, now).values()].some((record) =>
      IN_PROGRESS.has(statusAt(record, now) ?? 'ACTIVE'),
    );
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
        })),
      ),
    };
  }

  #rejectConcurrentOperation(domainName: string, records: Map<string, AssociationRecord>, now: number): void {
    if (!this.#config.conflictOnConcurrentOperations) return;
    const busy = [...records.values()].some((record) => IN_PROGRESS.has(statusAt(record, now) ?? 'ACTIVE'));
    if (busy) throw conflictError(`Another package operation is in progress on domain ${domainName}`);
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

  #requirePackage(packageId: string): SeedPackage {
    const pkg = this.#packages.get(packageId);
    if (pkg === undefined) throw notFoundError(`Package not found: ${packageId}`);
    return pkg;
  }

  #requireAssociablePackage(packageId: string, domain: SeedDomain): SeedPackage {
    const pkg = this.#requirePackage(packageId);
    if (pkg.PackageStatus !== 'AVAILABLE') {
      throw validationError(
        `Package ${packageId} is in status ${pkg.PackageStatus}; only AVAILABLE packages can be associated`,
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

  #details(
    record: AssociationRecord,
    now: number,
    reportedStatus?: DomainPackageStatus,
  ): DomainPackageDetailsWire {
    const status = reportedStatus ?? statusAt(record, now) ?? 'DISSOCIATING';
    const { pkg } = record;
    return {
      PackageID: pkg.PackageID,
      PackageName: pkg.PackageName,
      PackageType: pkg.PackageType,
      LastUpdated: toEpochSeconds(now < record.settlesAt ? record.startedAt : record.settlesAt),
      DomainName: record.domainName,
      DomainPackageStatus: status,
      ...(pkg.AvailablePackageVersion && { PackageVersion: pkg.AvailablePackageVersion }),
      ...(record.prerequisitePackageIds && { PrerequisitePackageIDList: record.prerequisitePackageIds }),
      ...(pkg.PackageType === 'TXT-DICTIONARY' && { ReferencePath: `analyzers/${pkg.PackageID}` }),
      ...(status === 'ASSOCIATION_FAILED' && record.failure && { ErrorDetails: record.failure }),
      ...(record.associationConfiguration && { AssociationConfiguration: record.associationConfiguration }),
    };
  }

  #packageDetails(pkg: SeedPackage): PackageDetailsWire {
    const createdAt = Date.parse(pkg.CreatedAt);
    return {
      PackageID: pkg.PackageID,
      PackageName: pkg.PackageName,
      PackageType: pkg.PackageType,
      ...(pkg.PackageDescription !== undefined && { PackageDescription: pkg.PackageDescription }),
      PackageStatus: pkg.PackageStatus,
      CreatedAt: toEpochSeconds(createdAt),
      LastUpdatedAt: toEpochSeconds(
        pkg.LastUpdatedAt === undefined ? createdAt : Date.parse(pkg.LastUpdatedAt),
      ),
      ...(pkg.AvailablePackageVersion && { AvailablePackageVersion: pkg.AvailablePackageVersion }),
      ...(pkg.ErrorDetails && { ErrorDetails: pkg.ErrorDetails }),
      ...(pkg.EngineVersion && { EngineVersion: pkg.EngineVersion }),
      ...(pkg.AvailablePluginProperties && { AvailablePluginProperties: pkg.AvailablePluginProperties }),
      PackageOwner: pkg.PackageOwner ?? this.#config.accountId,
    };
  }
}
