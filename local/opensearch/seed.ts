import { readFileSync } from 'node:fs';
import * as z from 'zod';
import {
  DOMAIN_NAME_PATTERN,
  ENGINE_TYPES,
  PACKAGE_ID_PATTERN,
  PACKAGE_STATUSES,
  PACKAGE_TYPES,
  REQUIREMENT_LEVELS,
} from './model.ts';

/** The demo data the local stack starts with. */
export const DEFAULT_SEED_PATH = new URL('../seed.json', import.meta.url);

const errorDetailsSchema = z.strictObject({
  ErrorType: z.string().min(1),
  ErrorMessage: z.string().min(1),
});

const seedDomainSchema = z.strictObject({
  DomainName: z.string().regex(DOMAIN_NAME_PATTERN),
  EngineType: z.enum(ENGINE_TYPES).default('OpenSearch'),
  EngineVersion: z.string().min(1),
  InstanceType: z.string().min(1).default('r6g.large.search'),
  InstanceCount: z.int().positive().default(1),
});

const seedVersionSchema = z.strictObject({
  PackageVersion: z.string().min(1),
  CommitMessage: z.string().max(160).optional(),
  CreatedAt: z.iso.datetime(),
});

export const packageConfigurationSchema = z.strictObject({
  LicenseRequirement: z.enum(REQUIREMENT_LEVELS),
  LicenseFilepath: z.string().min(1).max(1024).optional(),
  ConfigurationRequirement: z.enum(REQUIREMENT_LEVELS),
  RequiresRestartForConfigurationUpdate: z.boolean().optional(),
});

const seedPackageSchema = z.strictObject({
  PackageID: z.string().regex(PACKAGE_ID_PATTERN),
  PackageName: z.string().min(1),
  PackageType: z.enum(PACKAGE_TYPES),
  PackageDescription: z.string().optional(),
  PackageStatus: z.enum(PACKAGE_STATUSES),
  AvailablePackageVersion: z.string().min(1).optional(),
  EngineVersion: z.string().min(1).optional(),
  /** Defaults to the emulator's account id: the caller owns its custom packages. */
  PackageOwner: z.string().min(1).optional(),
  CreatedAt: z.iso.datetime(),
  LastUpdatedAt: z.iso.datetime().optional(),
  ErrorDetails: errorDetailsSchema.optional(),
  AvailablePluginProperties: z
    .strictObject({
      Name: z.string().optional(),
      Description: z.string().optional(),
      Version: z.string().optional(),
      ClassName: z.string().optional(),
      UncompressedSizeInBytes: z.int().nonnegative().optional(),
    })
    .optional(),
  AvailablePackageConfiguration: packageConfigurationSchema.optional(),
  /**
   * The completed versions, oldest first, ending at `AvailablePackageVersion`. Without it a `vN` version gets
   * the history v1…vN spread from `CreatedAt` to `LastUpdatedAt`, any other version a history of itself.
   */
  versionHistory: z.array(seedVersionSchema).optional(),
  /** Emulator-only: every association of this package ends ASSOCIATION_FAILED with these details. */
  failOnAssociate: errorDetailsSchema.optional(),
});

/** Associations that exist (ACTIVE) when the emulator starts or is reset. */
const seedAssociationSchema = z.strictObject({
  DomainName: z.string(),
  PackageID: z.string(),
  /** A version from the package's history; default its `AvailablePackageVersion`. */
  PackageVersion: z.string().min(1).optional(),
});

/**
 * Failures in force when the emulator starts or is reset, as the admin route `PUT domains/{d}/packages/{p}` sets
 * them: one package failing on one domain only, for demos of a rollout that halts.
 */
const seedFailureSchema = z
  .strictObject({
    DomainName: z.string(),
    PackageID: z.string(),
    failAssociation: errorDetailsSchema.optional(),
    failDissociation: errorDetailsSchema.optional(),
  })
  .refine((failure) => failure.failAssociation !== undefined || failure.failDissociation !== undefined, {
    message: 'give failAssociation, failDissociation or both',
  });

