import { createHash } from 'node:crypto';
import type { PackageStatus, PackageType } from '@aws-sdk/client-opensearch';
import type {
  ErrorDetails,
  PackageConfiguration,
  PackageDetailsWire,
  PackageEncryptionOptions,
  PackageVendingOptions,
  PackageVersionHistoryWire,
  PluginPropertiesWire,
} from './model.ts';
import { type SeedPackage, seedVersionHistory } from './seed.ts';
import { EmulatorApiError, notFoundError, validationError } from './wire.ts';

export interface CatalogueConfig {
  accountId: string;
  /** How long a new upload stays `COPYING`. */
  packageCopyMs: number;
  /** How long it then stays `VALIDATING`. */
  packageValidationMs: number;
}

export interface PackageSource {
  S3BucketName: string;
  S3Key: string;
}

export interface CreatePackageRequest {
  PackageName: string;
  PackageType: PackageType;
  PackageSource: PackageSource;
  PackageDescription?: string;
  EngineVersion?: string;
  PackageConfiguration?: PackageConfiguration;
  PackageVendingOptions?: PackageVendingOptions;
  PackageEncryptionOptions?: PackageEncryptionOptions;
}

export interface UpdatePackageRequest {
  PackageID: string;
  PackageSource: PackageSource;
  PackageDescription?: string;
  CommitMessage?: string;
  PackageConfiguration?: PackageConfiguration;
  PackageEncryptionOptions?: PackageEncryptionOptions;
}

interface VersionRecord {
  PackageVersion: string;
  CommitMessage?: string;
  createdAt: number;
  PluginProperties?: PluginPropertiesWire;
  PackageConfiguration?: PackageConfiguration;
}

/** A CreatePackage or UpdatePackage in flight: `COPYING` until `copiedAt`, `VALIDATING` until `validatedAt`. */
interface Upload {
  startedAt: number;
  copiedAt: number;
  validatedAt: number;
  commitMessage?: string;
  configuration?: PackageConfiguration;
  /** Decided when the upload starts; `undefined` ends it `AVAILABLE` at the next version. */
  failure?: { status: 'COPY_FAILED' | 'VALIDATION_FAILED'; details: ErrorDetails };
}

/** One package. Its status moves with the clock: read it through `PackageCatalogue`, which settles uploads. */
export interface PackageRecord {
  PackageID: string;
  PackageName: string;
  PackageType: PackageType;
  PackageDescription?: string;
  EngineVersion?: string;
  PackageOwner?: string;
  createdAt: number;
  lastUpdatedAt: number;
  status: PackageStatus;
  errorDetails?: ErrorDetails;
  /** Completed versions, oldest first. */
  versions: VersionRecord[];
  pluginProperties?: PluginPropertiesWire;
  configuration?: PackageConfiguration;
  vending?: PackageVendingOptions;
  encryption?: PackageEncryptionOptions;
  upload?: Upload;
  failOnAssociate?: ErrorDetails;
}

/** The S3 keys that make an upload fail, so a producer can try its error paths without the admin route. */
const COPY_FAILURE_MARKER = 'missing';
const VALIDATION_FAILURE_MARKER = 'invalid';

const UPDATABLE: ReadonlySet<PackageStatus> = new Set(['AVAILABLE', 'COPY_FAILED', 'VALIDATION_FAILED']);

function fromSeed(pkg: SeedPackage): PackageRecord {
  const createdAt = Date.parse(pkg.CreatedAt);
  const history = seedVersionHistory(pkg);
  return {
    PackageID: pkg.PackageID,
    PackageName: pkg.PackageName,
    PackageType: pkg.PackageType,
    ...(pkg.PackageDescription !== undefined && { PackageDescription: pkg.PackageDescription }),
    ...(pkg.EngineVersion !== undefined && { EngineVersion: pkg.EngineVersion }),
    ...(pkg.PackageOwner !== undefined && { PackageOwner: pkg.PackageOwner }),
    createdAt,
    lastUpdatedAt: pkg.LastUpdatedAt === undefined ? createdAt : Date.parse(pkg.LastUpdatedAt),
    status: pkg.PackageStatus,
    ...(pkg.ErrorDetails && { errorDetails: pkg.ErrorDetails }),
    versions: history.map((version, index) => ({
      PackageVersion: version.PackageVersion,
      ...(version.CommitMessage !== undefined && { CommitMessage: version.CommitMessage }),
      createdAt: Date.parse(version.CreatedAt),
      ...(index === history.length - 1 &&
        pkg.AvailablePluginProperties && { PluginProperties: pkg.AvailablePluginProperties }),
      ...(index === history.length - 1 &&
        pkg.AvailablePackageConfiguration && { PackageConfiguration: pkg.AvailablePackageConfiguration }),
    })),
    ...(pkg.AvailablePluginProperties && { pluginProperties: pkg.AvailablePluginProperties }),
    ...(pkg.AvailablePackageConfiguration && { configuration: pkg.AvailablePackageConfiguration }),
    ...(pkg.failOnAssociate && { failOnAssociate: pkg.failOnAssociate }),
  };
}

