import {
  AssociatePackageCommand,
  ConflictException,
  CreatePackageCommand,
  type CreatePackageCommandInput,
  DescribeDomainCommand,
  DescribePackagesCommand,
  DissociatePackageCommand,
  DissociatePackagesCommand,
  GetPackageVersionHistoryCommand,
  ListPackagesForDomainCommand,
  OpenSearchClient,
  type OpenSearchServiceException,
  type PackageDetails,
  paginateGetPackageVersionHistory,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  UpdatePackageCommand,
  ValidationException,
} from '@aws-sdk/client-opensearch';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EMULATOR_ADMIN_PREFIX,
  type OpenSearchEmulatorServer,
  startOpenSearchEmulatorServer,
} from '../../local/opensearch/index.ts';

const START = Date.parse('2025-09-01T12:00:00.000Z');
const COPY_MS = 1000;
const VALIDATION_MS = 2000;
const UPLOAD_MS = COPY_MS + VALIDATION_MS;
const DELAY_MS = 3000;
const PLUGIN_DELAY_MS = 20_000;
const CHANGE_IN_PROGRESS =
  'A change/update is in progress. Please wait for it to complete before requesting another change.';
const SOURCE = { S3BucketName: 'search-packages', S3Key: 'synonyms/retail.txt' };

type ServiceExceptionClass = abstract new (...args: never[]) => OpenSearchServiceException;

async function expectAwsError(
  call: Promise<unknown>,
  exceptionClass: ServiceExceptionClass,
  message: string | RegExp,
): Promise<void> {
  const error: unknown = await call.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(exceptionClass);
  expect((error as Error).message).toMatch(message);
}

