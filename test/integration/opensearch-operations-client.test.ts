import { AssociatePackageCommand, OpenSearchClient, ThrottlingException } from '@aws-sdk/client-opensearch';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EMULATOR_ADMIN_PREFIX,
  type OpenSearchEmulatorServer,
  startOpenSearchEmulatorServer,
} from '../../local/opensearch/index.ts';
import { operationsRetryStrategy } from '../../src/adapters/clients.ts';

const DOMAIN = 'catalog-search';
const PACKAGE = 'G555555555';
const PAIR = `${DOMAIN}/${PACKAGE}`;

/** What a call rejected with; fails the test if it resolved. */
async function rejectionOf(call: Promise<unknown>): Promise<Error & { $metadata?: { attempts?: number } }> {
  return call.then(
    () => {
      throw new Error('the call was expected to fail');
    },
    (error: Error) => error,
  );
}

/**
 * The soak's double operation, at the one step it happens: an association that fails at once (as a broken
 * plugin may), its answer lost to a reset connection. A retry by the SDK finds the package failed and starts it
 * again; the operations client hands the error back after the one attempt, for the listing to be read.
 */
describe('the OpenSearch client for package operations', () => {
  let server: OpenSearchEmulatorServer | undefined;
  let client: OpenSearchClient | undefined;

  const start = async (errorType: string, retryStrategy?: ReturnType<typeof operationsRetryStrategy>) => {
    server = await startOpenSearchEmulatorServer({
      associationDelayMs: 0,
      faults: [{ operation: 'AssociatePackage', errorType, rate: 1, domainName: DOMAIN, packageId: PACKAGE }],
    });
    const failed = await fetch(`${server.url}${EMULATOR_ADMIN_PREFIX}domains/${DOMAIN}/packages/${PACKAGE}`, {
      method: 'PUT',
      body: JSON.stringify({ failAssociation: true }),
    });
    expect(failed.status).toBe(200);
    client = new OpenSearchClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      ...(retryStrategy !== undefined && { retryStrategy }),
    });
    return { server, client };
  };
  const associate = (opensearch: OpenSearchClient) =>
    opensearch.send(new AssociatePackageCommand({ DomainName: DOMAIN, PackageID: PACKAGE }));

  afterEach(async () => {
    client?.destroy();
    await server?.close();
    server = undefined;
    client = undefined;
  });

  it('with the SDK default, a lost answer is retried into a second operation on a failed package', async () => {
    const stack = await start('LostAnswer');
    const error = await rejectionOf(associate(stack.client));
    expect(error.$metadata?.attempts).toBe(3);
    expect(stack.server.emulator.operationsByPair()[PAIR]).toBe(3);
  });

  it('makes one attempt when the answer is lost, so one operation ran', async () => {
    const stack = await start('LostAnswer', operationsRetryStrategy());
    const error = await rejectionOf(associate(stack.client));
    expect(error).toMatchObject({ code: 'ECONNRESET' });
    expect(error.$metadata?.attempts).toBe(1);
    expect(stack.server.emulator.operationsByPair()[PAIR]).toBe(1);
  });

  it('still retries a throttle, which AWS answers before doing anything', async () => {
    const stack = await start('ThrottlingException', operationsRetryStrategy());
    const error = await rejectionOf(associate(stack.client));
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(error.$metadata?.attempts).toBe(3);
    expect(stack.server.emulator.callCounts().AssociatePackage?.calls).toBe(3);
    expect(stack.server.emulator.operationsByPair()[PAIR] ?? 0).toBe(0);
  });
});
