import { booleanMember, constraintError, enumMember, requirePackageId, stringMember } from './input.ts';
import {
  PACKAGE_TYPES,
  type PackageConfiguration,
  type PackageEncryptionOptions,
  type PackageVendingOptions,
  REQUIREMENT_LEVELS,
} from './model.ts';
import type { CreatePackageRequest, PackageSource, UpdatePackageRequest } from './packages.ts';
import { isRecord, validationError } from './wire.ts';

/** The model's limits (aws-sdk-js-v3 `codegen/sdk-codegen/aws-models/opensearch.json`). */
const PACKAGE_NAME_PATTERN = /^[a-z][a-z0-9-]+$/;
const ENGINE_VERSION_PATTERN = /^Elasticsearch_[0-9]{1}\.[0-9]{1,2}$|^OpenSearch_[0-9]{1,2}\.[0-9]{1,2}$/;
const MAX_DESCRIPTION = 1024;
const MAX_COMMIT_MESSAGE = 160;

function structure(value: unknown, field: string, required: boolean): Record<string, unknown> | undefined {
  if (value === undefined || value === null) {
    if (required) throw constraintError(null, field, 'Member must not be null');
    return undefined;
  }
  if (!isRecord(value)) throw validationError(`${field} must be an object`);
  return value;
}

function packageSource(value: unknown): PackageSource {
  const source = structure(value, 'packageSource', true) ?? {};
  return {
    S3BucketName: stringMember(source.S3BucketName, 'packageSource.s3BucketName', {
      min: 3,
      max: 63,
      required: true,
    }),
    S3Key: stringMember(source.S3Key, 'packageSource.s3Key', { min: 1, max: 1024, required: true }),
  };
}

function packageConfiguration(value: unknown): PackageConfiguration | undefined {
  const configuration = structure(value, 'packageConfiguration', false);
  if (configuration === undefined) return undefined;
  const field = (name: string) => `packageConfiguration.${name}`;
  const licenseFilepath = stringMember(configuration.LicenseFilepath, field('licenseFilepath'), {
    max: 1024,
  });
  const restart = booleanMember(
    configuration.RequiresRestartForConfigurationUpdate,
    field('requiresRestartForConfigurationUpdate'),
    false,
  );
  return {
    LicenseRequirement: enumMember(
      configuration.LicenseRequirement,
      field('licenseRequirement'),
      REQUIREMENT_LEVELS,
    ),
    ...(licenseFilepath !== undefined && { LicenseFilepath: licenseFilepath }),
    ConfigurationRequirement: enumMember(
      configuration.ConfigurationRequirement,
      field('configurationRequirement'),
      REQUIREMENT_LEVELS,
    ),
    ...(restart !== undefined && { RequiresRestartForConfigurationUpdate: restart }),
  };
}

function vendingOptions(value: unknown): PackageVendingOptions | undefined {
  const options = structure(value, 'packageVendingOptions', false);
  if (options === undefined) return undefined;
  return {
    VendingEnabled: booleanMember(options.VendingEnabled, 'packageVendingOptions.vendingEnabled', true),
  };
}

function encryptionOptions(value: unknown): PackageEncryptionOptions | undefined {
  const options = structure(value, 'packageEncryptionOptions', false);
  if (options === undefined) return undefined;
  const keyId = stringMember(options.KmsKeyIdentifier, 'packageEncryptionOptions.kmsKeyIdentifier', {
    min: 1,
    max: 500,
  });
  return {
    EncryptionEnabled: booleanMember(
      options.EncryptionEnabled,
      'packageEncryptionOptions.encryptionEnabled',
      true,
    ),
    ...(keyId !== undefined && { KmsKeyIdentifier: keyId }),
  };
}

/**
 * EngineVersion is required for, and only allowed on, ZIP-PLUGIN packages. The required case uses AWS's
 * wording (hashicorp/terraform-provider-aws#44145); the other is the model's documentation put as an error.
 */
function engineVersion(value: unknown, packageType: string): string | undefined {
  const version = stringMember(value, 'engineVersion', { min: 1, max: 1024 });
  if (packageType !== 'ZIP-PLUGIN') {
    if (version !== undefined) {
      throw validationError('EngineVersion can only be specified for packages of type ZIP-PLUGIN');
    }
    return undefined;
  }
  if (version === undefined) {
    throw validationError('Operation not allowed. EngineVersion is a required parameter for this operation.');
  }
  if (!ENGINE_VERSION_PATTERN.test(version)) {
    throw constraintError(
      version,
      'engineVersion',
      'Member must satisfy regular expression pattern: ^Elasticsearch_[0-9]{1}\\.[0-9]{1,2}$|^OpenSearch_[0-9]{1,2}\\.[0-9]{1,2}$',
    );
  }
  return version;
}

export function parseCreatePackage(body: Record<string, unknown>): CreatePackageRequest {
  const name = stringMember(body.PackageName, 'packageName', { min: 3, max: 256, required: true });
  if (!PACKAGE_NAME_PATTERN.test(name)) {
    throw constraintError(
      name,
      'packageName',
      'Member must satisfy regular expression pattern: ^[a-z][a-z0-9\\-]+$',
    );
  }
  const packageType = enumMember(body.PackageType, 'packageType', PACKAGE_TYPES);
  const description = stringMember(body.PackageDescription, 'packageDescription', { max: MAX_DESCRIPTION });
  const version = engineVersion(body.EngineVersion, packageType);
  const configuration = packageConfiguration(body.PackageConfiguration);
  const vending = vendingOptions(body.PackageVendingOptions);
  const encryption = encryptionOptions(body.PackageEncryptionOptions);
  return {
    PackageName: name,
    PackageType: packageType,
    PackageSource: packageSource(body.PackageSource),
    ...(description !== undefined && { PackageDescription: description }),
    ...(version !== undefined && { EngineVersion: version }),
    ...(configuration && { PackageConfiguration: configuration }),
    ...(vending && { PackageVendingOptions: vending }),
    ...(encryption && { PackageEncryptionOptions: encryption }),
  };
}

export function parseUpdatePackage(body: Record<string, unknown>): UpdatePackageRequest {
  const packageId = requirePackageId(body.PackageID, 'packageID');
  const source = packageSource(body.PackageSource);
  const description = stringMember(body.PackageDescription, 'packageDescription', { max: MAX_DESCRIPTION });
  const commitMessage = stringMember(body.CommitMessage, 'commitMessage', { max: MAX_COMMIT_MESSAGE });
  const configuration = packageConfiguration(body.PackageConfiguration);
  const encryption = encryptionOptions(body.PackageEncryptionOptions);
  return {
    PackageID: packageId,
    PackageSource: source,
    ...(description !== undefined && { PackageDescription: description }),
    ...(commitMessage !== undefined && { CommitMessage: commitMessage }),
    ...(configuration && { PackageConfiguration: configuration }),
    ...(encryption && { PackageEncryptionOptions: encryption }),
  };
}
