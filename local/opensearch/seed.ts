import { readFileSync } from 'node:fs';
import * as z from 'zod';
import {
  DOMAIN_NAME_PATTERN,
  ENGINE_TYPES,
  PACKAGE_ID_PATTERN,
  PACKAGE_STATUSES,
  PACKAGE_TYPES,
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
  /** Emulator-only: every association of this package ends ASSOCIATION_FAILED with these details. */
  failOnAssociate: errorDetailsSchema.optional(),
});

/** Associations that exist (ACTIVE) when the emulator starts or is reset. */
const seedAssociationSchema = z.strictObject({
  DomainName: z.string(),
  PackageID: z.string(),
});

const seedDataSchema = z
  .strictObject({
    domains: z.array(seedDomainSchema),
    packages: z.array(seedPackageSchema),
    associations: z.array(seedAssociationSchema).default([]),
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
    seed.associations.forEach((association, index) => {
      if (!domainNames.has(association.DomainName) || !packageIds.has(association.PackageID)) {
        ctx.addIssue({
          code: 'custom',
          path: ['associations', index],
          message: 'association must name a seeded domain and a seeded package',
        });
      }
    });
  });

/** Seed data as written in seed.json (fields with defaults may be left out). */
export type SeedData = z.input<typeof seedDataSchema>;
export type ParsedSeed = z.output<typeof seedDataSchema>;
export type SeedDomain = ParsedSeed['domains'][number];
export type SeedPackage = ParsedSeed['packages'][number];

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
