import type { DomainPackageStatus, PackageStatus, PackageType } from '@aws-sdk/client-opensearch';

/** The REST API version prefix every OpenSearch Service control-plane path starts with. */
export const API_VERSION_PREFIX = '/2021-01-01';

export const OPERATION_NAMES = [
  'CreatePackage',
  'UpdatePackage',
  'GetPackageVersionHistory',
  'AssociatePackage',
  'AssociatePackages',
  'DissociatePackage',
  'DissociatePackages',
  'ListPackagesForDomain',
  'ListDomainsForPackage',
  'DescribePackages',
  'ListDomainNames',
  'DescribeDomain',
] as const;

export type OperationName = (typeof OPERATION_NAMES)[number];

/** AWS rule for domain names (CreateDomain): 3–28 chars, lower-case letter first. */
export const DOMAIN_NAME_PATTERN = /^[a-z][a-z0-9-]{2,27}$/;

/** The API accepts both the legacy `F…`/`G…` ids and the newer `pkg-…` ids. */
export const PACKAGE_ID_PATTERN = /^([FG][0-9]+)$|^(pkg-[a-f0-9]+)$/;

export const DESCRIBE_PACKAGES_FILTER_NAMES = [
  'PackageID',
  'PackageName',
  'PackageStatus',
  'PackageType',
  'PackageOwner',
  'EngineVersion',
] as const;

export type DescribePackagesFilterName = (typeof DESCRIBE_PACKAGES_FILTER_NAMES)[number];

export const ENGINE_TYPES = ['OpenSearch', 'Elasticsearch'] as const;
export type EngineType = (typeof ENGINE_TYPES)[number];

export const PACKAGE_TYPES = [
  'TXT-DICTIONARY',
  'ZIP-PLUGIN',
  'PACKAGE-LICENSE',
  'PACKAGE-CONFIG',
] as const satisfies readonly PackageType[];

/**
 * Plugins, their licences and configurations are installed by a blue/green deployment of the domain, which takes
 * far longer than copying a dictionary to the nodes and holds the domain in processing meanwhile.
 */
export const BLUE_GREEN_PACKAGE_TYPES: ReadonlySet<PackageType> = new Set([
  'ZIP-PLUGIN',
  'PACKAGE-LICENSE',
  'PACKAGE-CONFIG',
]);

export const REQUIREMENT_LEVELS = ['REQUIRED', 'OPTIONAL', 'NONE'] as const;
export type RequirementLevel = (typeof REQUIREMENT_LEVELS)[number];

export const PACKAGE_STATUSES = [
  'AVAILABLE',
  'COPYING',
  'COPY_FAILED',
  'VALIDATING',
  'VALIDATION_FAILED',
  'DELETING',
  'DELETE_FAILED',
  'DELETED',
] as const satisfies readonly PackageStatus[];

/**
 * HTTP status of each modelled error, copied from the `httpError` traits in the SDK's schema
 * (`@aws-sdk/client-opensearch` dist-cjs). Note the model gives ResourceNotFoundException 409, not 404.
 * BaseException has no trait; a client fault without one is sent as 400.
 */
export const MODELLED_ERROR_STATUS: Readonly<Record<string, number>> = {
  AccessDeniedException: 403,
  BaseException: 400,
  ConflictException: 409,
  DependencyFailureException: 424,
  DisabledOperationException: 409,
  InternalException: 500,
  InvalidPaginationTokenException: 400,
  InvalidTypeException: 409,
  LimitExceededException: 409,
  ResourceAlreadyExistsException: 409,
  ResourceNotFoundException: 409,
  ServiceQuotaExceededException: 402,
  ThrottlingException: 429,
  ValidationException: 400,
};

export interface ErrorDetails {
  ErrorType: string;
  ErrorMessage: string;
}

export interface KeyStoreAccessOption {
  KeyStoreAccessEnabled: boolean;
  KeyAccessRoleArn?: string;
}

export interface PackageAssociationConfiguration {
  KeyStoreAccessOption?: KeyStoreAccessOption;
}

