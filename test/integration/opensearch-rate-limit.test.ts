import {
  AssociatePackageCommand,
  DescribeDomainCommand,
  ListDomainNamesCommand,
  OpenSearchClient,
  ThrottlingException,
} from '@aws-sdk/client-opensearch';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EMULATOR_ADMIN_PREFIX,
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

interface Retried {
  errorType: string | undefined;
}

/**
 * A retry strategy that retries nothing and writes down how the SDK's retry middleware classified each
 * error: what the standard and adaptive strategies decide on (THROTTLING slows the adaptive one down).
 */
function recordingStrategy(seen: Retried[]) {
  return {
    mode: 'standard',
    acquireInitialRetryToken: async () => ({ getRetryCount: () => 0, getRetryDelay: () => 0 }),
    refreshRetryTokenForRetry: async (_token: unknown, errorInfo: { errorType?: string }) => {
      seen.push({ errorType: errorInfo.errorType });
      throw new Error('no retries in this test');
    },
    recordSuccess: () => undefined,
  };
}

describe('OpenSearch emulator: rate limit', () => {
  let servers: OpenSearchEmulatorServer[] = [];
  let clients: OpenSearchClient[] = [];

  const start = async (options: OpenSearchEmulatorServerOptions = {}, seen?: Retried[]) => {
    const server = await startOpenSearchEmulatorServer(options);
    servers.push(server);
    const client = new OpenSearchClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      ...(seen === undefined ? { maxAttempts: 1 } : { retryStrategy: recordingStrategy(seen) }),
    });
    clients.push(client);
    const call = () => rejectionOf(client.send(new ListDomainNamesCommand({})));
    const admin = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${EMULATOR_ADMIN_PREFIX}${path}`, {
        method,
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    return { server, client, call, admin };
  };

  /** A clock the test moves by hand, so refills happen exactly when it says. */
  const manualClock = () => {
    const clock = { at: START, now: () => clock.at };
    return clock;
  };

  afterEach(async () => {
    for (const client of clients) client.destroy();
    await Promise.all(servers.map((server) => server.close()));
    servers = [];
    clients = [];
  });

  it('is off by default: a hundred calls at once all run', async () => {
    const { client, server } = await start();
    const results = await Promise.all(
      Array.from({ length: 100 }, () => rejectionOf(client.send(new ListDomainNamesCommand({})))),
    );
    expect(results.filter((result) => result !== undefined)).toEqual([]);
    expect(server.emulator.state().rateLimit).toBeNull();
    expect(server.emulator.callCounts().ListDomainNames).toEqual({
      calls: 100,
      succeeded: 100,
      failed: 0,
      throttled: 0,
    });
  });

  it('lets a burst through, then answers ThrottlingException as AWS does: HTTP 400, "Rate exceeded"', async () => {
    const clock = manualClock();
    const { call, server } = await start({ now: clock.now, rateLimit: { callsPerSecond: 2, burst: 3 } });
    expect([await call(), await call(), await call()]).toEqual([undefined, undefined, undefined]);

    const error = await call();
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(error).toMatchObject({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    const raw = await fetch(`${server.url}/2021-01-01/domain`);
    expect(raw.status).toBe(400);
    expect(raw.headers.get('x-amzn-errortype')).toBe(
      'ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/',
    );
    expect(await raw.json()).toEqual({
      __type: 'com.amazon.coral.availability#ThrottlingException',
      message: 'Rate exceeded',
    });
    expect(server.emulator.callCounts().ListDomainNames).toEqual({
      calls: 5,
      succeeded: 3,
      failed: 0,
      throttled: 2,
    });
  });

  it('refills at the rate, never above the burst', async () => {
    const clock = manualClock();
    const { call } = await start({ now: clock.now, rateLimit: { callsPerSecond: 2, burst: 3 } });
    for (let index = 0; index < 3; index += 1) await call();
    clock.at += 499;
    expect(await call()).toBeInstanceOf(ThrottlingException);
    clock.at += 1;
    expect(await call()).toBeUndefined();
    expect(await call()).toBeInstanceOf(ThrottlingException);

    clock.at += 60_000;
    const afterIdle = [await call(), await call(), await call(), await call()];
    expect(afterIdle.map((result) => result === undefined)).toEqual([true, true, true, false]);
  });

  it('holds the rate on the real clock: never more than the burst and callsPerSecond a second', async () => {
    const { call, server } = await start({ rateLimit: { callsPerSecond: 20, burst: 1 } });
    const began = performance.now();
    while (performance.now() - began < 500) await call();
    const elapsedSeconds = (performance.now() - began) / 1000;
    const { calls, succeeded } = server.emulator.callCounts().ListDomainNames;
    // However fast or slow the machine makes the calls: one token at the start, then one every 50 ms.
    expect(succeeded).toBeLessThanOrEqual(Math.ceil(1 + 20 * elapsedSeconds));
    expect(succeeded).toBeGreaterThanOrEqual(Math.min(calls, 2));
  });

  it('is classified THROTTLING by the SDK retry middleware, though AWS sends it as a 400', async () => {
    const seen: Retried[] = [];
    const clock = manualClock();
    const { client } = await start({ now: clock.now, rateLimit: { callsPerSecond: 1, burst: 1 } }, seen);
    await client.send(new ListDomainNamesCommand({}));
    const throttled = await rejectionOf(
      client.send(new DescribeDomainCommand({ DomainName: 'orders-logs' })),
    );
    expect(throttled).toBeInstanceOf(ThrottlingException);

    clock.at += 1000;
    // Another 400 for comparison: a ValidationException is a client error, not retried at all.
    const refused = await rejectionOf(client.send(new DescribeDomainCommand({ DomainName: 'No_Such' })));
    expect(refused).toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect(seen).toEqual([{ errorType: 'THROTTLING' }, { errorType: 'CLIENT_ERROR' }]);
  });

  it('refuses a call before it runs: a throttled AssociatePackage associates nothing', async () => {
    const clock = manualClock();
    const { client, server } = await start({ now: clock.now, rateLimit: { callsPerSecond: 1, burst: 1 } });
    await client.send(new ListDomainNamesCommand({}));
    const error = await rejectionOf(
      client.send(new AssociatePackageCommand({ DomainName: 'catalog-search', PackageID: 'F111111111' })),
    );
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(server.emulator.getDomainPackageStatus('catalog-search', 'F111111111')).toBeUndefined();
    expect(server.emulator.callCounts().AssociatePackage).toMatchObject({ calls: 1, throttled: 1 });
  });

  it('is set, read and switched off through POST /_emulator/opensearch/config, and reset restores it', async () => {
    const clock = manualClock();
    const { admin, call } = await start({ now: clock.now, rateLimit: { callsPerSecond: 5 } });
    expect((await admin('GET', 'state')).body.rateLimit).toEqual({ callsPerSecond: 5, burst: 5 });

    const set = await admin('POST', 'config', { rateLimit: { callsPerSecond: 0.5 } });
    expect(set.body.rateLimit).toEqual({ callsPerSecond: 0.5, burst: 1 });
    expect([await call(), await call()].map((result) => result === undefined)).toEqual([true, false]);

    const off = await admin('POST', 'config', { rateLimit: null });
    expect(off.body.rateLimit).toBeNull();
    expect([await call(), await call(), await call()]).toEqual([undefined, undefined, undefined]);

    const reset = await admin('POST', 'reset');
    expect(reset.body.rateLimit).toEqual({ callsPerSecond: 5, burst: 5 });
  });

  it('refuses a rate or burst out of range, naming the field', async () => {
    const { admin } = await start();
    const zero = await admin('POST', 'config', { rateLimit: { callsPerSecond: 0 } });
    expect(zero.status).toBe(400);
    expect(zero.body.message).toContain('rateLimit.callsPerSecond');
    const burst = await admin('POST', 'config', { rateLimit: { callsPerSecond: 1, burst: 0.5 } });
    expect(burst.status).toBe(400);
    expect(burst.body.message).toContain('rateLimit.burst');
    await expect(startOpenSearchEmulatorServer({ rateLimit: { callsPerSecond: -1 } })).rejects.toThrow(
      /callsPerSecond/,
    );
  });
});