const seedDataSchema = z
  .strictObject({
    domains: z.array(seedDomainSchema),
    packages: z.array(seedPackageSchema),
    associations: z.array(seedAssociationSchema).default([]),
    failures: z.array(seedFailureSchema).default([]),
  })
  .superRefine((seed, ctx) => {
    const domainNames = new Set(seed.domains.map((domain) => domain.DomainName));
    const packageIds = new Set(seed.packages.map((pkg) => pkg.PackageID));
    if (domainNames.size !== seed.domains.length) {
      ctx.addIssue({ code: 'custom', path: ['domains'], message: 'domain names must be unique' });
    }
    if (packageIds.size !== seed.packages.length) {
      ctx.addIssue({ code: 'custom', path: ['packages'], message: 'package ids must be unique' });
    }
    seed.packages.forEach((pkg, index) => {
      const history = pkg.versionHistory;
      if (history !== undefined && history.at(-1)?.PackageVersion !== pkg.AvailablePackageVersion) {
        ctx.addIssue({
          code: 'custom',
          path: ['packages', index, 'versionHistory'],
          message: 'versionHistory must end at AvailablePackageVersion',
        });
      }
    });
    seed.associations.forEach((association, index) => {
      const pkg = seed.packages.find((candidate) => candidate.PackageID === association.PackageID);
      if (!domainNames.has(association.DomainName) || pkg === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['associations', index],
          message: 'association must name a seeded domain and a seeded package',
        });
        return;
      }
      const version = association.PackageVersion;
      if (version !== undefined && !seedVersionHistory(pkg).some((v) => v.PackageVersion === version)) {
        ctx.addIssue({
          code: 'custom',
          path: ['associations', index, 'PackageVersion'],
          message: `PackageVersion must be in the version history of ${association.PackageID}`,
        });
      }
    });
    seed.failures.forEach((failure, index) => {
      if (!domainNames.has(failure.DomainName) || !packageIds.has(failure.PackageID)) {
        ctx.addIssue({
          code: 'custom',
          path: ['failures', index],
          message: 'failure must name a seeded domain and a seeded package',
        });
      }
    });
  });

/** Seed data as written in seed.json (fields with defaults may be left out). */
export type SeedData = z.input<typeof seedDataSchema>;
export type ParsedSeed = z.output<typeof seedDataSchema>;
export type SeedDomain = ParsedSeed['domains'][number];
export type SeedPackage = ParsedSeed['packages'][number];

export type SeedVersion = z.output<typeof seedVersionSchema>;

const NUMBERED_VERSION = /^v([1-9][0-9]*)$/;

/** A seeded package's completed versions, oldest first (see `versionHistory`). */
export function seedVersionHistory(pkg: z.output<typeof seedPackageSchema>): SeedVersion[] {
  if (pkg.versionHistory !== undefined) return pkg.versionHistory;
  const available = pkg.AvailablePackageVersion;
  if (available === undefined) return [];
  const count = Number(NUMBERED_VERSION.exec(available)?.[1] ?? 0);
  if (count === 0) return [{ PackageVersion: available, CreatedAt: pkg.CreatedAt }];
  const first = Date.parse(pkg.CreatedAt);
  const last = Date.parse(pkg.LastUpdatedAt ?? pkg.CreatedAt);
  return Array.from({ length: count }, (_, index) => ({
    PackageVersion: `v${index + 1}`,
    CreatedAt: new Date(count === 1 ? first : first + ((last - first) * index) / (count - 1)).toISOString(),
  }));
}

/** Thrown when the seed file or object breaks the seed schema; the message names the bad fields. */
export class InvalidSeedError extends Error {
  override readonly name = 'InvalidSeedError';
}

export function loadSeed(seed: SeedData | string | URL = DEFAULT_SEED_PATH): ParsedSeed {
  const raw: unknown =
    typeof seed === 'string' || seed instanceof URL ? JSON.parse(readFileSync(seed, 'utf8')) : seed;
  const result = seedDataSchema.safeParse(raw);
  if (!result.success) {
    throw new InvalidSeedError(`Invalid OpenSearch emulator seed: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}