describe('OpenSearch emulator: the package lifecycle through the real SDK', () => {
  let current = START;
  const advance = (ms: number) => {
    current += ms;
  };
  let server: OpenSearchEmulatorServer;
  let client: OpenSearchClient;

  beforeAll(async () => {
    server = await startOpenSearchEmulatorServer({
      now: () => current,
      associationDelayMs: DELAY_MS,
      pluginAssociationDelayMs: PLUGIN_DELAY_MS,
      packageCopyMs: COPY_MS,
      packageValidationMs: VALIDATION_MS,
    });
    // One attempt: retries would hide what the emulator answered to each call.
    client = new OpenSearchClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });

  beforeEach(() => {
    current = START;
    server.emulator.reset();
  });

  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  const describePackage = async (packageId: string): Promise<PackageDetails | undefined> =>
    (await client.send(new DescribePackagesCommand({ Filters: [{ Name: 'PackageID', Value: [packageId] }] })))
      .PackageDetailsList?.[0];

  const history = async (packageId: string) =>
    (await client.send(new GetPackageVersionHistoryCommand({ PackageID: packageId })))
      .PackageVersionHistoryList;

  const onDomain = async (domainName: string) =>
    (
      (await client.send(new ListPackagesForDomainCommand({ DomainName: domainName })))
        .DomainPackageDetailsList ?? []
    ).map((details) => [details.PackageID, details.DomainPackageStatus, details.PackageVersion]);

  const create = (input: Partial<CreatePackageCommandInput> = {}) =>
    client.send(
      new CreatePackageCommand({
        PackageName: 'retail-synonyms',
        PackageType: 'TXT-DICTIONARY',
        PackageSource: SOURCE,
        ...input,
      }),
    );

  const admin = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}${EMULATOR_ADMIN_PREFIX}${path}`, {
      method: 'PUT',
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  describe('CreatePackage', () => {
    it('answers COPYING, then the package is VALIDATING, then AVAILABLE at v1 with a history of one', async () => {
      const { PackageDetails: created } = await create({ PackageDescription: 'Retail synonyms' });
      expect(created).toEqual({
        PackageID: expect.stringMatching(/^F[0-9]{9}$/),
        PackageName: 'retail-synonyms',
        PackageType: 'TXT-DICTIONARY',
        PackageDescription: 'Retail synonyms',
        PackageStatus: 'COPYING',
        CreatedAt: new Date(START),
        LastUpdatedAt: new Date(START),
        PackageOwner: '000000000000',
      });
      const id = created?.PackageID ?? '';

      advance(COPY_MS);
      expect(await describePackage(id)).toMatchObject({ PackageStatus: 'VALIDATING' });
      expect(await history(id)).toEqual([]);
      advance(VALIDATION_MS - 1);
      expect((await describePackage(id))?.PackageStatus).toBe('VALIDATING');
      advance(1);
      expect(await describePackage(id)).toMatchObject({
        PackageStatus: 'AVAILABLE',
        AvailablePackageVersion: 'v1',
        LastUpdatedAt: new Date(START + UPLOAD_MS),
      });
      expect(await history(id)).toEqual([{ PackageVersion: 'v1', CreatedAt: new Date(START) }]);
    });

    it('gives plugins a pkg- id, their engine version and plugin properties', async () => {
      const { PackageDetails: created } = await create({
        PackageName: 'geo-boost-plugin',
        PackageType: 'ZIP-PLUGIN',
        PackageSource: { S3BucketName: 'search-packages', S3Key: 'plugins/geo-boost.zip' },
        EngineVersion: 'OpenSearch_2.17',
        PackageConfiguration: { LicenseRequirement: 'NONE', ConfigurationRequirement: 'OPTIONAL' },
      });
      expect(created?.PackageID).toMatch(/^pkg-[a-f0-9]{10}$/);
      advance(UPLOAD_MS);
      expect(await describePackage(created?.PackageID ?? '')).toMatchObject({
        PackageStatus: 'AVAILABLE',
        EngineVersion: 'OpenSearch_2.17',
        AvailablePluginProperties: { Name: 'geo-boost-plugin', Version: '1.0.0' },
        AvailablePackageConfiguration: { LicenseRequirement: 'NONE', ConfigurationRequirement: 'OPTIONAL' },
      });
    });

    it('ends VALIDATION_FAILED for an S3 key holding "invalid", COPY_FAILED for one holding "missing"', async () => {
      const invalid = await create({ PackageSource: { ...SOURCE, S3Key: 'synonyms/invalid.txt' } });
      const missing = await create({
        PackageName: 'ghost-synonyms',
        PackageSource: { ...SOURCE, S3Key: 'synonyms/missing.txt' },
      });
      advance(COPY_MS);
      expect(await describePackage(missing.PackageDetails?.PackageID ?? '')).toMatchObject({
        PackageStatus: 'COPY_FAILED',
        ErrorDetails: { ErrorType: 'CopyFailed' },
      });
      advance(VALIDATION_MS);
      const failed = await describePackage(invalid.PackageDetails?.PackageID ?? '');
      expect(failed).toMatchObject({
        PackageStatus: 'VALIDATION_FAILED',
        ErrorDetails: {
          ErrorType: 'ValidationFailed',
          ErrorMessage: 'The package file s3://search-packages/synonyms/invalid.txt failed validation',
        },
      });
      expect(failed?.AvailablePackageVersion).toBeUndefined();
    });

    it.each<[string, Partial<CreatePackageCommandInput>, ServiceExceptionClass, string | RegExp]>([
      [
        'a taken name',
        { PackageName: 'catalog-synonyms' },
        ResourceAlreadyExistsException,
        'catalog-synonyms',
      ],
      [
        'a name breaking the pattern',
        { PackageName: 'Retail_Synonyms' },
        ValidationException,
        "at 'packageName'",
      ],
      [
        'a plugin without an engine version',
        { PackageType: 'ZIP-PLUGIN' },
        ValidationException,
        /^Operation not allowed\. EngineVersion is a required parameter for this operation\.$/,
      ],
      [
        'an engine version on a dictionary',
        { EngineVersion: 'OpenSearch_2.17' },
        ValidationException,
        'ZIP-PLUGIN',
      ],
      [
        'a source without a key',
        { PackageSource: { S3BucketName: 'search-packages' } },
        ValidationException,
        "at 'packageSource.s3Key' failed to satisfy constraint: Member must not be null",
      ],
    ])('refuses %s', async (_case, input, exceptionClass, message) => {
      await expectAwsError(create(input), exceptionClass, message);
      expect(server.emulator.state().packages).toHaveLength(7);
    });
  });

  describe('UpdatePackage and GetPackageVersionHistory', () => {
    it('moves the package through COPYING and VALIDATING to AVAILABLE at the next version', async () => {
      const { PackageDetails: updating } = await client.send(
        new UpdatePackageCommand({
          PackageID: 'F111111111',
          PackageSource: SOURCE,
          CommitMessage: 'Add hoodie synonyms',
          PackageDescription: 'Product catalogue synonyms, autumn range',
        }),
      );
      expect(updating).toMatchObject({
        PackageStatus: 'COPYING',
        AvailablePackageVersion: 'v3',
        PackageDescription: 'Product catalogue synonyms, autumn range',
        LastUpdatedAt: new Date(START),
      });
      advance(COPY_MS);
      expect(await describePackage('F111111111')).toMatchObject({
        PackageStatus: 'VALIDATING',
        AvailablePackageVersion: 'v3',
      });
      advance(VALIDATION_MS);
      expect(await describePackage('F111111111')).toMatchObject({
        PackageStatus: 'AVAILABLE',
        AvailablePackageVersion: 'v4',
        LastUpdatedAt: new Date(START + UPLOAD_MS),
      });
      expect(await history('F111111111')).toEqual([
        { PackageVersion: 'v4', CommitMessage: 'Add hoodie synonyms', CreatedAt: new Date(START) },
        {
          PackageVersion: 'v3',
          CommitMessage: 'Drop the gelato rule, it matched too much',
          CreatedAt: new Date('2025-06-02T11:05:00Z'),
        },
        {
          PackageVersion: 'v2',
          CommitMessage: 'Add sneaker and trainer synonyms',
          CreatedAt: new Date('2025-03-11T16:20:00Z'),
        },
        { PackageVersion: 'v1', CreatedAt: new Date('2025-01-14T09:30:00Z') },
      ]);
    });

    it('ends VALIDATION_FAILED at the old version when the admin route fails the package, and recovers', async () => {
      expect((await admin('packages/F111111111', { failValidation: true })).status).toBe(200);
      await client.send(new UpdatePackageCommand({ PackageID: 'F111111111', PackageSource: SOURCE }));
      advance(UPLOAD_MS);
      expect(await describePackage('F111111111')).toMatchObject({
        PackageStatus: 'VALIDATION_FAILED',
        AvailablePackageVersion: 'v3',
        ErrorDetails: { ErrorType: 'ValidationFailed', ErrorMessage: 'Injected validation failure' },
      });
      await expectAwsError(
        client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' })),
        ValidationException,
        'VALIDATION_FAILED',
      );

      expect(server.emulator.state().injected.validation).toEqual(['F111111111']);
      await admin('packages/F111111111', { failValidation: false });
      await client.send(new UpdatePackageCommand({ PackageID: 'F111111111', PackageSource: SOURCE }));
      advance(UPLOAD_MS);
      const recovered = await describePackage('F111111111');
      expect(recovered).toMatchObject({ PackageStatus: 'AVAILABLE', AvailablePackageVersion: 'v4' });
      expect(recovered?.ErrorDetails).toBeUndefined();
    });

    it('refuses an update while one runs, of a package not AVAILABLE, and of an unknown package', async () => {
      await client.send(new UpdatePackageCommand({ PackageID: 'F222222222', PackageSource: SOURCE }));
      advance(COPY_MS);
      await expectAwsError(
        client.send(new UpdatePackageCommand({ PackageID: 'F222222222', PackageSource: SOURCE })),
        ValidationException,
        'Package F222222222 is being updated (VALIDATING)',
      );
      await expectAwsError(
        client.send(new UpdatePackageCommand({ PackageID: 'F333333333', PackageSource: SOURCE })),
        ValidationException,
        'in status VALIDATING',
      );
      await expectAwsError(
        client.send(new UpdatePackageCommand({ PackageID: 'F999', PackageSource: SOURCE })),
        ResourceNotFoundException,
        'Package not found: F999',
      );
      await expectAwsError(
        client.send(
          new UpdatePackageCommand({
            PackageID: 'F222222222',
            PackageSource: SOURCE,
            CommitMessage: 'x'.repeat(161),
          }),
        ),
        ValidationException,
        "at 'commitMessage'",
      );
    });

    it('derives a seeded vN history, pages it, and refuses an unknown package', async () => {
      expect(await history('G555555555')).toEqual([
        { PackageVersion: 'v2', CreatedAt: new Date('2025-03-20T14:00:00Z') },
        { PackageVersion: 'v1', CreatedAt: new Date('2025-03-20T14:00:00Z') },
      ]);
      const pages: string[][] = [];
      for await (const page of paginateGetPackageVersionHistory(
        { client, pageSize: 2 },
        { PackageID: 'F111111111' },
      )) {
        expect(page.PackageID).toBe('F111111111');
        pages.push((page.PackageVersionHistoryList ?? []).map((version) => version.PackageVersion ?? ''));
      }
      expect(pages).toEqual([['v3', 'v2'], ['v1']]);
      expect(await history('pkg-0a1b2c3d4e')).toEqual([
        expect.objectContaining({ PackageVersion: '2025.06.1', PluginProperties: expect.any(Object) }),
      ]);
      await expectAwsError(history('G1'), ResourceNotFoundException, 'Package not found: G1');
    });
  });

  describe('associations at a version', () => {
    it('keeps the version associated, and associating again moves an older one to the available version', async () => {
      await client.send(
        new AssociatePackageCommand({ PackageID: 'F222222222', DomainName: 'catalog-search' }),
      );
      advance(DELAY_MS);
      await client.send(new UpdatePackageCommand({ PackageID: 'F222222222', PackageSource: SOURCE }));
      await expectAwsError(
        client.send(new AssociatePackageCommand({ PackageID: 'F222222222', DomainName: 'catalog-search' })),
        ValidationException,
        'in status COPYING; only AVAILABLE packages can be associated',
      );
      advance(UPLOAD_MS);
      expect(await onDomain('catalog-search')).toEqual([['F222222222', 'ACTIVE', 'v1']]);

      const again = await client.send(
        new AssociatePackageCommand({ PackageID: 'F222222222', DomainName: 'catalog-search' }),
      );
      expect(again.DomainPackageDetails).toMatchObject({
        DomainPackageStatus: 'ASSOCIATING',
        PackageVersion: 'v2',
      });
      advance(DELAY_MS);
      expect(await onDomain('catalog-search')).toEqual([['F222222222', 'ACTIVE', 'v2']]);
      await expectAwsError(
        client.send(new AssociatePackageCommand({ PackageID: 'F222222222', DomainName: 'catalog-search' })),
        ConflictException,
        /^Package is already in desired state$/,
      );
    });

    it('moves the seeded association that is behind (orders-metrics at v2 of F111111111) to v3', async () => {
      expect(await onDomain('orders-metrics')).toEqual([['F111111111', 'ACTIVE', 'v2']]);
      await client.send(
        new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'orders-metrics' }),
      );
      expect(await onDomain('orders-metrics')).toEqual([['F111111111', 'ASSOCIATING', 'v3']]);
      advance(DELAY_MS);
      expect(await onDomain('orders-metrics')).toEqual([['F111111111', 'ACTIVE', 'v3']]);
    });
  });

  describe('DissociatePackage(s)', () => {
    it('dissociates a list at once: DISSOCIATING, then gone', async () => {
      await client.send(new AssociatePackageCommand({ PackageID: 'G555555555', DomainName: 'orders-logs' }));
      advance(DELAY_MS);
      const response = await client.send(
        new DissociatePackagesCommand({
          DomainName: 'orders-logs',
          PackageList: ['F222222222', 'G555555555'],
        }),
      );
      expect(response.DomainPackageDetailsList?.map((d) => [d.PackageID, d.DomainPackageStatus])).toEqual([
        ['F222222222', 'DISSOCIATING'],
        ['G555555555', 'DISSOCIATING'],
      ]);
      advance(DELAY_MS);
      expect(await onDomain('orders-logs')).toEqual([]);
    });

    it('dissociates none when one is not associated, with AWS wording, and refuses an empty list', async () => {
      await expectAwsError(
        client.send(
          new DissociatePackagesCommand({
            DomainName: 'orders-logs',
            PackageList: ['F222222222', 'G555555555'],
          }),
        ),
        ValidationException,
        /^Package is not associated to this domain$/,
      );
      expect(await onDomain('orders-logs')).toEqual([['F222222222', 'ACTIVE', 'v1']]);
      await expectAwsError(
        client.send(new DissociatePackagesCommand({ DomainName: 'orders-logs', PackageList: [] })),
        ValidationException,
        'packageList',
      );
    });

    it('ends DISSOCIATION_FAILED with ErrorDetails where the admin route fails it, and can be retried', async () => {
      const marked = await admin('domains/orders-logs/packages/F222222222', {
        failDissociation: { ErrorType: 'DissociationFailed', ErrorMessage: 'Index logs-2025 uses the file' },
      });
      expect(marked.body.injected).toEqual({
        validation: [],
        domainPackages: [
          // The demo seed's own: catalog-synonyms fails on search-eu-4.
          {
            DomainName: 'search-eu-4',
            PackageID: 'F111111111',
            failAssociation: true,
            failDissociation: false,
          },
          {
            DomainName: 'orders-logs',
            PackageID: 'F222222222',
            failAssociation: false,
            failDissociation: true,
          },
        ],
      });
      await client.send(new DissociatePackageCommand({ PackageID: 'F222222222', DomainName: 'orders-logs' }));
      advance(DELAY_MS);
      const [failed] =
        (await client.send(new ListPackagesForDomainCommand({ DomainName: 'orders-logs' })))
          .DomainPackageDetailsList ?? [];
      expect(failed).toMatchObject({
        DomainPackageStatus: 'DISSOCIATION_FAILED',
        ErrorDetails: { ErrorType: 'DissociationFailed', ErrorMessage: 'Index logs-2025 uses the file' },
      });

      await admin('domains/orders-logs/packages/F222222222', { failDissociation: false });
      await client.send(new DissociatePackageCommand({ PackageID: 'F222222222', DomainName: 'orders-logs' }));
      advance(DELAY_MS);
      expect(await onDomain('orders-logs')).toEqual([]);
    });

    it('ends ASSOCIATION_FAILED where the admin route fails an association', async () => {
      await admin('domains/catalog-search/packages/G555555555', { failAssociation: true });
      await client.send(
        new AssociatePackageCommand({ PackageID: 'G555555555', DomainName: 'catalog-search' }),
      );
      advance(DELAY_MS);
      expect(await onDomain('catalog-search')).toEqual([['G555555555', 'ASSOCIATION_FAILED', 'v2']]);
    });
  });

  describe('plugins and domain processing', () => {
    const processing = async (domainName: string) =>
      (await client.send(new DescribeDomainCommand({ DomainName: domainName }))).DomainStatus;

    it('associates a plugin by a blue/green deployment: the domain processes and refuses other changes', async () => {
      await client.send(
        new AssociatePackageCommand({ PackageID: 'pkg-0a1b2c3d4e', DomainName: 'catalog-search' }),
      );
      advance(DELAY_MS);
      expect(await processing('catalog-search')).toMatchObject({
        Processing: true,
        DomainProcessingStatus: 'Modifying',
      });
      await expectAwsError(
        client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' })),
        ValidationException,
        CHANGE_IN_PROGRESS,
      );
      expect(await onDomain('catalog-search')).toEqual([['pkg-0a1b2c3d4e', 'ASSOCIATING', '2025.06.1']]);

      advance(PLUGIN_DELAY_MS - DELAY_MS);
      expect(await processing('catalog-search')).toMatchObject({
        Processing: false,
        DomainProcessingStatus: 'Active',
      });
      expect(await onDomain('catalog-search')).toEqual([['pkg-0a1b2c3d4e', 'ACTIVE', '2025.06.1']]);

      await client.send(
        new DissociatePackageCommand({ PackageID: 'pkg-0a1b2c3d4e', DomainName: 'catalog-search' }),
      );
      advance(PLUGIN_DELAY_MS - 1);
      expect((await processing('catalog-search'))?.Processing).toBe(true);
      advance(1);
      expect(await onDomain('catalog-search')).toEqual([]);
    });

    it('holds a domain in processing for the time the admin route gives, refusing package changes', async () => {
      server.emulator.configure({ conflictOnConcurrentOperations: false });
      const answer = await admin('domains/hr-private', { processingForMs: 10_000 });
      expect(answer.body.processing).toEqual([
        { DomainName: 'hr-private', processingUntil: new Date(START + 10_000).toISOString() },
      ]);
      expect((await processing('hr-private'))?.Processing).toBe(true);
      await expectAwsError(
        client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'hr-private' })),
        ValidationException,
        CHANGE_IN_PROGRESS,
      );
      advance(10_000);
      expect((await processing('hr-private'))?.Processing).toBe(false);
      await client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'hr-private' }));

      await admin('domains/orders-logs', { processingForMs: 60_000 });
      await admin('domains/orders-logs', { processingForMs: 0 });
      expect((await processing('orders-logs'))?.Processing).toBe(false);
    });

    it('takes the durations at run time through POST config; a null plugin delay follows the dictionary one', async () => {
      const config = async (body: unknown) => {
        const response = await fetch(`${server.url}${EMULATOR_ADMIN_PREFIX}config`, {
          method: 'POST',
          body: JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const set = await config({ pluginAssociationDelayMs: 500, packageCopyMs: 10, packageValidationMs: 20 });
      expect(set.body).toMatchObject({
        pluginAssociationDelayMs: 500,
        packageCopyMs: 10,
        packageValidationMs: 20,
      });
      await client.send(
        new AssociatePackageCommand({ PackageID: 'pkg-0a1b2c3d4e', DomainName: 'catalog-search' }),
      );
      advance(500);
      expect(await onDomain('catalog-search')).toEqual([['pkg-0a1b2c3d4e', 'ACTIVE', '2025.06.1']]);

      const following = await config({ associationDelayMs: 700, pluginAssociationDelayMs: null });
      expect(following.body).toMatchObject({ associationDelayMs: 700, pluginAssociationDelayMs: 700 });
      expect((await config({ packageCopyMs: -1 })).status).toBe(400);
      server.emulator.reset();
      expect(server.emulator.state()).toMatchObject({
        pluginAssociationDelayMs: PLUGIN_DELAY_MS,
        packageCopyMs: COPY_MS,
      });
    });

    it('answers 404 for an unknown domain or package and 400 for a malformed one or a bad body', async () => {
      expect((await admin('domains/ghost-domain', { processingForMs: 5 })).status).toBe(404);
      expect((await admin('packages/F999', { failValidation: true })).status).toBe(404);
      const malformed = await admin('domains/Bad_Name', { processingForMs: 5 });
      expect(malformed).toMatchObject({
        status: 400,
        body: { message: expect.stringContaining('domain name') },
      });
      const badBody = await admin('domains/hr-private', { processingForMs: -1 });
      expect(badBody).toMatchObject({
        status: 400,
        body: { message: expect.stringContaining('processingForMs') },
      });
      expect((await admin('domains/hr-private/packages/F111111111', {})).status).toBe(400);
    });
  });
});
