import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventsFor,
  type ReceivedEvent,
  startTestStack,
  type TestStack,
  testSeed,
} from '../helpers/local-stack.ts';

const ASSOCIATION_DELAY_MS = 500;

describe('following associations to their end, through the local stack', () => {
  let test: TestStack;

  beforeAll(async () => {
    test = await startTestStack({
      seed: testSeed(10, 10),
      associationDelayMs: ASSOCIATION_DELAY_MS,
      randomSeed: 21,
      // Short enough to see a timeout within the test, long enough for the other associations to finish.
      handlerEnvironment: { TRACKING_DEADLINE_SECONDS: '6' },
    });
  });

  afterAll(async () => {
    await test.stop();
  });

  const terminal = (key: string) => {
    const events = eventsFor(test.events, key);
    return events.some((event) => event['detail-type'] !== 'PackageAssociationStarted') ? events : undefined;
  };
  const types = (events: ReceivedEvent[]) => events.map((event) => event['detail-type']);

  it('announces Started, then Succeeded once the domain reports ACTIVE', async () => {
    const key = await test.send({ domainName: 'orders-1', packageId: 'F9001' });

    const events = await test.events.waitFor(() => terminal(key), 15_000, 'the terminal event');

    expect(types(events)).toEqual(['PackageAssociationStarted', 'PackageAssociationSucceeded']);
    expect(events[1]?.detail).toMatchObject({
      status: 'ACTIVE',
      packageName: 'dictionary-9001',
      packageType: 'TXT-DICTIONARY',
      packageVersion: 'v1',
    });
    expect(test.stack.openSearch.getDomainPackageStatus('orders-1', 'F9001')).toBe('ACTIVE');
  });

  it('announces Failed with the AWS error details when the association fails on the domain', async () => {
    const key = await test.send({ domainName: 'orders-2', packageId: 'pkg-5f6e7d8c9b' });

    const events = await test.events.waitFor(() => terminal(key), 15_000, 'the terminal event');

    expect(types(events)).toEqual(['PackageAssociationStarted', 'PackageAssociationFailed']);
    expect(events[1]?.detail).toMatchObject({
      status: 'ASSOCIATION_FAILED',
      error: {
        code: 'AssociationFailed',
        message: 'The domain reported ASSOCIATION_FAILED: Plugin is not compatible',
        retryable: false,
      },
      errorDetails: { errorType: 'PluginInstallationFailed', errorMessage: 'Plugin is not compatible' },
    });
  });

  it('keeps checking through ListPackagesForDomain throttling', async () => {
    test.stack.openSearch.setFaults([
      { operation: 'ListPackagesForDomain', errorType: 'ThrottlingException', rate: 0.6 },
    ]);
    const before = test.stack.openSearch.callCounts().ListPackagesForDomain.failed;
    try {
      const key = await test.send({ domainName: 'orders-3', packageId: 'F9003' });
      const events = await test.events.waitFor(() => terminal(key), 20_000, 'the terminal event');

      expect(types(events)).toEqual(['PackageAssociationStarted', 'PackageAssociationSucceeded']);
      expect(test.stack.openSearch.callCounts().ListPackagesForDomain.failed - before).toBeGreaterThan(0);
    } finally {
      test.stack.openSearch.setFaults([]);
    }
  });

  it('times out an association still ASSOCIATING at the deadline', async () => {
    test.stack.openSearch.configure({ associationDelayMs: 600_000 });
    try {
      const key = await test.send({ domainName: 'orders-4', packageId: 'F9004' });
      const events = await test.events.waitFor(() => terminal(key), 20_000, 'the terminal event');

      expect(types(events)).toEqual(['PackageAssociationStarted', 'PackageAssociationFailed']);
      expect(events[1]?.detail.error).toMatchObject({ code: 'TimedOut', retryable: true });
      expect(test.stack.openSearch.getDomainPackageStatus('orders-4', 'F9004')).toBe('ASSOCIATING');
    } finally {
      test.stack.openSearch.configure({ associationDelayMs: ASSOCIATION_DELAY_MS });
    }
  });

  it('does not follow a request whose package was already ACTIVE', async () => {
    const first = await test.send({ domainName: 'orders-5', packageId: 'F9005' });
    await test.events.waitFor(() => terminal(first), 15_000, 'the first association to end');
    const trackedBefore = test.stack.runners[1]?.stats().receivedMessages ?? 0;

    const again = await test.send({ domainName: 'orders-5', packageId: 'F9005' });
    const events = await test.events.waitFor(() => terminal(again), 15_000, 'the second request to end');

    expect(types(events)).toEqual(['PackageAssociationSucceeded']);
    expect(test.stack.runners[1]?.stats().receivedMessages).toBe(trackedBefore);
  });
});
