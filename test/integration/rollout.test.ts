import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListPackagesForDomainCommand, OpenSearchClient } from '@aws-sdk/client-opensearch';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { dynamoDbLedger, type Ledger } from '../../src/adapters/ledger.ts';
import { childKey, type RolloutRecord, rolloutRecordId } from '../../src/domain/rollout.ts';
import {
  eventsIn,
  type ReceivedEvent,
  startTestStack,
  type TestStack,
  testSeed,
} from '../helpers/local-stack.ts';

// Rollouts end to end (docs/DESIGN.md, "Rollouts"): the rollout message on the requests queue, its children
// through both functions, the events on the subscriber queue and the domains' listings in the emulator. Every
// test owns its own domains (`orders-1*`, `orders-2*`, ...), so the rollouts run at once on one stack.

const PACKAGE_ID = 'F9001';
const TARGET_VERSION = 'v1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** `orders-<n>` and `orders-<n>0` to `orders-<n>9`: what the pattern `orders-<n>*` matches among 45 domains. */
const family = (n: number) => [`orders-${n}`, ...Array.from({ length: 10 }, (_, i) => `orders-${n}${i}`)];

const isRolloutEvent = (event: ReceivedEvent) => event['detail-type'].startsWith('PackageRollout');
const isDecision = (event: ReceivedEvent) =>
  /^PackageAssociation(Succeeded|Failed)$/.test(event['detail-type']);

/** An event as a subscriber tells it apart: its type, and the wave it names. */
const label = (event: ReceivedEvent) =>
  event['detail-type'] === 'PackageRolloutWaveCompleted'
    ? `WaveCompleted ${String(event.detail.wave)}`
    : event['detail-type'].replace('PackageRollout', '');

