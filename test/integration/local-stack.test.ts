import { randomUUID } from 'node:crypto';
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventsFor,
  type ReceivedEvent,
  startTestStack,
  type TestStack,
  testSeed,
} from '../helpers/local-stack.ts';

const queueIsEmpty = (stack: TestStack['stack'], name: string) => {
  const queue = stack.sqs.inspectQueue(name);
  const { ready, delayed, inflight } = queue?.messages ?? { ready: [1], delayed: [], inflight: [] };
  return ready.length + delayed.length + inflight.length === 0 ? true : undefined;
};

function only(events: ReceivedEvent[], detailType: string): ReceivedEvent | undefined {
  const matching = events.filter((event) => event['detail-type'] === detailType);
  return matching.length === 1 ? matching[0] : undefined;
}

describe('the local stack, through real SDK clients over HTTP', () => {
  let test: TestStack;

  beforeAll(async () => {
    test = await startTestStack({ seed: testSeed(10, 40), associationDelayMs: 300, randomSeed: 7 });
  });

  afterAll(async () => {
    await test.stop();
  });

  it('turns a request into a Started event while the emulator reports the package ACTIVE', async () => {
    const messageId = await test.send({ domainName: 'orders-1', packageId: 'F9001', requestedBy: 'itest' });

    const started = await test.events.waitFor(
      () => only(eventsFor(test.events, messageId), 'PackageAssociationStarted'),
      15_000,
      'the Started event',
    );
    expect(started.detail).toMatchObject({
      domainName: 'orders-1',
      packageId: 'F9001',
      status: 'ASSOCIATING',
      packageName: 'dictionary-9001',
      requestedBy: 'itest',
      attempt: 1,
    });
    await test.events.waitFor(
      () =>
        test.stack.openSearch.getDomainPackageStatus('orders-1', 'F9001') === 'ACTIVE' ? true : undefined,
      5_000,
      'the emulator to report ACTIVE',
    );
  });

  it('makes one AWS call for a request sent twice', async () => {
    const before = test.stack.openSearch.callCounts().AssociatePackage.calls;
    const idempotencyKey = `dup-${randomUUID()}`;
    const body = { domainName: 'orders-2', packageId: 'F9002', idempotencyKey };

    await test.send(body);
    await test.send(body);
    await test.events.waitFor(
      () => only(eventsFor(test.events, idempotencyKey), 'PackageAssociationStarted'),
      15_000,
      'the Started event',
    );
    await test.events.waitFor(
      () => queueIsEmpty(test.stack, 'package-associator-requests'),
      15_000,
      'both handled',
    );

    expect(test.stack.openSearch.callCounts().AssociatePackage.calls - before).toBe(1);
    expect(
      eventsFor(test.events, idempotencyKey).filter((e) => e['detail-type'] === 'PackageAssociationStarted'),
    ).toHaveLength(1);
  });

  it('puts an invalid body in the DLQ with its reason, byte for byte, and announces the failure', async () => {
    const body = '{"domainName":"orders-3","packageId":"F9003","colour":"blue"}';
    const messageId = await test.send(body);

    const deadLetter = await test.deadLetters.waitFor(
      () =>
        test.deadLetters.messages.find(
          (message) => message.MessageAttributes?.SourceMessageId?.StringValue === messageId,
        ),
      15_000,
      'the dead letter',
    );
    expect(deadLetter.Body).toBe(body);
    expect(deadLetter.MessageAttributes?.ReasonCode?.StringValue).toBe('InvalidRequest');
    expect(deadLetter.MessageAttributes?.ErrorMessage?.StringValue).toBe('colour: is not a known field');
    const rejected = await test.events.waitFor(
      () => only(eventsFor(test.events, messageId), 'PackageRequestRejected'),
      5_000,
      'the Rejected event',
    );
    expect(rejected.detail.error).toEqual({
      code: 'InvalidRequest',
      message: 'colour: is not a known field',
    });
    expect(rejected.detail.messageId).toBe(messageId);
  });

  it('retries injected faults until the request succeeds', async () => {
    test.stack.openSearch.setFaults([
      { operation: 'AssociatePackage', errorType: 'ThrottlingException', rate: 1 },
    ]);
    const before = test.stack.openSearch.callCounts().AssociatePackage;
    const messageId = await test.send({ domainName: 'orders-4', packageId: 'F9004' });
    // More throttled calls than the SDK's own three tries inside one invocation: the record itself was retried.
    await test.events.waitFor(
      () =>
        test.stack.openSearch.callCounts().AssociatePackage.failed - before.failed >= 4 ? true : undefined,
      20_000,
      'throttled attempts in two deliveries',
    );
    test.stack.openSearch.setFaults([]);

    const started = await test.events.waitFor(
      () => only(eventsFor(test.events, messageId), 'PackageAssociationStarted'),
      15_000,
      'the Started event after the retries',
    );
    expect(Number(started.detail.attempt)).toBeGreaterThanOrEqual(2);
    expect(test.stack.openSearch.callCounts().AssociatePackage.succeeded - before.succeeded).toBe(1);
  });

  it('configures the requests queue as serverless.yml does', () => {
    const attributes = test.stack.sqs.inspectQueue('package-associator-requests')?.attributes;
    expect(attributes?.MaximumMessageSize).toBe('253952');
    expect(JSON.parse(attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 50 });
    expect(test.stack.maxAttempts).toBe(40);
  });

  it('delivers to the events queue through an ordinary rule that ListRules shows', async () => {
    const events = new EventBridgeClient({
      endpoint: test.stack.endpoint,
      region: test.stack.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const { Rules } = await events.send(new ListRulesCommand({ EventBusName: test.stack.busName }));
    expect(Rules).toEqual([
      expect.objectContaining({
        Name: 'package-association-events-to-queue',
        Arn: `arn:aws:events:us-east-1:000000000000:rule/${test.stack.busName}/package-association-events-to-queue`,
        EventPattern: '{"source":["package-associator"]}',
        State: 'ENABLED',
      }),
    ]);
    const { Targets } = await events.send(
      new ListTargetsByRuleCommand({ Rule: Rules?.[0]?.Name, EventBusName: test.stack.busName }),
    );
    expect(Targets).toEqual([
      { Id: 'events-queue', Arn: 'arn:aws:sqs:us-east-1:000000000000:package-association-events' },
    ]);
    events.destroy();
  });

  it('answers the AWS CLI on the one endpoint', async () => {
    const { execFile } = await import('node:child_process');
    const run = (args: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          'aws',
          ['--endpoint-url', test.stack.endpoint, '--output', 'json', ...args],
          {
            env: {
              ...process.env,
              AWS_ACCESS_KEY_ID: 'test',
              AWS_SECRET_ACCESS_KEY: 'test',
              AWS_DEFAULT_REGION: 'us-east-1',
            },
          },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        ),
      );
    const queues = JSON.parse(await run(['sqs', 'list-queues'])) as { QueueUrls: string[] };
    expect(queues.QueueUrls).toContain(test.stack.queueUrls.requests);
    const domains = JSON.parse(await run(['opensearch', 'list-domain-names'])) as {
      DomainNames: { DomainName: string }[];
    };
    expect(domains.DomainNames.map((domain) => domain.DomainName)).toContain('orders-10');
  });
});

describe('the local stack when handlers crash mid-batch', () => {
  let test: TestStack;
  let crashes = 0;

  beforeAll(async () => {
    test = await startTestStack({
      seed: testSeed(20, 1),
      associationDelayMs: 60_000,
      runnerCrashRate: 0.4,
      randomSeed: 5,
      onInvoke: (report) => {
        if (report.injectedFault === 'crash') crashes += 1;
      },
    });
  });

  afterAll(async () => {
    await test.stop();
  });

  it('loses nothing and announces each request exactly once', async () => {
    const keys = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        test.send({ domainName: `orders-${index + 1}`, packageId: 'F9001' }),
      ),
    );

    await test.events.waitFor(
      () =>
        keys.every((key) => only(eventsFor(test.events, key), 'PackageAssociationStarted'))
          ? true
          : undefined,
      40_000,
      'one Started event per request',
    );
    const drained = await test.events
      .waitFor(() => queueIsEmpty(test.stack, 'package-associator-requests'), 30_000, 'a drained queue')
      .catch(() => JSON.stringify(test.stack.sqs.inspectQueue('package-associator-requests')?.messages));
    expect(drained).toBe(true);

    expect(crashes).toBeGreaterThan(0);
    for (const key of keys) {
      expect(eventsFor(test.events, key).map((event) => event['detail-type'])).toEqual([
        'PackageAssociationStarted',
      ]);
    }
    expect(test.stack.openSearch.callCounts().AssociatePackage.succeeded).toBe(20);
    expect(test.deadLetters.messages).toEqual([]);
  });
});
