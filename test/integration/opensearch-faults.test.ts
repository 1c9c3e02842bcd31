import {
  AssociatePackageCommand,
  AssociatePackagesCommand,
  ConflictException,
  CreatePackageCommand,
  DescribeDomainCommand,
  DescribePackagesCommand,
  DissociatePackagesCommand,
  GetPackageVersionHistoryCommand,
  InternalException,
  ListDomainNamesCommand,
  ListDomainsForPackageCommand,
  ListPackagesForDomainCommand,
  OpenSearchClient,
  OpenSearchServiceException,
  ThrottlingException,
  UpdatePackageCommand,
  ValidationException,
} from '@aws-sdk/client-opensearch';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createOpenSearchEmulator,
  EMULATOR_ADMIN_PREFIX,
  type FaultRule,
  InvalidEmulatorConfigError,
  type OpenSearchEmulatorServer,
  type OpenSearchEmulatorServerOptions,
  startOpenSearchEmulatorServer,
} from '../../local/opensearch/index.ts';

const START = Date.parse('2025-09-01T12:00:00.000Z');

/** What a call rejected with, or undefined if it resolved. */
async function rejectionOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('OpenSearch emulator: LostAnswer and fault rules scoped to a domain or package', () => {
  let servers: OpenSearchEmulatorServer[] = [];
  let clients: OpenSearchClient[] = [];

  const start = async (options: OpenSearchEmulatorServerOptions = {}) => {
    // The clock stands still, so an association stays ASSOCIATING for the whole test.
    const server = await startOpenSearchEmulatorServer({ now: () => START, ...options });
    servers.push(server);
    // One attempt: the SDK would otherwise retry the network error and hide what the emulator did.
    const client = new OpenSearchClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    clients.push(client);
    const admin = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${EMULATOR_ADMIN_PREFIX}${path}`, {
        method,
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    return { server, client, admin };
  };

  afterEach(async () => {
    for (const client of clients) client.destroy();
    await Promise.all(servers.map((server) => server.close()));
    servers = [];
    clients = [];
  });

  it('LostAnswer: AssociatePackage takes effect, the SDK sees a network error, a retry answers ConflictException', async () => {
    const { server, client, admin } = await start({
      faults: [
        {
          operation: 'AssociatePackage',
          errorType: 'LostAnswer',
          rate: 1,
          domainName: 'catalog-search',
          packageId: 'F111111111',
        },
      ],
    });
    const associate = (packageId: string) =>
      client.send(new AssociatePackageCommand({ PackageID: packageId, DomainName: 'catalog-search' }));

    const lost = await rejectionOf(associate('F111111111'));
    expect(lost).toBeInstanceOf(Error);
    expect(lost).not.toBeInstanceOf(OpenSearchServiceException);
    expect(lost).toMatchObject({ code: 'ECONNRESET' });

    const listed = await client.send(new ListPackagesForDomainCommand({ DomainName: 'catalog-search' }));
    expect(listed.DomainPackageDetailsList).toEqual([
      expect.objectContaining({ PackageID: 'F111111111', DomainPackageStatus: 'ASSOCIATING' }),
    ]);
    expect(server.emulator.callCounts().AssociatePackage).toEqual({
      calls: 1,
      succeeded: 1,
      failed: 0,
      throttled: 0,
    });

    // Another package on the same domain is outside the rule: its answer arrives, and shows the first call ran.
    const other = await rejectionOf(associate('G555555555'));
    expect(other).toBeInstanceOf(ConflictException);
    expect((other as ConflictException).message).toMatch(/in progress on domain catalog-search/);

    expect(await admin('DELETE', 'faults')).toEqual({ status: 200, body: { faults: [] } });
    const retried = await rejectionOf(associate('F111111111'));
    expect(retried).toBeInstanceOf(ConflictException);
    expect((retried as ConflictException).$metadata.httpStatusCode).toBe(409);
    expect((retried as ConflictException).message).toMatch(/already in progress for package F111111111/);
    expect(server.emulator.callCounts().AssociatePackage).toEqual({
      calls: 3,
      succeeded: 1,
      failed: 2,
      throttled: 0,
    });
  });

  it('LostAnswer on a call the API refuses loses the refusal too, counted as failed', async () => {
    const { server, client } = await start({
      faults: [{ operation: 'DescribeDomain', errorType: 'LostAnswer', rate: 1 }],
    });
    const lost = await rejectionOf(client.send(new DescribeDomainCommand({ DomainName: 'no-such-domain' })));
    expect(lost).not.toBeInstanceOf(OpenSearchServiceException);
    expect(lost).toMatchObject({ code: 'ECONNRESET' });
    expect(server.emulator.callCounts().DescribeDomain).toEqual({
      calls: 1,
      succeeded: 0,
      failed: 1,
      throttled: 0,
    });
  });

  it('a rule scoped to a domain fails only the calls naming that domain', async () => {
    const { client } = await start({
      faults: [{ operation: '*', errorType: 'ThrottlingException', rate: 1, domainName: 'orders-logs' }],
    });
    expect(
      await rejectionOf(client.send(new DescribeDomainCommand({ DomainName: 'orders-logs' }))),
    ).toBeInstanceOf(ThrottlingException);
    expect(
      await rejectionOf(client.send(new ListPackagesForDomainCommand({ DomainName: 'orders-logs' }))),
    ).toBeInstanceOf(ThrottlingException);
    expect(
      await rejectionOf(
        client.send(
          new AssociatePackagesCommand({
            DomainName: 'orders-logs',
            PackageList: [{ PackageID: 'F111111111' }],
          }),
        ),
      ),
    ).toBeInstanceOf(ThrottlingException);
    await expect(
      client.send(new DescribeDomainCommand({ DomainName: 'catalog-search' })),
    ).resolves.toBeDefined();
    // ListDomainNames names no domain, so the rule does not apply to it.
    await expect(client.send(new ListDomainNamesCommand({}))).resolves.toBeDefined();
  });

  it('a rule scoped to a package matches its path, an AssociatePackages list holding it and a PackageID filter', async () => {
    const { client } = await start({
      faults: [{ operation: '*', errorType: 'InternalException', rate: 1, packageId: 'G555555555' }],
    });
    expect(
      await rejectionOf(
        client.send(
          new AssociatePackagesCommand({
            DomainName: 'catalog-search',
            PackageList: [{ PackageID: 'F111111111' }, { PackageID: 'G555555555' }],
          }),
        ),
      ),
    ).toBeInstanceOf(InternalException);
    expect(
      await rejectionOf(
        client.send(new DescribePackagesCommand({ Filters: [{ Name: 'PackageID', Value: ['G555555555'] }] })),
      ),
    ).toBeInstanceOf(InternalException);
    expect(
      await rejectionOf(client.send(new ListDomainsForPackageCommand({ PackageID: 'G555555555' }))),
    ).toBeInstanceOf(InternalException);
    await expect(
      client.send(new DescribePackagesCommand({ Filters: [{ Name: 'PackageID', Value: ['F111111111'] }] })),
    ).resolves.toBeDefined();
    await expect(
      client.send(new ListDomainsForPackageCommand({ PackageID: 'F222222222' })),
    ).resolves.toBeDefined();
    await expect(
      client.send(new AssociatePackageCommand({ PackageID: 'F111111111', DomainName: 'catalog-search' })),
    ).resolves.toMatchObject({ DomainPackageDetails: { DomainPackageStatus: 'ASSOCIATING' } });
  });

  it('a rule scoped to a package matches UpdatePackage and DissociatePackages bodies and the history path', async () => {
    const { server, client } = await start({
      faults: [{ operation: '*', errorType: 'ThrottlingException', rate: 1, packageId: 'F222222222' }],
    });
    const source = { S3BucketName: 'search-packages', S3Key: 'stopwords.txt' };
    // Each rejection is caught as the call starts: awaiting them one by one would leave the later ones unhandled.
    const rejections = await Promise.all(
      [
        client.send(new UpdatePackageCommand({ PackageID: 'F222222222', PackageSource: source })),
        client.send(new GetPackageVersionHistoryCommand({ PackageID: 'F222222222' })),
        client.send(
          new DissociatePackagesCommand({ DomainName: 'orders-logs', PackageList: ['F222222222'] }),
        ),
      ].map(rejectionOf),
    );
    for (const rejection of rejections) expect(rejection).toBeInstanceOf(ThrottlingException);
    await expect(
      client.send(new UpdatePackageCommand({ PackageID: 'G555555555', PackageSource: source })),
    ).resolves.toMatchObject({ PackageDetails: { PackageStatus: 'COPYING' } });
    // CreatePackage names no package yet, so the rule does not apply to it.
    await expect(
      client.send(
        new CreatePackageCommand({
          PackageName: 'fresh-words',
          PackageType: 'TXT-DICTIONARY',
          PackageSource: source,
        }),
      ),
    ).resolves.toBeDefined();
    expect(server.emulator.getDomainPackageStatus('orders-logs', 'F222222222')).toBe('ACTIVE');
  });

  it('LostAnswer on UpdatePackage: the update runs, and the retry is refused while it does', async () => {
    const { server, client } = await start({
      faults: [{ operation: 'UpdatePackage', errorType: 'LostAnswer', rate: 1 }],
    });
    const update = new UpdatePackageCommand({
      PackageID: 'F111111111',
      PackageSource: { S3BucketName: 'search-packages', S3Key: 'synonyms.txt' },
    });
    expect(await rejectionOf(client.send(update))).toMatchObject({ code: 'ECONNRESET' });
    const [details] =
      (
        await client.send(
          new DescribePackagesCommand({ Filters: [{ Name: 'PackageID', Value: ['F111111111'] }] }),
        )
      ).PackageDetailsList ?? [];
    expect(details).toMatchObject({ PackageStatus: 'COPYING', AvailablePackageVersion: 'v3' });
    server.emulator.setFaults([]);
    const retry = await rejectionOf(client.send(update));
    expect(retry).toBeInstanceOf(ValidationException);
    expect((retry as Error).message).toContain('Package F111111111 is being updated (COPYING)');
  });

  it('sets, reads and clears scoped rules through PUT, POST, GET and DELETE /_emulator/opensearch/faults', async () => {
    const { admin } = await start();
    const faults: FaultRule[] = [
      { operation: 'AssociatePackage', errorType: 'LostAnswer', rate: 0.5, packageId: 'F111111111' },
    ];
    expect(await admin('PUT', 'faults', { faults })).toEqual({ status: 200, body: { faults } });
    expect(await admin('GET', 'faults')).toEqual({ status: 200, body: { faults } });
    const replaced: FaultRule[] = [{ operation: '*', errorType: 'ConnectionReset', rate: 0.1 }];
    expect(await admin('POST', 'faults', { faults: replaced })).toEqual({
      status: 200,
      body: { faults: replaced },
    });
    expect(await admin('DELETE', 'faults')).toEqual({ status: 200, body: { faults: [] } });

    const badDomain = await admin('PUT', 'faults', {
      faults: [{ operation: '*', errorType: 'LostAnswer', rate: 1, domainName: 'Not_A_Domain' }],
    });
    expect(badDomain.status).toBe(400);
    expect(badDomain.body.message).toMatch(/faults\[0\]\.domainName/);
    const unscopable = await admin('PUT', 'faults', {
      faults: [{ operation: 'ListDomainNames', errorType: 'LostAnswer', rate: 1, packageId: 'F111111111' }],
    });
    expect(unscopable.status).toBe(400);
    expect(unscopable.body.message).toMatch(/ListDomainNames names no package[\s\S]*faults\[0\]\.packageId/);
    expect(await admin('GET', 'faults')).toEqual({ status: 200, body: { faults: [] } });
  });

  it('refuses a malformed domainName or packageId, or a scope the operation cannot have, naming the field', () => {
    expect(() =>
      createOpenSearchEmulator({
        faults: [{ operation: 'AssociatePackage', errorType: 'LostAnswer', rate: 1, packageId: 'nope' }],
      }),
    ).toThrow(/must be a package id[\s\S]*packageId/);
    expect(() =>
      createOpenSearchEmulator({
        faults: [
          { operation: 'ListDomainsForPackage', errorType: 'LostAnswer', rate: 1, domainName: 'orders-logs' },
        ],
      }),
    ).toThrow(InvalidEmulatorConfigError);
    expect(() =>
      createOpenSearchEmulator({
        faults: [
          { operation: 'ListDomainsForPackage', errorType: 'LostAnswer', rate: 1, domainName: 'orders-logs' },
        ],
      }),
    ).toThrow(/ListDomainsForPackage names no domain[\s\S]*domainName/);
  });
});