describe.concurrent('rollouts end to end, through the local stack', () => {
  let test: TestStack;
  let openSearch: OpenSearchClient;
  let dynamo: DynamoDBClient;
  let ledger: Ledger;

  beforeAll(async () => {
    test = await startTestStack({ seed: testSeed(45, 2), associationDelayMs: 300, randomSeed: 13 });
    const client = { endpoint: test.stack.endpoint, region: test.stack.region, credentials };
    openSearch = new OpenSearchClient(client);
    dynamo = new DynamoDBClient(client);
    ledger = dynamoDbLedger(dynamo, test.stack.tableName);
  });

  afterAll(async () => {
    openSearch?.destroy();
    dynamo?.destroy();
    await test?.stop();
  });

  const rolloutEventsOf = (rolloutId: string) =>
    eventsIn(test.events).filter((event) => isRolloutEvent(event) && event.detail.rolloutId === rolloutId);

  /** Sends the rollout, then resolves with its events once one of them ends it. */
  async function rollout(rolloutId: string, fields: Record<string, unknown>): Promise<ReceivedEvent[]> {
    await test.send({ action: 'rollout', packageId: PACKAGE_ID, idempotencyKey: rolloutId, ...fields });
    return ended(rolloutId);
  }

  const ended = (rolloutId: string) =>
    test.events.waitFor(
      () => {
        const events = rolloutEventsOf(rolloutId);
        return events.some((event) => /Completed$|Halted$/.test(label(event))) ? events : undefined;
      },
      30_000,
      `the end of rollout ${rolloutId}`,
    );

  /** One label per distinct eventId, in the order first seen; copies of one eventId must be the same event. */
  function distinctEvents(events: ReceivedEvent[]): string[] {
    const byId = new Map<string, ReceivedEvent>();
    for (const event of events) {
      const id = String(event.detail.eventId);
      const seen = byId.get(id);
      if (seen !== undefined && JSON.stringify(seen.detail) !== JSON.stringify(event.detail)) {
        throw new Error(`eventId ${id} was published with two different details`);
      }
      byId.set(id, seen ?? event);
    }
    return [...byId.values()].map(label);
  }

  /** The children's decisions, one entry per eventId: [domain, type]. */
  const decisionsOf = (rolloutId: string) => {
    const byId = new Map<string, [string, string]>();
    for (const event of eventsIn(test.events)) {
      if (!isDecision(event) || event.detail.rolloutId !== rolloutId) continue;
      byId.set(String(event.detail.eventId), [String(event.detail.domainName), event['detail-type']]);
    }
    return [...byId.values()].sort(([a], [b]) => a.localeCompare(b));
  };

  const childEventsOn = (domains: string[]) =>
    eventsIn(test.events).filter((event) => domains.includes(String(event.detail.domainName)));

  const listing = async (domainName: string) =>
    (await openSearch.send(new ListPackagesForDomainCommand({ DomainName: domainName })))
      .DomainPackageDetailsList ?? [];

  const statusOn = async (domainName: string) => {
    const entry = (await listing(domainName)).find((detail) => detail.PackageID === PACKAGE_ID);
    return `${entry?.DomainPackageStatus ?? 'absent'} ${entry?.PackageVersion ?? ''}`.trim();
  };

  const failOn = (domainName: string) =>
    test.stack.openSearch.setDomainPackageFailures(domainName, PACKAGE_ID, {
      association: { ErrorType: 'PluginInstallationFailed', ErrorMessage: 'injected by the test' },
    });

  it('takes a pattern wave by wave to Completed: every domain ACTIVE at the target, one decision each', async ({
    expect,
  }) => {
    const domains = family(1);
    const events = await rollout('rollout-complete', {
      domains: ['orders-1*'],
      strategy: { canary: 1, waveSize: 5 },
    });

    expect(distinctEvents(events)).toEqual([
      'Started',
      'WaveCompleted 0',
      'WaveCompleted 1',
      'WaveCompleted 2',
      'Completed',
    ]);
    const completed = events.find((event) => label(event) === 'Completed');
    expect(completed?.detail).toMatchObject({
      packageVersion: TARGET_VERSION,
      domains: [...domains].sort(),
      counts: { pending: 0, running: 0, succeeded: domains.length, failed: 0 },
    });
    expect(decisionsOf('rollout-complete')).toEqual(
      [...domains].sort().map((domain) => [domain, 'PackageAssociationSucceeded']),
    );
    expect(await Promise.all(domains.map(statusOn))).toEqual(domains.map(() => `ACTIVE ${TARGET_VERSION}`));
  });

  it('halts when the canary fails: no child of a later wave is ever accepted or announced', async ({
    expect,
  }) => {
    const [canary = '', ...later] = family(2);
    failOn(canary);
    const events = await rollout('rollout-halt', {
      domains: ['orders-2*'],
      strategy: { canary: 1, waveSize: 5 },
    });

    expect(distinctEvents(events)).toEqual(['Started', 'WaveCompleted 0', 'Halted']);
    const halted = events.find((event) => label(event) === 'Halted');
    expect(halted?.detail).toMatchObject({
      counts: { pending: later.length, running: 0, succeeded: 0, failed: 1 },
      outcomes: { [canary]: { state: 'FAILED' } },
    });
    expect(decisionsOf('rollout-halt')).toEqual([[canary, 'PackageAssociationFailed']]);
    // Time for a later wave's child to be accepted, were one sent.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const records = await Promise.all(
      later.map((domain) => ledger.get(`request#${childKey('rollout-halt', domain)}`)),
    );
    expect(records.filter((record) => record !== undefined)).toEqual([]);
    expect(childEventsOn(later)).toEqual([]);
    expect(await Promise.all(later.map(statusOn))).toEqual(later.map(() => 'absent'));
    expect(((await ledger.get(rolloutRecordId('rollout-halt'))) as RolloutRecord | undefined)?.state).toBe(
      'HALTED',
    );
  });

  it('with maxFailures 1 tolerates one failed domain and completes the others', async ({ expect }) => {
    const domains = family(3);
    const failing = 'orders-31';
    failOn(failing);
    const events = await rollout('rollout-tolerant', {
      domains: ['orders-3*'],
      strategy: { canary: 1, waveSize: 5, maxFailures: 1 },
    });

    expect(distinctEvents(events).at(-1)).toBe('Completed');
    expect(events.at(-1)?.detail).toMatchObject({
      counts: { pending: 0, running: 0, succeeded: domains.length - 1, failed: 1 },
      outcomes: { [failing]: { state: 'FAILED' } },
    });
    const others = domains.filter((domain) => domain !== failing);
    expect(await Promise.all(others.map(statusOn))).toEqual(others.map(() => `ACTIVE ${TARGET_VERSION}`));
    expect(decisionsOf('rollout-tolerant')).toHaveLength(domains.length);
  });

  it('makes one rollout of a message sent twice at once, and of a copy sent after it ended', async ({
    expect,
  }) => {
    const domains = ['orders-4', ...Array.from({ length: 6 }, (_, i) => `orders-4${i}`)];
    const message = {
      action: 'rollout',
      packageId: PACKAGE_ID,
      domains: ['orders-4*'],
      strategy: { canary: 1, waveSize: 3 },
      idempotencyKey: 'rollout-twice',
    };
    await Promise.all([test.send(message), test.send(message)]);
    await ended('rollout-twice');
    await test.send(message);
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    expect(distinctEvents(rolloutEventsOf('rollout-twice'))).toEqual([
      'Started',
      'WaveCompleted 0',
      'WaveCompleted 1',
      'WaveCompleted 2',
      'Completed',
    ]);
    expect(decisionsOf('rollout-twice')).toEqual(
      [...domains].sort().map((domain) => [domain, 'PackageAssociationSucceeded']),
    );
    expect(test.deadLetters.messages).toEqual([]);
  });
});
