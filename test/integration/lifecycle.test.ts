import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreatePackageCommand,
  DescribeDomainCommand,
  DescribePackagesCommand,
  type DomainPackageDetails,
  ListPackagesForDomainCommand,
  OpenSearchClient,
  type PackageDetails,
  UpdatePackageCommand,
} from '@aws-sdk/client-opensearch';
import type { Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { SeedData } from '../../local/opensearch/index.ts';
import type { LocalStackOptions } from '../../local/stack.ts';
import { dynamoDbLedger } from '../../src/adapters/ledger.ts';
import {
  eventsFor,
  type ReceivedEvent,
  startTestStack,
  type TestStack,
  testSeed,
} from '../helpers/local-stack.ts';
import { type OpenSearchRecorder, startOpenSearchRecorder } from '../helpers/opensearch-recorder.ts';

const ASSOCIATION_DELAY_MS = 500;
/** A blue/green deployment twice as long as a dictionary may run: only the plugin deadline lets it finish. */
const PLUGIN_DELAY_MS = 6_000;
const DICTIONARY_DEADLINE_SECONDS = 3;
const PLUGIN_ID = 'pkg-0a1b2c3d4e';
/** AVAILABLE at v2, with v1 in its history: a request for v1 can never be met. */
const VERSIONED_ID = 'F9100';
const SOURCE = { S3BucketName: 'search-packages' };

function lifecycleSeed(): SeedData {
  const base = testSeed(9, 6);
  return {
    ...base,
    packages: [
      ...base.packages,
      {
        PackageID: PLUGIN_ID,
        PackageName: 'catalog-ranking-plugin',
        PackageType: 'ZIP-PLUGIN',
        PackageStatus: 'AVAILABLE',
        AvailablePackageVersion: '2025.06.1',
        EngineVersion: 'OpenSearch_2.17',
        CreatedAt: '2026-01-01T00:00:00Z',
      },
      {
        PackageID: VERSIONED_ID,
        PackageName: 'dictionary-9100',
        PackageType: 'TXT-DICTIONARY',
        PackageStatus: 'AVAILABLE',
        AvailablePackageVersion: 'v2',
        CreatedAt: '2026-01-01T00:00:00Z',
        LastUpdatedAt: '2026-02-01T00:00:00Z',
      },
    ],
    associations: [
      { DomainName: 'orders-3', PackageID: 'F9001' },
      { DomainName: 'orders-4', PackageID: 'F9002' },
    ],
  };
}

const types = (events: ReceivedEvent[]) => events.map((event) => event['detail-type']);
const isDecision = (event: ReceivedEvent) => /(Succeeded|Failed)$/.test(event['detail-type']);
const occurredAt = (event: ReceivedEvent | undefined) => Date.parse(String(event?.detail.occurredAt));

async function poll<T>(read: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface LifecycleStack {
  test: TestStack;
  recorder: OpenSearchRecorder;
  openSearch: OpenSearchClient;
  stop(): Promise<void>;
}

/**
 * A local stack whose handlers' OpenSearch calls pass through a recorder (which tells them apart by domain),
 * and on which the emulator lets package operations on one domain overlap: it would refuse overlapping
 * dictionary operations by itself, so with that off only the service's domain lock keeps them apart.
 */
async function startLifecycleStack(options: LocalStackOptions): Promise<LifecycleStack> {
  const recorder = await startOpenSearchRecorder();
  const test = await startTestStack({
    ...options,
    handlerEnvironment: { ...options.handlerEnvironment, AWS_ENDPOINT_URL_OPENSEARCH: recorder.url },
  });
  recorder.forwardTo(test.stack.endpoint);
  test.stack.openSearch.configure({ conflictOnConcurrentOperations: false });
  const openSearch = new OpenSearchClient({
    endpoint: test.stack.endpoint,
    region: test.stack.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return {
    test,
    recorder,
    openSearch,
    async stop() {
      openSearch.destroy();
      await test.stop();
      await recorder.close();
    },
  };
}

/** The stack's request ledger, read as the service reads it. */
function ledgerOf(test: TestStack) {
  const client = new DynamoDBClient({
    endpoint: test.stack.endpoint,
    region: test.stack.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return dynamoDbLedger(client, test.stack.tableName);
}

/** Sends a request under a fresh key and resolves with its events once it is decided. */
async function decided(
  test: TestStack,
  body: Record<string, unknown>,
  timeoutMs = 15_000,
): Promise<ReceivedEvent[]> {
  const idempotencyKey = `lifecycle-${randomUUID()}`;
  await test.send({ ...body, idempotencyKey });
  return test.events.waitFor(
    () => {
      const events = eventsFor(test.events, idempotencyKey);
      return events.some(isDecision) ? events : undefined;
    },
    timeoutMs,
    `the decision of ${JSON.stringify(body)}`,
  );
}

describe.concurrent('the package lifecycle end to end, through the local stack', () => {
  let local: LifecycleStack;
  let test: TestStack;
  let openSearch: OpenSearchClient;

  beforeAll(async () => {
    local = await startLifecycleStack({
      seed: lifecycleSeed(),
      associationDelayMs: ASSOCIATION_DELAY_MS,
      pluginAssociationDelayMs: PLUGIN_DELAY_MS,
      packageCopyMs: 300,
      packageValidationMs: 300,
      randomSeed: 12,
      handlerEnvironment: { TRACKING_DEADLINE_SECONDS: String(DICTIONARY_DEADLINE_SECONDS) },
    });
    ({ test, openSearch } = local);
  });

  afterAll(async () => {
    await local.stop();
  });

  const describePackage = async (packageId: string): Promise<PackageDetails | undefined> =>
    (
      await openSearch.send(
        new DescribePackagesCommand({ Filters: [{ Name: 'PackageID', Value: [packageId] }] }),
      )
    ).PackageDetailsList?.[0];

  const availableAt = (packageId: string, version: string) =>
    poll(
      async () => {
        const pkg = await describePackage(packageId);
        return pkg?.PackageStatus === 'AVAILABLE' && pkg.AvailablePackageVersion === version
          ? pkg
          : undefined;
      },
      10_000,
      `${packageId} AVAILABLE at ${version}`,
    );

  const listing = async (domainName: string): Promise<DomainPackageDetails[]> =>
    (await openSearch.send(new ListPackagesForDomainCommand({ DomainName: domainName })))
      .DomainPackageDetailsList ?? [];

  const callsOn = (operation: 'AssociatePackage' | 'DissociatePackage', domainName: string) =>
    local.recorder.calls({ operation, domainName });

  const deadLetterFor = (key: string): Promise<Message> =>
    test.deadLetters.waitFor(
      () => test.deadLetters.messages.find((message) => message.Body?.includes(key)),
      5_000,
      `the dead letter of ${key}`,
    );

  it('takes a created package to a domain, then its update by associating again; a domain already at it is left alone', async ({
    expect,
  }) => {
    const { PackageDetails: created } = await openSearch.send(
      new CreatePackageCommand({
        PackageName: 'lifecycle-synonyms',
        PackageType: 'TXT-DICTIONARY',
        PackageSource: { ...SOURCE, S3Key: 'synonyms/v1.txt' },
      }),
    );
    const packageId = created?.PackageID ?? '';
    expect(created?.PackageStatus).toBe('COPYING');
    await availableAt(packageId, 'v1');

    const first = await decided(test, { domainName: 'orders-1', packageId });
    expect(types(first)).toEqual(['PackageAssociationStarted', 'PackageAssociationSucceeded']);
    expect(first[1]?.detail).toMatchObject({ status: 'ACTIVE', packageVersion: 'v1', targetVersion: 'v1' });

    await openSearch.send(
      new UpdatePackageCommand({
        PackageID: packageId,
        PackageSource: { ...SOURCE, S3Key: 'synonyms/v2.txt' },
      }),
    );
    await availableAt(packageId, 'v2');
    const [again, otherDomain] = await Promise.all([
      decided(test, { domainName: 'orders-1', packageId }),
      decided(test, { domainName: 'orders-2', packageId }),
    ]);
    for (const events of [again, otherDomain]) {
      expect(types(events)).toEqual(['PackageAssociationStarted', 'PackageAssociationSucceeded']);
      expect(events[1]?.detail).toMatchObject({
        status: 'ACTIVE',
        packageVersion: 'v2',
        targetVersion: 'v2',
      });
    }
    expect((await listing('orders-1')).find((details) => details.PackageID === packageId)).toMatchObject({
      DomainPackageStatus: 'ACTIVE',
      PackageVersion: 'v2',
    });
    expect(callsOn('AssociatePackage', 'orders-1')).toHaveLength(2);

    const alreadyThere = await decided(test, { domainName: 'orders-2', packageId });
    expect(types(alreadyThere)).toEqual(['PackageAssociationSucceeded']);
    expect(alreadyThere[0]?.detail).toMatchObject({ status: 'ACTIVE', packageVersion: 'v2' });
    // One operation on orders-2: the request for a domain already at v2 made none (a call AWS refuses as
    // "already in desired state" is no operation; the emulator counts those that took effect).
    expect(test.stack.openSearch.operationsByPair()[`orders-2/${packageId}`]).toBe(1);
  });

  it('follows a dissociation until the domain no longer lists the package', async ({ expect }) => {
    const events = await decided(test, { action: 'dissociate', domainName: 'orders-3', packageId: 'F9001' });

    expect(types(events)).toEqual(['PackageDissociationStarted', 'PackageDissociationSucceeded']);
    expect(events[0]?.detail).toMatchObject({ status: 'DISSOCIATING', packageName: 'dictionary-9001' });
    expect((await listing('orders-3')).map((details) => details.PackageID)).not.toContain('F9001');
    expect(callsOn('DissociatePackage', 'orders-3')).toHaveLength(1);
  });

  it('announces a failed dissociation with the domain’s error details', async ({ expect }) => {
    const injected = await fetch(
      `${test.stack.endpoint}/_emulator/opensearch/domains/orders-4/packages/F9002`,
      {
        method: 'PUT',
        body: JSON.stringify({
          failDissociation: { ErrorType: 'DissociationFailed', ErrorMessage: 'Used by the index products' },
        }),
      },
    );
    expect(injected.status).toBe(200);

    const events = await decided(test, { action: 'dissociate', domainName: 'orders-4', packageId: 'F9002' });

    expect(types(events)).toEqual(['PackageDissociationStarted', 'PackageDissociationFailed']);
    expect(events[1]?.detail).toMatchObject({
      status: 'DISSOCIATION_FAILED',
      error: {
        code: 'DissociationFailed',
        message: 'The domain reported DISSOCIATION_FAILED: Used by the index products',
        retryable: false,
      },
      errorDetails: { errorType: 'DissociationFailed', errorMessage: 'Used by the index products' },
    });
  });

  it('succeeds at once, without DissociatePackage, when the package is not on the domain', async ({
    expect,
  }) => {
    const events = await decided(test, { action: 'dissociate', domainName: 'orders-5', packageId: 'F9003' });

    expect(types(events)).toEqual(['PackageDissociationSucceeded']);
    expect(callsOn('DissociatePackage', 'orders-5')).toEqual([]);
  });

  it('lets a plugin’s blue/green deployment run past the dictionaries’ deadline', async ({ expect }) => {
    const events = await decided(test, { domainName: 'orders-6', packageId: PLUGIN_ID }, 25_000);

    expect(types(events)).toEqual(['PackageAssociationStarted', 'PackageAssociationSucceeded']);
    expect(events[1]?.detail).toMatchObject({
      status: 'ACTIVE',
      packageType: 'ZIP-PLUGIN',
      packageVersion: '2025.06.1',
    });
    const ranFor = occurredAt(events[1]) - occurredAt(events[0]);
    expect(ranFor).toBeGreaterThan(DICTIONARY_DEADLINE_SECONDS * 1000);
    const { DomainStatus } = await openSearch.send(new DescribeDomainCommand({ DomainName: 'orders-6' }));
    expect(DomainStatus?.Processing).toBe(false);
  });

  it('fails a request for a version older than the available one, with no operation and a dead letter', async ({
    expect,
  }) => {
    const events = await decided(test, {
      domainName: 'orders-7',
      packageId: VERSIONED_ID,
      packageVersion: 'v1',
    });

    expect(types(events)).toEqual(['PackageAssociationFailed']);
    expect(events[0]?.detail.error).toMatchObject({ code: 'PackageNotUsable', retryable: false });
    const deadLetter = await deadLetterFor(String(events[0]?.detail.idempotencyKey));
    expect(deadLetter.MessageAttributes?.ReasonCode?.StringValue).toBe('PackageNotUsable');
    expect(callsOn('AssociatePackage', 'orders-7')).toEqual([]);
  });

  it('waits while a new package is copied and validated, and fails it once validation fails', async ({
    expect,
  }) => {
    const { PackageDetails: created } = await openSearch.send(
      new CreatePackageCommand({
        PackageName: 'broken-synonyms',
        PackageType: 'TXT-DICTIONARY',
        PackageSource: { ...SOURCE, S3Key: 'synonyms/invalid.txt' },
      }),
    );
    const packageId = created?.PackageID ?? '';

    const events = await decided(test, { domainName: 'orders-8', packageId });

    expect(types(events)).toEqual(['PackageAssociationFailed']);
    expect(events[0]?.detail.error).toMatchObject({
      code: 'PackageNotUsable',
      message: `${packageId} is VALIDATION_FAILED`,
    });
    expect((await describePackage(packageId))?.PackageStatus).toBe('VALIDATION_FAILED');
    const deadLetter = await deadLetterFor(String(events[0]?.detail.idempotencyKey));
    expect(deadLetter.MessageAttributes?.ReasonCode?.StringValue).toBe('PackageNotUsable');
    expect(callsOn('AssociatePackage', 'orders-8')).toEqual([]);
  });

  it('associates the current version after waiting for a busy domain while the package was updated', async ({
    expect,
  }) => {
    const processing = await fetch(`${test.stack.endpoint}/_emulator/opensearch/domains/orders-9`, {
      method: 'PUT',
      body: JSON.stringify({ processingForMs: 4_000 }),
    });
    expect(processing.status).toBe(200);
    const outcome = decided(test, { domainName: 'orders-9', packageId: 'F9004' });
    // The request has read the package at v1 (DescribePackages comes before DescribeDomain) and is waiting.
    await test.events.waitFor(
      () => local.recorder.calls({ operation: 'DescribeDomain', domainName: 'orders-9' })[0],
      5_000,
      'the request to find the domain processing',
    );
    await openSearch.send(
      new UpdatePackageCommand({
        PackageID: 'F9004',
        PackageSource: { ...SOURCE, S3Key: 'synonyms/9004-v2.txt' },
      }),
    );
    await availableAt('F9004', 'v2');

    const events = await outcome;

    // No version named: "the current one", which AssociatePackage applies; v1 was never made durable by `pin`.
    expect(types(events)).toEqual(['PackageAssociationStarted', 'PackageAssociationSucceeded']);
    expect(events[1]?.detail).toMatchObject({ status: 'ACTIVE', packageVersion: 'v2', targetVersion: 'v2' });
  });
});

// Concurrent with the suite above: the two stacks run side by side.
describe.concurrent('two requests for one domain, through the local stack', () => {
  /**
   * The emulator reports a domain Processing while any operation runs on it, which makes the second request
   * wait (DomainProcessing) before the lock is ever asked. A slow AssociatePackage answer opens the window
   * the lock alone covers: the first holds the lock and is calling, nothing runs on the domain yet, and the
   * second request reads a domain that looks free.
   */
  const CALL_LATENCY_MS = 2_500;
  let local: LifecycleStack;

  beforeAll(async () => {
    local = await startLifecycleStack({
      seed: testSeed(1, 2),
      associationDelayMs: 2_000,
      randomSeed: 13,
    });
    local.test.stack.openSearch.setLatency({ AssociatePackage: CALL_LATENCY_MS });
  });

  afterAll(async () => {
    await local.stop();
  });

  it('runs them one after the other: the second calls only after the first is decided', async ({
    expect,
  }) => {
    const { test, recorder } = local;
    const calls = () => recorder.calls({ operation: 'AssociatePackage', domainName: 'orders-1' });
    let mostAtOnce = 0;
    const watching = setInterval(() => {
      const running = test.stack.openSearch
        .state()
        .associations.filter((a) => a.DomainName === 'orders-1' && a.DomainPackageStatus === 'ASSOCIATING');
      mostAtOnce = Math.max(mostAtOnce, running.length);
    }, 25);
    let outcomes: ReceivedEvent[][];
    try {
      const first = decided(test, { domainName: 'orders-1', packageId: 'F9001' }, 20_000);
      // In another invocation than the first, while the first's call is in flight.
      await test.events.waitFor(() => calls()[0], 5_000, 'the first AssociatePackage');
      outcomes = await Promise.all([
        first,
        decided(test, { domainName: 'orders-1', packageId: 'F9002' }, 20_000),
      ]);
    } finally {
      clearInterval(watching);
    }

    for (const events of outcomes) {
      expect(types(events)).toEqual(['PackageAssociationStarted', 'PackageAssociationSucceeded']);
    }
    const [earlier, later] = calls();
    expect([earlier?.packageId, later?.packageId]).toEqual(['F9001', 'F9002']);
    // The second request was accepted while the first's call was in flight, and waited on the lock alone: it
    // asked AWS nothing about the domain until the first was decided.
    const secondKey = String(outcomes[1]?.[0]?.detail.idempotencyKey);
    const second = await ledgerOf(test).get(`request#${secondKey}`);
    expect(second?.kind === 'request' && second.acceptedAt).toBeLessThan(earlier?.answeredAt ?? 0);
    const firstDecidedAt = occurredAt(outcomes[0]?.[1]);
    // Only the second would ask DescribeDomain once the first's call was out (the tracker reads listings).
    const looksMeanwhile = recorder
      .calls({ operation: 'DescribeDomain', domainName: 'orders-1' })
      .filter((call) => call.sentAt > (earlier?.sentAt ?? 0) && call.sentAt < firstDecidedAt);
    expect(looksMeanwhile).toEqual([]);
    expect(later?.sentAt).toBeGreaterThan(firstDecidedAt);
    expect(mostAtOnce).toBe(1);
  });
});
