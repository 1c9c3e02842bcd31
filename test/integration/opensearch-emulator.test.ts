import { fileURLToPath } from 'node:url';
import {
  AssociatePackageCommand,
  type AssociatePackageCommandInput,
  AssociatePackagesCommand,
  ConflictException,
  DescribeDomainCommand,
  DescribePackagesCommand,
  type DescribePackagesFilterName,
  DissociatePackageCommand,
  type DomainPackageDetails,
  InternalException,
  LimitExceededException,
  ListDomainNamesCommand,
  ListDomainsForPackageCommand,
  ListPackagesForDomainCommand,
  OpenSearchClient,
  OpenSearchServiceException,
  paginateDescribePackages,
  paginateListPackagesForDomain,
  ResourceNotFoundException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-opensearch';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createOpenSearchEmulator,
  DEFAULT_SEED_PATH,
  EMULATOR_ADMIN_PREFIX,
  InvalidEmulatorConfigError,
  InvalidSeedError,
  type OpenSearchEmulatorServer,
  type OpenSearchEmulatorServerOptions,
  type SeedData,
  startOpenSearchEmulatorServer,
} from '../../local/opensearch/index.ts';

const START = Date.parse('2025-09-01T12:00:00.000Z');
const DELAY_MS = 3000;
const ROLE_ARN = 'arn:aws:iam::000000000000:role/package-key-store';
/** The seed's domains for rollout demos, and which of them hold catalog-synonyms at which version. */
const SEARCH_DOMAINS = [1, 2, 3, 4, 5, 6].map((n) => `search-eu-${n}`).concat(['search-us-1', 'search-us-2']);
const SEARCH_ASSOCIATIONS = [
  ['search-eu-1', 'v2'],
  ['search-eu-2', 'v3'],
  ['search-eu-3', 'v1'],
  ['search-eu-5', 'v2'],
  ['search-us-1', 'v2'],
] as const;
/** The seed makes catalog-synonyms fail on search-eu-4 alone, so that a rollout of it halts there. */
const SEEDED_FAILURE = {
  DomainName: 'search-eu-4',
  PackageID: 'F111111111',
  failAssociation: true,
  failDissociation: false,
};

/** A clock the tests move by hand, so ASSOCIATING → ACTIVE needs no real waiting. */
function manualClock() {
  let current = START;
  return {
    now: () => current,
    advance: (ms: number) => {
      current += ms;
    },
    set: (value: number) => {
      current = value;
    },
  };
}