const toEpochSeconds = (ms: number): number => ms / 1000;

/** The account's packages: created, updated through COPYING and VALIDATING, and their version histories. */
export class PackageCatalogue {
  readonly #config: CatalogueConfig;
  readonly #now: () => number;
  #packages = new Map<string, PackageRecord>();
  /** Packages whose uploads fail validation while they are set (the admin route), with the details. */
  #failingValidation = new Map<string, ErrorDetails>();
  #created = 0;

  constructor(seed: readonly SeedPackage[], config: CatalogueConfig, now: () => number) {
    this.#config = config;
    this.#now = now;
    this.reset(seed);
  }

  reset(seed: readonly SeedPackage[]): void {
    this.#packages = new Map(seed.map((pkg) => [pkg.PackageID, fromSeed(pkg)]));
    this.#failingValidation = new Map();
    this.#created = 0;
  }

  /** The package after settling its upload; throws ResourceNotFoundException for an unknown id. */
  require(packageId: string): PackageRecord {
    const pkg = this.#packages.get(packageId);
    if (pkg === undefined) throw notFoundError(`Package not found: ${packageId}`);
    this.#settle(pkg, this.#now());
    return pkg;
  }

  has(packageId: string): boolean {
    return this.#packages.has(packageId);
  }

  all(): PackageRecord[] {
    const now = this.#now();
    for (const pkg of this.#packages.values()) this.#settle(pkg, now);
    return [...this.#packages.values()];
  }

  create(request: CreatePackageRequest): PackageDetailsWire {
    const now = this.#now();
    const taken = [...this.#packages.values()].some((pkg) => pkg.PackageName === request.PackageName);
    if (taken) {
      throw new EmulatorApiError(
        'ResourceAlreadyExistsException',
        `A package named ${request.PackageName} already exists`,
      );
    }
    const pkg: PackageRecord = {
      PackageID: this.#newPackageId(request),
      PackageName: request.PackageName,
      PackageType: request.PackageType,
      ...(request.PackageDescription !== undefined && { PackageDescription: request.PackageDescription }),
      ...(request.EngineVersion !== undefined && { EngineVersion: request.EngineVersion }),
      createdAt: now,
      lastUpdatedAt: now,
      status: 'COPYING',
      versions: [],
      ...(request.PackageVendingOptions && { vending: request.PackageVendingOptions }),
      ...(request.PackageEncryptionOptions && { encryption: request.PackageEncryptionOptions }),
    };
    this.#packages.set(pkg.PackageID, pkg);
    this.#startUpload(pkg, request.PackageSource, now, {
      ...(request.PackageConfiguration && { configuration: request.PackageConfiguration }),
    });
    return this.details(pkg);
  }

  update(request: UpdatePackageRequest): PackageDetailsWire {
    const now = this.#now();
    const pkg = this.require(request.PackageID);
    if (pkg.upload !== undefined) {
      throw validationError(
        `Package ${pkg.PackageID} is being updated (${pkg.status}); wait until the update ends before updating it again`,
      );
    }
    if (!UPDATABLE.has(pkg.status)) {
      throw validationError(`Package ${pkg.PackageID} is in status ${pkg.status} and cannot be updated`);
    }
    if (request.PackageDescription !== undefined) pkg.PackageDescription = request.PackageDescription;
    if (request.PackageEncryptionOptions) pkg.encryption = request.PackageEncryptionOptions;
    this.#startUpload(pkg, request.PackageSource, now, {
      ...(request.CommitMessage !== undefined && { commitMessage: request.CommitMessage }),
      ...(request.PackageConfiguration && { configuration: request.PackageConfiguration }),
    });
    return this.details(pkg);
  }

  /** Completed versions, newest first. */
  history(packageId: string): PackageVersionHistoryWire[] {
    return this.require(packageId)
      .versions.map((version) => ({
        PackageVersion: version.PackageVersion,
        ...(version.CommitMessage !== undefined && { CommitMessage: version.CommitMessage }),
        CreatedAt: toEpochSeconds(version.createdAt),
        ...(version.PluginProperties && { PluginProperties: version.PluginProperties }),
        ...(version.PackageConfiguration && { PackageConfiguration: version.PackageConfiguration }),
      }))
      .reverse();
  }

  /** Makes the package's uploads fail validation (`details`), or pass again (`undefined`). */
  setValidationFailure(packageId: string, details: ErrorDetails | undefined): void {
    this.require(packageId);
    if (details === undefined) this.#failingValidation.delete(packageId);
    else this.#failingValidation.set(packageId, details);
  }

  failingValidation(): string[] {
    return [...this.#failingValidation.keys()];
  }

  details(pkg: PackageRecord): PackageDetailsWire {
    const available = pkg.versions.at(-1)?.PackageVersion;
    return {
      PackageID: pkg.PackageID,
      PackageName: pkg.PackageName,
      PackageType: pkg.PackageType,
      ...(pkg.PackageDescription !== undefined && { PackageDescription: pkg.PackageDescription }),
      PackageStatus: pkg.status,
      CreatedAt: toEpochSeconds(pkg.createdAt),
      LastUpdatedAt: toEpochSeconds(pkg.lastUpdatedAt),
      ...(available !== undefined && { AvailablePackageVersion: available }),
      ...(pkg.errorDetails && { ErrorDetails: pkg.errorDetails }),
      ...(pkg.EngineVersion && { EngineVersion: pkg.EngineVersion }),
      ...(pkg.pluginProperties && { AvailablePluginProperties: pkg.pluginProperties }),
      ...(pkg.configuration && { AvailablePackageConfiguration: pkg.configuration }),
      PackageOwner: pkg.PackageOwner ?? this.#config.accountId,
      ...(pkg.vending && { PackageVendingOptions: pkg.vending }),
      ...(pkg.encryption && { PackageEncryptionOptions: pkg.encryption }),
    };
  }

  #startUpload(
    pkg: PackageRecord,
    source: PackageSource,
    now: number,
    extra: Pick<Upload, 'commitMessage' | 'configuration'>,
  ): void {
    const copiedAt = now + this.#config.packageCopyMs;
    const failure = this.#uploadFailure(pkg.PackageID, source);
    pkg.upload = {
      startedAt: now,
      copiedAt,
      validatedAt: copiedAt + this.#config.packageValidationMs,
      ...extra,
      ...(failure && { failure }),
    };
    pkg.status = 'COPYING';
    pkg.lastUpdatedAt = now;
    delete pkg.errorDetails;
  }

  #uploadFailure(packageId: string, source: PackageSource): Upload['failure'] {
    const location = `s3://${source.S3BucketName}/${source.S3Key}`;
    if (source.S3Key.includes(COPY_FAILURE_MARKER)) {
      return {
        status: 'COPY_FAILED',
        details: { ErrorType: 'CopyFailed', ErrorMessage: `The package file ${location} could not be read` },
      };
    }
    const injected = this.#failingValidation.get(packageId);
    if (injected !== undefined) return { status: 'VALIDATION_FAILED', details: injected };
    if (source.S3Key.includes(VALIDATION_FAILURE_MARKER)) {
      return {
        status: 'VALIDATION_FAILED',
        details: {
          ErrorType: 'ValidationFailed',
          ErrorMessage: `The package file ${location} failed validation`,
        },
      };
    }
    return undefined;
  }

  /** Ends an upload whose time has come: a new version `AVAILABLE`, or the failure with the version kept. */
  #settle(pkg: PackageRecord, now: number): void {
    const upload = pkg.upload;
    if (upload === undefined) return;
    const endsAt = upload.failure?.status === 'COPY_FAILED' ? upload.copiedAt : upload.validatedAt;
    if (now < endsAt) {
      pkg.status = now < upload.copiedAt ? 'COPYING' : 'VALIDATING';
      return;
    }
    delete pkg.upload;
    pkg.lastUpdatedAt = endsAt;
    if (upload.failure !== undefined) {
      pkg.status = upload.failure.status;
      pkg.errorDetails = upload.failure.details;
      return;
    }
    const versionNumber = pkg.versions.length + 1;
    if (upload.configuration) pkg.configuration = upload.configuration;
    if (pkg.PackageType === 'ZIP-PLUGIN') {
      // The properties come from the plugin's descriptor in the zip; a new upload is a new build of it.
      pkg.pluginProperties = {
        Name: pkg.PackageName,
        ...pkg.pluginProperties,
        Version: `${versionNumber}.0.0`,
      };
    }
    pkg.versions.push({
      PackageVersion: `v${versionNumber}`,
      ...(upload.commitMessage !== undefined && { CommitMessage: upload.commitMessage }),
      createdAt: upload.startedAt,
      ...(pkg.pluginProperties && { PluginProperties: pkg.pluginProperties }),
      ...(pkg.configuration && { PackageConfiguration: pkg.configuration }),
    });
    pkg.status = 'AVAILABLE';
  }

  /** Repeatable ids in AWS's two forms: `F` and nine digits for dictionaries, `pkg-` and hex for the others. */
  #newPackageId(request: CreatePackageRequest): string {
    for (;;) {
      this.#created += 1;
      const hash = createHash('sha256').update(`${request.PackageName}/${this.#created}`).digest('hex');
      const id =
        request.PackageType === 'TXT-DICTIONARY'
          ? `F${String(Number.parseInt(hash.slice(0, 8), 16) % 1_000_000_000).padStart(9, '0')}`
          : `pkg-${hash.slice(0, 10)}`;
      if (!this.#packages.has(id)) return id;
    }
  }
}