/** `DomainPackageDetails` as it travels on the wire: restJson1 timestamps are epoch seconds. */
export interface DomainPackageDetailsWire {
  PackageID: string;
  PackageName: string;
  PackageType: PackageType;
  LastUpdated: number;
  DomainName: string;
  DomainPackageStatus: DomainPackageStatus;
  PackageVersion?: string;
  PrerequisitePackageIDList?: string[];
  ReferencePath?: string;
  ErrorDetails?: ErrorDetails;
  AssociationConfiguration?: PackageAssociationConfiguration;
}

export interface PluginPropertiesWire {
  Name?: string;
  Description?: string;
  Version?: string;
  ClassName?: string;
  UncompressedSizeInBytes?: number;
}

export interface PackageConfiguration {
  LicenseRequirement: RequirementLevel;
  LicenseFilepath?: string;
  ConfigurationRequirement: RequirementLevel;
  RequiresRestartForConfigurationUpdate?: boolean;
}

export interface PackageVendingOptions {
  VendingEnabled: boolean;
}

export interface PackageEncryptionOptions {
  EncryptionEnabled: boolean;
  KmsKeyIdentifier?: string;
}

export interface PackageDetailsWire {
  PackageID: string;
  PackageName: string;
  PackageType: PackageType;
  PackageDescription?: string;
  PackageStatus: PackageStatus;
  CreatedAt: number;
  LastUpdatedAt: number;
  AvailablePackageVersion?: string;
  ErrorDetails?: ErrorDetails;
  EngineVersion?: string;
  AvailablePluginProperties?: PluginPropertiesWire;
  AvailablePackageConfiguration?: PackageConfiguration;
  PackageOwner: string;
  PackageVendingOptions?: PackageVendingOptions;
  PackageEncryptionOptions?: PackageEncryptionOptions;
}

/** One completed version of a package, as `GetPackageVersionHistory` lists it. */
export interface PackageVersionHistoryWire {
  PackageVersion: string;
  CommitMessage?: string;
  CreatedAt: number;
  PluginProperties?: PluginPropertiesWire;
  PackageConfiguration?: PackageConfiguration;
}

/**
 * A rule that makes a share of an operation's calls fail. Optionally scoped to one domain and/or one package:
 * then only calls naming them match (see `OPERATIONS_WITH_DOMAIN` and `OPERATIONS_WITH_PACKAGE`).
 */
export interface FaultRule {
  /** The operation the rule applies to, or `*` for all of them. */
  operation: OperationName | '*';
  /**
   * The AWS error name sent in `x-amzn-errortype` (e.g. `ThrottlingException`); `ConnectionReset` to drop the
   * connection without an answer before the call runs, as a network failure would; or `LostAnswer` to run the
   * call (it takes effect) and then drop the connection before the answer is written.
   */
  errorType: string;
  /** Share of matching calls that fail, 0 to 1. */
  rate: number;
  /** Only calls on this domain match. */
  domainName?: string;
  /** Only calls on this package match (for AssociatePackages and DissociatePackages: a list holding it). */
  packageId?: string;
  /** Overrides the status code; by default the one the AWS model gives the error (500 if unmodelled). */
  status?: number;
  message?: string;
}

/** Operations whose request names one domain, so a rule with `domainName` can match them. */
export const OPERATIONS_WITH_DOMAIN: ReadonlySet<OperationName> = new Set([
  'AssociatePackage',
  'AssociatePackages',
  'DissociatePackage',
  'DissociatePackages',
  'ListPackagesForDomain',
  'DescribeDomain',
]);

/** Operations whose request names packages, so a rule with `packageId` can match them. */
export const OPERATIONS_WITH_PACKAGE: ReadonlySet<OperationName> = new Set([
  'UpdatePackage',
  'GetPackageVersionHistory',
  'AssociatePackage',
  'AssociatePackages',
  'DissociatePackage',
  'DissociatePackages',
  'ListDomainsForPackage',
  'DescribePackages',
]);

/** Fixed added latency in ms: one number for every operation, or per operation (missing ones get 0). */
export type LatencySetting = number | Partial<Record<OperationName, number>>;

/** `calls` = `succeeded` + `failed` + `throttled`; a throttled call never ran. */
export interface CallCount {
  calls: number;
  succeeded: number;
  failed: number;
  throttled: number;
}