function clientFor(url: string): OpenSearchClient {
  // One attempt: retries would hide what the emulator answered to each call.
  return new OpenSearchClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

type ServiceExceptionClass = abstract new (...args: never[]) => OpenSearchServiceException;

interface RefusalCase {
  name: string;
  input: AssociatePackageCommandInput;
  exceptionClass: ServiceExceptionClass;
  status: number;
  message: string;
}

/** The status each exception has in the AWS model (ResourceNotFoundException is 409 there, not 404). */
const MODEL_STATUS = new Map<ServiceExceptionClass, number>([
  [ValidationException, 400],
  [ResourceNotFoundException, 409],
]);

function refusal(
  name: string,
  input: AssociatePackageCommandInput,
  exceptionClass: ServiceExceptionClass,
  message: string,
): RefusalCase {
  return { name, input, exceptionClass, status: MODEL_STATUS.get(exceptionClass) ?? 0, message };
}

async function expectAwsError(
  call: Promise<unknown>,
  exceptionClass: ServiceExceptionClass,
  status: number,
  messagePart?: string | RegExp,
): Promise<OpenSearchServiceException> {
  const error: unknown = await call.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(exceptionClass);
  const serviceError = error as OpenSearchServiceException;
  expect(serviceError.name).toBe(exceptionClass.name);
  expect(serviceError.$metadata.httpStatusCode).toBe(status);
  if (messagePart !== undefined) expect(serviceError.message).toMatch(messagePart);
  return serviceError;
}

async function startTracked(
  servers: OpenSearchEmulatorServer[],
  options: OpenSearchEmulatorServerOptions,
): Promise<{ server: OpenSearchEmulatorServer; client: OpenSearchClient }> {
  const server = await startOpenSearchEmulatorServer(options);
  servers.push(server);
  return { server, client: clientFor(server.url) };
}

describe('OpenSearch emulator: package operations through the real SDK', () => {
  const clock = manualClock();
  let server: OpenSearchEmulatorServer;
  let client: OpenSearchClient;

  beforeAll(async () => {
    server = await startOpenSearchEmulatorServer({ now: clock.now, associationDelayMs: DELAY_MS });
    client = clientFor(server.url);
  });

  beforeEach(() => {
    clock.set(START);
    server.emulator.reset();
  });

  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  const packagesOf = async (domainName: string): Promise<DomainPackageDetails[]> =>
    (await client.send(new ListPackagesForDomainCommand({ DomainName: domainName })))
      .DomainPackageDetailsList ?? [];

  describe('AssociatePackage', () => {
    it('answers ASSOCIATING with the package details, then the domain reports ACTIVE after the delay', async () => {
      const response = await client.send(
        new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' }),
      );

      expect(response.$metadata.httpStatusCode).toBe(200);
      expect(response.DomainPackageDetails).toEqual({
        PackageID: 'F111111111',
        PackageName: 'catalog-synonyms',
        PackageType: 'TXT-DICTIONARY',
        LastUpdated: new Date(START),
        DomainName: 'catalog-search',
        DomainPackageStatus: 'ASSOCIATING',
        PackageVersion: 'v3',
        ReferencePath: 'analyzers/F111111111',
      });
      clock.advance(DELAY_MS - 1);
      expect((await packagesOf('catalog-search'))[0]?.DomainPackageStatus).toBe('ASSOCIATING');
      expect(server.emulator.getDomainPackageStatus('catalog-search', 'F111111111')).toBe('ASSOCIATING');

      clock.advance(1);
      const [settled] = await packagesOf('catalog-search');
      expect(settled?.DomainPackageStatus).toBe('ACTIVE');
      expect(settled?.LastUpdated).toEqual(new Date(START + DELAY_MS));
      expect(server.emulator.getDomainPackageStatus('catalog-search', 'F111111111')).toBe('ACTIVE');
    });

    it('accepts pkg- ids and keeps the prerequisites and association configuration it was sent', async () => {
      const response = await client.send(
        new AssociatePackageCommand({
          PackageID: 'F111111111',
          DomainName: 'orders-logs',
          PrerequisitePackageIDList: ['F222222222'],
          AssociationConfiguration: {
            KeyStoreAccessOption: { KeyStoreAccessEnabled: true, KeyAccessRoleArn: ROLE_ARN },
          },
        }),
      );
      expect(response.DomainPackageDetails).toMatchObject({
        PrerequisitePackageIDList: ['F222222222'],
        AssociationConfiguration: {
          KeyStoreAccessOption: { KeyStoreAccessEnabled: true, KeyAccessRoleArn: ROLE_ARN },
        },
      });

      const plugin = await client.send(
        new AssociatePackageCommand({ PackageID: 'pkg-0a1b2c3d4e', DomainName: 'catalog-search' }),
      );
      expect(plugin.DomainPackageDetails).toMatchObject({
        PackageID: 'pkg-0a1b2c3d4e',
        PackageType: 'ZIP-PLUGIN',
        PackageVersion: '2025.06.1',
        DomainPackageStatus: 'ASSOCIATING',
      });
      expect(plugin.DomainPackageDetails?.ReferencePath).toBeUndefined();
    });

    it('ends ASSOCIATION_FAILED with ErrorDetails for a package seeded to fail', async () => {
      await client.send(
        new AssociatePackageCommand({ PackageID: 'pkg-5f6e7d8c9b', DomainName: 'catalog-search' }),
      );
      clock.advance(DELAY_MS);

      const [failed] = await packagesOf('catalog-search');
      expect(failed).toMatchObject({
        PackageID: 'pkg-5f6e7d8c9b',
        DomainPackageStatus: 'ASSOCIATION_FAILED',
        ErrorDetails: {
          ErrorType: 'PluginInstallationFailed',
          ErrorMessage: 'Plugin legacy-tokenizer 0.9.2 is not compatible with OpenSearch_2.17',
        },
      });
    });

    it('fails a package seeded to fail on one domain there only, and again after a reset', async () => {
      await client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'search-eu-4' }));
      await client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'search-eu-6' }));
      clock.advance(DELAY_MS);

      expect(await packagesOf('search-eu-4')).toMatchObject([
        {
          PackageID: 'F111111111',
          DomainPackageStatus: 'ASSOCIATION_FAILED',
          ErrorDetails: {
            ErrorType: 'AssociationFailed',
            ErrorMessage: "The synonyms of catalog-synonyms v3 do not fit this domain's analyzer settings",
          },
        },
      ]);
      expect(await packagesOf('search-eu-6')).toMatchObject([
        { PackageID: 'F111111111', DomainPackageStatus: 'ACTIVE', PackageVersion: 'v3' },
      ]);
      server.emulator.reset();
      await client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'search-eu-4' }));
      clock.advance(DELAY_MS);
      expect((await packagesOf('search-eu-4'))[0]?.DomainPackageStatus).toBe('ASSOCIATION_FAILED');
    });

    it('answers ConflictException "already in desired state" for a package already ACTIVE', async () => {
      await expectAwsError(
        client.send(new AssociatePackageCommand({ PackageID: 'F222222222', DomainName: 'orders-logs' })),
        ConflictException,
        409,
        /^Package is already in desired state$/,
      );
    });

    it('answers ConflictException "in progress" while an operation runs on the domain', async () => {
      await client.send(
        new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' }),
      );

      const samePackage = await expectAwsError(
        client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' })),
        ConflictException,
        409,
        /in progress/,
      );
      expect(samePackage.message).not.toContain('already in desired state');
      await expectAwsError(
        client.send(new AssociatePackageCommand({ PackageID: 'G555555555', DomainName: 'catalog-search' })),
        ConflictException,
        409,
        'Another package operation is in progress on domain catalog-search',
      );
      // Other domains are independent.
      await client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'orders-logs' }));
    });

    it('lets a failed association be retried', async () => {
      await client.send(
        new AssociatePackageCommand({ PackageID: 'pkg-5f6e7d8c9b', DomainName: 'catalog-search' }),
      );
      clock.advance(DELAY_MS);
      const retry = await client.send(
        new AssociatePackageCommand({ PackageID: 'pkg-5f6e7d8c9b', DomainName: 'catalog-search' }),
      );
      expect(retry.DomainPackageDetails?.DomainPackageStatus).toBe('ASSOCIATING');
    });

    const refusals: RefusalCase[] = [
      refusal(
        'an unknown domain',
        { PackageID: 'F111111111', DomainName: 'no-such-domain' },
        ResourceNotFoundException,
        'Domain not found',
      ),
      refusal(
        'an unknown package',
        { PackageID: 'F987654321', DomainName: 'catalog-search' },
        ResourceNotFoundException,
        'Package not found',
      ),
      refusal(
        'a malformed F id',
        { PackageID: 'F12x', DomainName: 'catalog-search' },
        ValidationException,
        'packageID',
      ),
      refusal(
        'a malformed pkg id',
        { PackageID: 'pkg-XYZ', DomainName: 'catalog-search' },
        ValidationException,
        'packageID',
      ),
      refusal(
        'a malformed domain name',
        { PackageID: 'F111111111', DomainName: 'Catalog_Search' },
        ValidationException,
        'domainName',
      ),
      refusal(
        'a too short domain name',
        { PackageID: 'F111111111', DomainName: 'ab' },
        ValidationException,
        'domainName',
      ),
      refusal(
        'a VALIDATING package',
        { PackageID: 'F333333333', DomainName: 'catalog-search' },
        ValidationException,
        'VALIDATING',
      ),
      refusal(
        'a VALIDATION_FAILED package',
        { PackageID: 'F444444444', DomainName: 'catalog-search' },
        ValidationException,
        'VALIDATION_FAILED',
      ),
      refusal(
        'a plugin built for another engine',
        { PackageID: 'pkg-0a1b2c3d4e', DomainName: 'orders-logs' },
        ValidationException,
        'OpenSearch_2.13',
      ),
      refusal(
        'a prerequisite not on the domain',
        { PackageID: 'F111111111', DomainName: 'catalog-search', PrerequisitePackageIDList: ['G555555555'] },
        ValidationException,
        'Prerequisite package G555555555',
      ),
      refusal(
        'an unknown prerequisite',
        { PackageID: 'F111111111', DomainName: 'catalog-search', PrerequisitePackageIDList: ['F000000001'] },
        ResourceNotFoundException,
        'F000000001',
      ),
      refusal(
        'a malformed prerequisite',
        { PackageID: 'F111111111', DomainName: 'catalog-search', PrerequisitePackageIDList: ['nope'] },
        ValidationException,
        'prerequisitePackageIDList',
      ),
      refusal(
        'key store access without a role',
        {
          PackageID: 'F111111111',
          DomainName: 'catalog-search',
          AssociationConfiguration: { KeyStoreAccessOption: { KeyStoreAccessEnabled: true } },
        },
        ValidationException,
        'keyAccessRoleArn',
      ),
    ];

    it.each(refusals)('refuses $name', async ({ input, exceptionClass, status, message }) => {
      await expectAwsError(client.send(new AssociatePackageCommand(input)), exceptionClass, status, message);
      expect(await packagesOf('catalog-search')).toEqual([]);
      expect(await packagesOf('orders-logs')).toHaveLength(1);
    });
  });

  describe('AssociatePackages', () => {
    it('associates a list at once, prerequisites included in the same request', async () => {
      const response = await client.send(
        new AssociatePackagesCommand({
          DomainName: 'catalog-search',
          PackageList: [
            { PackageID: 'F222222222' },
            { PackageID: 'F111111111', PrerequisitePackageIDList: ['F222222222'] },
          ],
        }),
      );
      expect(response.DomainPackageDetailsList?.map((d) => [d.PackageID, d.DomainPackageStatus])).toEqual([
        ['F222222222', 'ASSOCIATING'],
        ['F111111111', 'ASSOCIATING'],
      ]);
      clock.advance(DELAY_MS);
      expect((await packagesOf('catalog-search')).map((d) => d.DomainPackageStatus)).toEqual([
        'ACTIVE',
        'ACTIVE',
      ]);
    });

    it('associates none when one entry is refused', async () => {
      await expectAwsError(
        client.send(
          new AssociatePackagesCommand({
            DomainName: 'catalog-search',
            PackageList: [{ PackageID: 'F111111111' }, { PackageID: 'F333333333' }],
          }),
        ),
        ValidationException,
        400,
        'F333333333',
      );
      expect(await packagesOf('catalog-search')).toEqual([]);
    });

    it.each([
      ['an empty list', []],
      ['a package listed twice', [{ PackageID: 'F111111111' }, { PackageID: 'F111111111' }]],
      ['a malformed id', [{ PackageID: 'X1' }]],
    ])('refuses %s with ValidationException', async (_case, packageList) => {
      await expectAwsError(
        client.send(new AssociatePackagesCommand({ DomainName: 'catalog-search', PackageList: packageList })),
        ValidationException,
        400,
      );
    });
  });

  describe('DissociatePackage', () => {
    it('answers DISSOCIATING, and the package is gone from the domain after the delay', async () => {
      const response = await client.send(
        new DissociatePackageCommand({ PackageID: 'F222222222', DomainName: 'orders-logs' }),
      );
      expect(response.DomainPackageDetails).toMatchObject({
        PackageID: 'F222222222',
        DomainName: 'orders-logs',
        DomainPackageStatus: 'DISSOCIATING',
        ReferencePath: 'analyzers/F222222222',
      });
      expect((await packagesOf('orders-logs')).map((d) => d.DomainPackageStatus)).toEqual(['DISSOCIATING']);

      clock.advance(DELAY_MS);
      expect(await packagesOf('orders-logs')).toEqual([]);
      expect(server.emulator.getDomainPackageStatus('orders-logs', 'F222222222')).toBeUndefined();
    });

    it('refuses a package that is not on the domain, one still in progress, and a prerequisite in use', async () => {
      await expectAwsError(
        client.send(new DissociatePackageCommand({ PackageID: 'F111111111', DomainName: 'orders-logs' })),
        ValidationException,
        400,
        /^Package is not associated to this domain$/,
      );
      await client.send(
        new AssociatePackageCommand({
          PackageID: 'F111111111',
          DomainName: 'orders-logs',
          PrerequisitePackageIDList: ['F222222222'],
        }),
      );
      await expectAwsError(
        client.send(new DissociatePackageCommand({ PackageID: 'F111111111', DomainName: 'orders-logs' })),
        ConflictException,
        409,
        'in progress',
      );
      clock.advance(DELAY_MS);
      await expectAwsError(
        client.send(new DissociatePackageCommand({ PackageID: 'F222222222', DomainName: 'orders-logs' })),
        ValidationException,
        400,
        'prerequisite of package F111111111',
      );
      await expectAwsError(
        client.send(new DissociatePackageCommand({ PackageID: 'F222222222', DomainName: 'BAD' })),
        ValidationException,
        400,
      );
    });
  });

  describe('ListPackagesForDomain', () => {
    it('pages with maxResults and nextToken', async () => {
      server.emulator.configure({ conflictOnConcurrentOperations: false });
      for (const packageId of ['F111111111', 'G555555555', 'pkg-0a1b2c3d4e', 'pkg-5f6e7d8c9b']) {
        await client.send(
          new AssociatePackageCommand({ PackageID: packageId, DomainName: 'catalog-search' }),
        );
      }

      const first = await client.send(
        new ListPackagesForDomainCommand({ DomainName: 'catalog-search', MaxResults: 3 }),
      );
      expect(first.DomainPackageDetailsList?.map((d) => d.PackageID)).toEqual([
        'F111111111',
        'G555555555',
        'pkg-0a1b2c3d4e',
      ]);
      expect(first.NextToken).toEqual(expect.any(String));
      const second = await client.send(
        new ListPackagesForDomainCommand({
          DomainName: 'catalog-search',
          MaxResults: 3,
          NextToken: first.NextToken,
        }),
      );
      expect(second.DomainPackageDetailsList?.map((d) => d.PackageID)).toEqual(['pkg-5f6e7d8c9b']);
      expect(second.NextToken).toBeUndefined();

      const pages: string[][] = [];
      for await (const page of paginateListPackagesForDomain(
        { client, pageSize: 2 },
        { DomainName: 'catalog-search' },
      )) {
        pages.push((page.DomainPackageDetailsList ?? []).map((d) => d.PackageID ?? ''));
      }
      expect(pages).toEqual([
        ['F111111111', 'G555555555'],
        ['pkg-0a1b2c3d4e', 'pkg-5f6e7d8c9b'],
      ]);
    });

    it('refuses a bad page size, a foreign token and an unknown domain', async () => {
      await expectAwsError(
        client.send(new ListPackagesForDomainCommand({ DomainName: 'catalog-search', MaxResults: 0 })),
        ValidationException,
        400,
        'maxResults',
      );
      const ordersPage = await client.send(new DescribePackagesCommand({ MaxResults: 1 }));
      await expectAwsError(
        client.send(
          new ListPackagesForDomainCommand({ DomainName: 'catalog-search', NextToken: ordersPage.NextToken }),
        ),
        ValidationException,
        400,
        'nextToken',
      );
      await expectAwsError(
        client.send(new ListPackagesForDomainCommand({ DomainName: 'ghost-domain' })),
        ResourceNotFoundException,
        409,
      );
    });
  });

  describe('ListDomainsForPackage', () => {
    it('lists every domain holding the package, page by page', async () => {
      await client.send(
        new AssociatePackageCommand({ PackageID: 'F222222222', DomainName: 'catalog-search' }),
      );

      const first = await client.send(
        new ListDomainsForPackageCommand({ PackageID: 'F222222222', MaxResults: 1 }),
      );
      expect(first.DomainPackageDetailsList).toEqual([
        expect.objectContaining({ DomainName: 'catalog-search', DomainPackageStatus: 'ASSOCIATING' }),
      ]);
      const second = await client.send(
        new ListDomainsForPackageCommand({
          PackageID: 'F222222222',
          MaxResults: 1,
          NextToken: first.NextToken,
        }),
      );
      expect(second.DomainPackageDetailsList).toEqual([
        expect.objectContaining({ DomainName: 'orders-logs', DomainPackageStatus: 'ACTIVE' }),
      ]);
      expect(second.NextToken).toBeUndefined();
    });

    it('refuses an unknown or malformed package id', async () => {
      await expectAwsError(
        client.send(new ListDomainsForPackageCommand({ PackageID: 'G1' })),
        ResourceNotFoundException,
        409,
      );
      await expectAwsError(
        client.send(new ListDomainsForPackageCommand({ PackageID: 'pkg-' })),
        ValidationException,
        400,
      );
    });
  });

  describe('DescribePackages', () => {
    it('answers PackageDetails typed as the SDK types them', async () => {
      const response = await client.send(
        new DescribePackagesCommand({
          Filters: [{ Name: 'PackageID', Value: ['pkg-0a1b2c3d4e', 'F444444444'] }],
        }),
      );
      expect(response.PackageDetailsList).toEqual([
        {
          PackageID: 'F444444444',
          PackageName: 'broken-synonyms',
          PackageType: 'TXT-DICTIONARY',
          PackageDescription: 'Synonyms file that failed validation',
          PackageStatus: 'VALIDATION_FAILED',
          CreatedAt: new Date('2025-07-01T08:10:00Z'),
          LastUpdatedAt: new Date('2025-07-01T08:10:00Z'),
          ErrorDetails: {
            ErrorType: 'ValidationFailed',
            ErrorMessage: 'Line 12: a synonym rule must contain at least two terms',
          },
          PackageOwner: '000000000000',
        },
        {
          PackageID: 'pkg-0a1b2c3d4e',
          PackageName: 'catalog-ranking-plugin',
          PackageType: 'ZIP-PLUGIN',
          PackageDescription: 'Custom scoring plugin for the catalogue',
          PackageStatus: 'AVAILABLE',
          CreatedAt: new Date('2025-06-10T10:00:00Z'),
          LastUpdatedAt: new Date('2025-06-10T10:00:00Z'),
          AvailablePackageVersion: '2025.06.1',
          EngineVersion: 'OpenSearch_2.17',
          AvailablePluginProperties: {
            Name: 'catalog-ranking',
            Description: 'Boosts in-stock products',
            Version: '1.4.0',
            ClassName: 'com.example.ranking.CatalogRankingPlugin',
            UncompressedSizeInBytes: 482113,
          },
          PackageOwner: '000000000000',
        },
      ]);
    });

    it.each([
      [[{ Name: 'PackageType', Value: ['ZIP-PLUGIN'] }], ['pkg-0a1b2c3d4e', 'pkg-5f6e7d8c9b']],
      [
        [
          { Name: 'PackageType', Value: ['TXT-DICTIONARY'] },
          { Name: 'PackageStatus', Value: ['VALIDATING', 'VALIDATION_FAILED'] },
        ],
        ['F333333333', 'F444444444'],
      ],
      [[{ Name: 'PackageName', Value: ['common-stopwords'] }], ['F222222222']],
      [[{ Name: 'EngineVersion', Value: ['OpenSearch_2.17'] }], ['pkg-0a1b2c3d4e', 'pkg-5f6e7d8c9b']],
      [[{ Name: 'PackageID', Value: ['F000000000'] }], []],
    ] as const)('filters %j', async (filters, expectedIds) => {
      const response = await client.send(
        new DescribePackagesCommand({ Filters: filters.map((f) => ({ Name: f.Name, Value: [...f.Value] })) }),
      );
      expect(response.PackageDetailsList?.map((p) => p.PackageID)).toEqual(expectedIds);
    });

    it('pages with MaxResults and NextToken', async () => {
      const pages: string[][] = [];
      for await (const page of paginateDescribePackages({ client, pageSize: 3 }, {})) {
        pages.push((page.PackageDetailsList ?? []).map((p) => p.PackageID ?? ''));
      }
      expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
      expect(new Set(pages.flat()).size).toBe(7);
    });

    it('refuses an unknown filter name, an empty value list and a token from another query', async () => {
      await expectAwsError(
        client.send(
          new DescribePackagesCommand({
            Filters: [{ Name: 'Colour' as DescribePackagesFilterName, Value: ['red'] }],
          }),
        ),
        ValidationException,
        400,
        'enum value set',
      );
      await expectAwsError(
        client.send(new DescribePackagesCommand({ Filters: [{ Name: 'PackageType', Value: [] }] })),
        ValidationException,
        400,
      );
      const unfiltered = await client.send(new DescribePackagesCommand({ MaxResults: 1 }));
      await expectAwsError(
        client.send(
          new DescribePackagesCommand({
            Filters: [{ Name: 'PackageType', Value: ['ZIP-PLUGIN'] }],
            NextToken: unfiltered.NextToken,
          }),
        ),
        ValidationException,
        400,
        'nextToken',
      );
    });
  });

  describe('ListDomainNames', () => {
    it('lists every domain with its engine type, or those of one engine type', async () => {
      const all = await client.send(new ListDomainNamesCommand({}));
      expect(all.DomainNames).toEqual([
        { DomainName: 'catalog-search', EngineType: 'OpenSearch' },
        { DomainName: 'orders-logs', EngineType: 'OpenSearch' },
        { DomainName: 'orders-metrics', EngineType: 'Elasticsearch' },
        { DomainName: 'hr-private', EngineType: 'OpenSearch' },
        ...SEARCH_DOMAINS.map((DomainName) => ({ DomainName, EngineType: 'OpenSearch' })),
      ]);
      const elasticsearch = await client.send(new ListDomainNamesCommand({ EngineType: 'Elasticsearch' }));
      expect(elasticsearch.DomainNames).toEqual([
        { DomainName: 'orders-metrics', EngineType: 'Elasticsearch' },
      ]);
    });

    it('refuses an unknown engine type', async () => {
      await expectAwsError(
        client.send(new ListDomainNamesCommand({ EngineType: 'Solr' as 'OpenSearch' })),
        ValidationException,
        400,
        'engineType',
      );
    });
  });

  describe('DescribeDomain', () => {
    it('answers the DomainStatus of a seeded domain, Processing while a package operation runs', async () => {
      const idle = await client.send(new DescribeDomainCommand({ DomainName: 'hr-private' }));
      expect(idle.DomainStatus).toMatchObject({
        DomainId: '000000000000/hr-private',
        DomainName: 'hr-private',
        ARN: 'arn:aws:es:us-east-1:000000000000:domain/hr-private',
        Created: true,
        Deleted: false,
        EngineVersion: 'OpenSearch_2.17',
        Processing: false,
        ClusterConfig: { InstanceType: 't3.medium.search', InstanceCount: 1 },
      });
      expect(idle.DomainStatus?.Endpoint).toMatch(
        /^search-hr-private-[a-f0-9]+\.us-east-1\.es\.amazonaws\.com$/,
      );

      await client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'hr-private' }));
      const busy = await client.send(new DescribeDomainCommand({ DomainName: 'hr-private' }));
      expect(busy.DomainStatus?.Processing).toBe(true);
    });

    it('refuses an unknown or malformed domain name', async () => {
      await expectAwsError(
        client.send(new DescribeDomainCommand({ DomainName: 'missing-domain' })),
        ResourceNotFoundException,
        409,
      );
      await expectAwsError(
        client.send(new DescribeDomainCommand({ DomainName: '9lives' })),
        ValidationException,
        400,
      );
    });
  });

  describe('conflict switch', () => {
    it('allows concurrent operations on a domain when conflictOnConcurrentOperations is off', async () => {
      server.emulator.configure({ conflictOnConcurrentOperations: false });
      await client.send(
        new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' }),
      );
      await client.send(
        new AssociatePackageCommand({ PackageID: 'G555555555', DomainName: 'catalog-search' }),
      );
      // The same package twice is still refused: it is one operation, not two.
      await expectAwsError(
        client.send(new AssociatePackageCommand({ PackageID: 'G555555555', DomainName: 'catalog-search' })),
        ConflictException,
        409,
        'in progress',
      );
      expect((await packagesOf('catalog-search')).map((d) => d.PackageID)).toEqual([
        'F111111111',
        'G555555555',
      ]);
    });
  });
});

