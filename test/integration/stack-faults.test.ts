import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsFor, startTestStack, type TestStack, testSeed } from '../helpers/local-stack.ts';

const NO_RUNNER_FAULTS = {
  associatePackage: { crashRate: 0, timeoutRate: 0 },
  trackAssociation: { crashRate: 0, timeoutRate: 0 },
};

describe('the local stack: the /_emulator/ fault routes of every part, on the one endpoint', () => {
  let test: TestStack;

  beforeAll(async () => {
    // `dynamoDbFaults: []` routes the handlers' own DynamoDB calls through the fault route.
    test = await startTestStack({
      seed: testSeed(4, 8),
      associationDelayMs: 300,
      randomSeed: 5,
      dynamoDbFaults: [],
    });
  });

  afterAll(async () => {
    await test.stop();
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${test.stack.endpoint}/_emulator/${path}`, {
      method,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('reads the faults of OpenSearch, EventBridge, DynamoDB and the Lambda runners', async () => {
    expect(await admin('GET', 'opensearch/faults')).toEqual({ status: 200, body: { faults: [] } });
    expect(await admin('GET', 'events/faults')).toEqual({
      status: 200,
      body: { entryFailureRate: 0, throttleRate: 0, latencyMs: 0 },
    });
    expect(await admin('GET', 'dynamodb/faults')).toEqual({ status: 200, body: { faults: [] } });
    expect(await admin('GET', 'lambda/faults')).toEqual({ status: 200, body: NO_RUNNER_FAULTS });
    expect(await admin('GET', 'lambda/nothing')).toMatchObject({ status: 404 });
  });

  it('sets the runners’ crash and timeout rates per function, and refuses bad ones naming the field', async () => {
    const [associateRunner, trackRunner] = test.stack.runners;
    expect(await admin('PUT', 'lambda/faults', { associatePackage: { crashRate: 0.5 } })).toEqual({
      status: 200,
      body: { ...NO_RUNNER_FAULTS, associatePackage: { crashRate: 0.5, timeoutRate: 0 } },
    });
    // Only the named function and rates change.
    expect(await admin('POST', 'lambda/faults', { trackAssociation: { timeoutRate: 0.25 } })).toEqual({
      status: 200,
      body: {
        associatePackage: { crashRate: 0.5, timeoutRate: 0 },
        trackAssociation: { crashRate: 0, timeoutRate: 0.25 },
      },
    });
    expect(associateRunner?.faultRates()).toEqual({ crashRate: 0.5, timeoutRate: 0 });
    expect(trackRunner?.faultRates()).toEqual({ crashRate: 0, timeoutRate: 0.25 });

    const refused: [unknown, RegExp][] = [
      [{ associatePackage: { crashRate: 2 } }, /associatePackage\.crashRate/],
      [
        { associatePackage: { timeoutRate: 0.6 } },
        /associatePackage: crashRate \+ timeoutRate must be at most 1/,
      ],
      [{ associatePackage: { crashes: 1 } }, /crashes/],
      [{ sendEmail: { crashRate: 1 } }, /sendEmail/],
    ];
    for (const [body, message] of refused) {
      const answer = await admin('PUT', 'lambda/faults', body);
      expect(answer.status).toBe(400);
      expect(answer.body.message).toMatch(message);
    }
    // A refused change, even with a valid part, changes nothing.
    expect(
      (
        await admin('PUT', 'lambda/faults', {
          trackAssociation: { crashRate: 0.1 },
          associatePackage: { crashRate: 3 },
        })
      ).status,
    ).toBe(400);
    expect(trackRunner?.faultRates()).toEqual({ crashRate: 0, timeoutRate: 0.25 });

    expect(await admin('DELETE', 'lambda/faults')).toEqual({ status: 200, body: NO_RUNNER_FAULTS });
    expect(associateRunner?.faultRates()).toEqual({ crashRate: 0, timeoutRate: 0 });
  });

  it('crashes the handler while the rate is set; cleared, the request is handled and deleted', async () => {
    const dynamoCallsBefore = test.stack.dynamoDb.stats().calls;
    await admin('PUT', 'lambda/faults', { associatePackage: { crashRate: 1 } });
    const messageId = await test.send({ domainName: 'orders-1', packageId: 'F9001' });

    await test.events.waitFor(
      () => ((test.stack.runners[0]?.stats().injectedCrashes ?? 0) >= 1 ? true : undefined),
      15_000,
      'an injected crash',
    );
    const stats = await admin('GET', 'lambda/stats');
    // More than one if the batch came back (visibility timeout 3 s) before the next line ran.
    const associateStats = stats.body.associatePackage as { injectedCrashes: number; errors: number };
    expect(associateStats).toMatchObject({ injectedTimeouts: 0, ok: 0 });
    expect(associateStats.injectedCrashes).toBeGreaterThanOrEqual(1);
    expect(associateStats.errors).toBe(associateStats.injectedCrashes);
    expect(stats.body.trackAssociation).toMatchObject({ injectedCrashes: 0 });
    await admin('DELETE', 'lambda/faults');

    await test.events.waitFor(
      () => {
        const queue = test.stack.sqs.inspectQueue('package-associator-requests')?.messages;
        const left = queue ? queue.ready.length + queue.delayed.length + queue.inflight.length : 1;
        return left === 0 && (test.stack.runners[0]?.stats().ok ?? 0) >= 1 ? true : undefined;
      },
      15_000,
      'the request handled and deleted after the crash rate was cleared',
    );
    expect(eventsFor(test.events, messageId).map((event) => event['detail-type'])).toContain(
      'PackageAssociationStarted',
    );
    // The handlers' DynamoDB calls went through the fault route, where rules set at run time would reach them.
    const dynamo = (await admin('GET', 'dynamodb/stats')).body as { calls: number; faultsInjected: number };
    expect(dynamo.calls).toBeGreaterThan(dynamoCallsBefore);
    expect(dynamo.faultsInjected).toBe(0);
  });
});