describe('OpenSearch emulator: quota, faults, latency and admin routes', () => {
  const servers: OpenSearchEmulatorServer[] = [];
  const clients: OpenSearchClient[] = [];

  const start = async (options: OpenSearchEmulatorServerOptions = {}) => {
    const started = await startTracked(servers, options);
    clients.push(started.client);
    return started;
  };

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await Promise.all(servers.map((server) => server.close()));
  });

  it('refuses a 21st package on a domain with LimitExceededException', async () => {
    const packageIds = Array.from({ length: 21 }, (_, index) => `F${String(100 + index)}`);
    const seed: SeedData = {
      domains: [{ DomainName: 'quota-domain', EngineVersion: 'OpenSearch_2.17' }],
      packages: packageIds.map((id) => ({
        PackageID: id,
        PackageName: `dictionary-${id}`,
        PackageType: 'TXT-DICTIONARY',
        PackageStatus: 'AVAILABLE',
        CreatedAt: '2025-01-01T00:00:00Z',
      })),
    };
    const { client } = await start({ seed, associationDelayMs: 0 });

    const accepted = await client.send(
      new AssociatePackagesCommand({
        DomainName: 'quota-domain',
        PackageList: packageIds.slice(0, 20).map((id) => ({ PackageID: id })),
      }),
    );
    expect(accepted.DomainPackageDetailsList).toHaveLength(20);
    await expectAwsError(
      client.send(new AssociatePackageCommand({ PackageID: 'F120', DomainName: 'quota-domain' })),
      LimitExceededException,
      409,
      'at most 20 packages',
    );
  });

  it("counts the package operations that took effect per pair, a lost answer's included, a refused one not", async () => {
    const { server, client } = await start({
      associationDelayMs: 0,
      faults: [
        { operation: 'AssociatePackage', errorType: 'LostAnswer', rate: 1, domainName: 'orders-logs' },
      ],
    });
    await client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' }));
    // Already in desired state: refused, so no operation.
    await client
      .send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' }))
      .catch(() => undefined);
    await client
      .send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'orders-logs' }))
      .catch(() => undefined);
    await client.send(
      new DissociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' }),
    );

    expect(server.emulator.operationsByPair()).toEqual({
      'catalog-search/F111111111': 2,
      'orders-logs/F111111111': 1,
    });
  });

  it('fails every call of the faulted operation at rate 1, and only that operation', async () => {
    const { server, client } = await start({
      faults: [{ operation: 'AssociatePackage', errorType: 'ThrottlingException', rate: 1 }],
    });

    for (let attempt = 0; attempt < 3; attempt += 1) {
      await expectAwsError(
        client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' })),
        ThrottlingException,
        429,
        'Injected ThrottlingException',
      );
    }
    await client.send(new DescribeDomainCommand({ DomainName: 'catalog-search' }));

    expect(server.emulator.getDomainPackageStatus('catalog-search', 'F111111111')).toBeUndefined();
    const counts = server.emulator.callCounts();
    expect(counts.AssociatePackage).toEqual({ calls: 3, succeeded: 0, failed: 3, throttled: 0 });
    expect(counts.DescribeDomain).toEqual({ calls: 1, succeeded: 1, failed: 0, throttled: 0 });
  });

  it('changes faults at run time, with any error type, status and message', async () => {
    const { server, client } = await start();
    server.emulator.setFaults([{ operation: '*', errorType: 'InternalException', rate: 1 }]);
    const internal = await expectAwsError(
      client.send(new ListDomainNamesCommand({})),
      InternalException,
      500,
    );
    expect(internal.$fault).toBe('server');

    server.emulator.setFaults([
      {
        operation: 'DescribeDomain',
        errorType: 'ConflictException',
        rate: 1,
        status: 409,
        message: 'update in progress',
      },
    ]);
    await expectAwsError(
      client.send(new DescribeDomainCommand({ DomainName: 'catalog-search' })),
      ConflictException,
      409,
      'update in progress',
    );
    server.emulator.setFaults([]);
    await expect(
      client.send(new DescribeDomainCommand({ DomainName: 'catalog-search' })),
    ).resolves.toBeDefined();
    expect(() => server.emulator.setFaults([{ operation: '*', errorType: 'Throttling', rate: 2 }])).toThrow(
      InvalidEmulatorConfigError,
    );
  });

  it('drops the connection for the ConnectionReset fault', async () => {
    const { client } = await start({
      faults: [{ operation: 'ListDomainNames', errorType: 'ConnectionReset', rate: 1 }],
    });
    const error: unknown = await client
      .send(new ListDomainNamesCommand({}))
      .catch((rejection: unknown) => rejection);
    expect(error).not.toBeInstanceOf(OpenSearchServiceException);
    expect(error).toMatchObject({ code: 'ECONNRESET' });
  });

  it('repeats the same fault sequence for the same randomSeed', async () => {
    const faults = [{ operation: 'DescribeDomain' as const, errorType: 'ThrottlingException', rate: 0.5 }];
    const outcomes = async (client: OpenSearchClient): Promise<string> => {
      let sequence = '';
      for (let call = 0; call < 24; call += 1) {
        const ok = await client.send(new DescribeDomainCommand({ DomainName: 'catalog-search' })).then(
          () => true,
          (error: unknown) => {
            expect(error).toBeInstanceOf(ThrottlingException);
            return false;
          },
        );
        sequence += ok ? '.' : 'x';
      }
      return sequence;
    };
    const first = await start({ faults, randomSeed: 42 });
    const second = await start({ faults, randomSeed: 42 });
    const other = await start({ faults, randomSeed: 7 });

    const sequence = await outcomes(first.client);
    expect(sequence).toMatch(/x/);
    expect(sequence).toMatch(/\./);
    expect(await outcomes(second.client)).toBe(sequence);
    expect(await outcomes(other.client)).not.toBe(sequence);
    first.server.emulator.reset();
    expect(await outcomes(first.client)).toBe(sequence);
    const counts = first.server.emulator.callCounts().DescribeDomain;
    expect(counts.calls).toBe(24);
    expect(counts.failed).toBe(sequence.split('x').length - 1);
  });

  it('adds latency per operation, changeable at run time', async () => {
    const { server, client } = await start({ latencyMs: { DescribeDomain: 150 } });
    const timed = async (call: () => Promise<unknown>): Promise<number> => {
      const started = performance.now();
      await call();
      return performance.now() - started;
    };

    const slow = await timed(() => client.send(new DescribeDomainCommand({ DomainName: 'catalog-search' })));
    const fast = await timed(() => client.send(new ListDomainNamesCommand({})));
    expect(slow).toBeGreaterThanOrEqual(140);
    expect(fast).toBeLessThan(slow);

    server.emulator.setLatency(0);
    const afterChange = await timed(() =>
      client.send(new DescribeDomainCommand({ DomainName: 'catalog-search' })),
    );
    expect(afterChange).toBeLessThan(slow);
  });

  it('is driven through the /_emulator/opensearch/ admin routes', async () => {
    const { server, client } = await start({ associationDelayMs: 60_000 });
    const admin = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${EMULATOR_ADMIN_PREFIX}${path}`, {
        method,
        ...(body !== undefined && {
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    expect(EMULATOR_ADMIN_PREFIX).toBe('/_emulator/opensearch/');
    const state = await admin('GET', 'state');
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({
      region: 'us-east-1',
      accountId: '000000000000',
      associationDelayMs: 60_000,
      conflictOnConcurrentOperations: true,
      domains: ['catalog-search', 'orders-logs', 'orders-metrics', 'hr-private', ...SEARCH_DOMAINS],
      associations: [
        {
          DomainName: 'orders-logs',
          PackageID: 'F222222222',
          DomainPackageStatus: 'ACTIVE',
          PackageVersion: 'v1',
        },
        {
          DomainName: 'orders-metrics',
          PackageID: 'F111111111',
          DomainPackageStatus: 'ACTIVE',
          PackageVersion: 'v2',
        },
        ...SEARCH_ASSOCIATIONS.map(([DomainName, PackageVersion]) => ({
          DomainName,
          PackageID: 'F111111111',
          DomainPackageStatus: 'ACTIVE',
          PackageVersion,
        })),
      ],
      injected: { domainPackages: [SEEDED_FAILURE] },
    });

    const faults = [{ operation: 'AssociatePackage', errorType: 'ThrottlingException', rate: 1 }];
    expect(await admin('POST', 'faults', { faults })).toEqual({ status: 200, body: { faults } });
    expect(await admin('GET', 'faults')).toEqual({ status: 200, body: { faults } });
    await expectAwsError(
      client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' })),
      ThrottlingException,
      429,
    );
    expect(
      (await admin('POST', 'faults', { faults: [{ operation: 'Nope', errorType: 'X', rate: 1 }] })).status,
    ).toBe(400);
    expect((await admin('POST', 'faults', { faults: [] })).status).toBe(200);

    expect(await admin('POST', 'latency', { latencyMs: { DescribeDomain: 5 } })).toEqual({
      status: 200,
      body: { latencyMs: { DescribeDomain: 5 } },
    });
    expect((await admin('POST', 'latency', { latencyMs: -1 })).status).toBe(400);

    const configured = await admin('POST', 'config', { conflictOnConcurrentOperations: false });
    expect(configured.body.conflictOnConcurrentOperations).toBe(false);
    await client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' }));
    await client.send(new AssociatePackageCommand({ PackageID: 'G555555555', DomainName: 'catalog-search' }));

    const counts = await admin('GET', 'call-counts');
    expect(counts.body.AssociatePackage).toEqual({ calls: 3, succeeded: 2, failed: 1, throttled: 0 });

    const reset = await admin('POST', 'reset');
    expect(reset.body).toMatchObject({
      conflictOnConcurrentOperations: true,
      faults: [],
      latencyMs: 0,
      associations: [
        { DomainName: 'orders-logs', PackageID: 'F222222222' },
        { DomainName: 'orders-metrics', PackageID: 'F111111111' },
        ...SEARCH_ASSOCIATIONS.map(([DomainName]) => ({ DomainName, PackageID: 'F111111111' })),
      ],
      injected: { domainPackages: [SEEDED_FAILURE] },
      callCounts: { AssociatePackage: { calls: 0, succeeded: 0, failed: 0, throttled: 0 } },
    });
    expect(await admin('GET', 'nothing-here')).toMatchObject({ status: 404 });
  });

  it('answers unknown routes and malformed bodies the way restJson1 services do', async () => {
    const { server } = await start();
    const unknown = await fetch(`${server.url}/2021-01-01/packages/explode`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');

    const malformed = await fetch(`${server.url}/2021-01-01/packages/describe`, {
      method: 'POST',
      body: '{"Filters":',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('x-amzn-errortype')).toBe('SerializationException');
    expect(await malformed.json()).toEqual({ message: 'Request body is not valid JSON' });
  });
});

describe('OpenSearch emulator: seed and options', () => {
  it('loads the demo seed by default and from a path, with the documented defaults', () => {
    const fromDefault = createOpenSearchEmulator();
    const fromPath = createOpenSearchEmulator({
      seed: fileURLToPath(DEFAULT_SEED_PATH),
      region: 'eu-west-1',
    });
    expect(fromDefault.state()).toMatchObject({
      region: 'us-east-1',
      associationDelayMs: 3000,
      pluginAssociationDelayMs: 3000,
      packageCopyMs: 1000,
      packageValidationMs: 2000,
      conflictOnConcurrentOperations: true,
      maxPackagesPerDomain: 20,
    });
    expect(fromPath.state().region).toBe('eu-west-1');
    expect(fromPath.state().domains).toEqual(fromDefault.state().domains);
    expect(fromDefault.state().packages.map((p) => p.PackageStatus)).toEqual(
      expect.arrayContaining(['AVAILABLE', 'VALIDATING', 'VALIDATION_FAILED']),
    );
  });

  it('refuses a seed that breaks the schema or names unknown resources', () => {
    expect(() =>
      createOpenSearchEmulator({
        seed: { domains: [{ DomainName: 'Bad_Name', EngineVersion: 'x' }], packages: [] },
      }),
    ).toThrow(InvalidSeedError);
    expect(() =>
      createOpenSearchEmulator({
        seed: { domains: [], packages: [], associations: [{ DomainName: 'ghost-domain', PackageID: 'F1' }] },
      }),
    ).toThrow(/seeded domain/);
    const pkg = {
      PackageID: 'F1',
      PackageName: 'words',
      PackageType: 'TXT-DICTIONARY',
      PackageStatus: 'AVAILABLE',
      AvailablePackageVersion: 'v2',
      CreatedAt: '2025-01-01T00:00:00Z',
    } as const;
    expect(() =>
      createOpenSearchEmulator({
        seed: {
          domains: [],
          packages: [
            { ...pkg, versionHistory: [{ PackageVersion: 'v1', CreatedAt: '2025-01-01T00:00:00Z' }] },
          ],
        },
      }),
    ).toThrow(/versionHistory must end at AvailablePackageVersion/);
    expect(() =>
      createOpenSearchEmulator({
        seed: {
          domains: [{ DomainName: 'words-domain', EngineVersion: 'OpenSearch_2.17' }],
          packages: [pkg],
          associations: [{ DomainName: 'words-domain', PackageID: 'F1', PackageVersion: 'v3' }],
        },
      }),
    ).toThrow(/PackageVersion must be in the version history of F1/);
    const failure = { ErrorType: 'AssociationFailed', ErrorMessage: 'no' };
    expect(() =>
      createOpenSearchEmulator({
        seed: {
          domains: [],
          packages: [pkg],
          failures: [{ DomainName: 'ghost-domain', PackageID: 'F1', failAssociation: failure }],
        },
      }),
    ).toThrow(/failure must name a seeded domain and a seeded package/);
    expect(() =>
      createOpenSearchEmulator({
        seed: {
          domains: [{ DomainName: 'words-domain', EngineVersion: 'OpenSearch_2.17' }],
          packages: [pkg],
          failures: [{ DomainName: 'words-domain', PackageID: 'F1' }],
        },
      }),
    ).toThrow(/give failAssociation, failDissociation or both/);
  });

  it('refuses fault rules and latency out of range', () => {
    expect(() =>
      createOpenSearchEmulator({ faults: [{ operation: '*', errorType: 'X', rate: -0.1 }] }),
    ).toThrow(InvalidEmulatorConfigError);
    expect(() => createOpenSearchEmulator({ latencyMs: -5 })).toThrow(InvalidEmulatorConfigError);
  });
});
