import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  AssociatePackageCommand,
  DescribePackagesCommand,
  ListDomainNamesCommand,
  ListPackagesForDomainCommand,
} from '@aws-sdk/client-opensearch';
import type { SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { lambdaContext, sqsEvent, sqsRecord } from '../helpers/factories.ts';
import {
  AVAILABLE_VERSION,
  acceptAllEvents,
  awsError,
  handlerUnderTest,
  publishedEvents,
  sentTo,
} from '../helpers/handler-harness.ts';

// Rollouts (docs/DESIGN.md, "Rollouts"), driven through the associate handler: the rollout message, then its
// children as the requests queue would deliver them, wave by wave.

const harness = handlerUnderTest(() => import('../../src/handlers/associate-package.ts'));
const { env: ENV, openSearch, sqs, eventBridge } = harness;

type Record = ReturnType<typeof sqsRecord>;
const invoke = (...records: Record[]) =>
  harness.module().handler(sqsEvent(records), lambdaContext()) as Promise<SQSBatchResponse>;

const ACCOUNT_DOMAINS = ['catalog-search', 'orders-a', 'orders-b', 'orders-c', 'orders-d', 'orders-e'];

function accountHas(domains = ACCOUNT_DOMAINS) {
  openSearch
    .on(ListDomainNamesCommand)
    .resolves({ DomainNames: domains.map((DomainName) => ({ DomainName })) });
}

/** Every association answers ACTIVE at once, except on the domains named: those fail for good. */
function associationsEnd(failing: string[] = []) {
  openSearch.on(AssociatePackageCommand).callsFake((input: { DomainName: string; PackageID: string }) => {
    if (failing.includes(input.DomainName)) throw awsError('ValidationException', 'plugin incompatible', 400);
    return {
      DomainPackageDetails: {
        DomainName: input.DomainName,
        PackageID: input.PackageID,
        PackageVersion: AVAILABLE_VERSION,
        DomainPackageStatus: 'ACTIVE',
      },
    };
  });
}

const rollout = (fields: object = {}) =>
  sqsRecord({
    action: 'rollout',
    packageId: 'F7',
    domains: ['orders-*'],
    idempotencyKey: 'synonyms-v1',
    ...fields,
  });

/** The child bodies sent so far; `drive` delivers each once, as the requests queue would, until none is new. */
async function drive(): Promise<string[]> {
  const delivered = new Set<string>();
  for (;;) {
    const fresh = sentTo(sqs, ENV.REQUESTS_QUEUE_URL)
      .map((input) => input.MessageBody ?? '')
      .filter((body) => !delivered.has(body));
    if (fresh.length === 0) return [...delivered];
    for (const body of fresh) delivered.add(body);
    await invoke(...fresh.map((body) => sqsRecord(body)));
  }
}

const rolloutEvents = () =>
  publishedEvents(eventBridge).filter((event) => event.DetailType?.startsWith('PackageRollout'));
const rolloutTypes = () =>
  rolloutEvents().map((event) =>
    event.DetailType === 'PackageRolloutWaveCompleted'
      ? `WaveCompleted ${event.Detail.wave}`
      : event.DetailType,
  );
const childDecisions = () =>
  publishedEvents(eventBridge)
    .filter(
      (event) =>
        event.DetailType === 'PackageAssociationSucceeded' || event.DetailType === 'PackageAssociationFailed',
    )
    .map((event) => [event.Detail.domainName, event.DetailType, event.Detail.rolloutId]);

describe('rollouts', () => {
  it('resolves a pattern in name order, runs the canary first, then waves, and completes', async () => {
    accountHas();
    associationsEnd();

    expect(await invoke(rollout({ strategy: { canary: 1, waveSize: 2 } }))).toEqual({
      batchItemFailures: [],
    });
    const [started] = rolloutEvents();
    expect(started?.Detail).toMatchObject({
      rolloutId: 'synonyms-v1',
      packageVersion: AVAILABLE_VERSION,
      domains: ['orders-a', 'orders-b', 'orders-c', 'orders-d', 'orders-e'],
      waves: [['orders-a'], ['orders-b', 'orders-c'], ['orders-d', 'orders-e']],
    });
    // Only the canary's child is sent before the canary has its decision.
    expect(sentTo(sqs, ENV.REQUESTS_QUEUE_URL).map((input) => JSON.parse(input.MessageBody ?? '{}'))).toEqual(
      [
        {
          action: 'associate',
          domainName: 'orders-a',
          packageId: 'F7',
          packageVersion: AVAILABLE_VERSION,
          idempotencyKey: 'synonyms-v1/orders-a',
          correlationId: 'synonyms-v1',
          rolloutId: 'synonyms-v1',
        },
      ],
    );

    await drive();

    expect(rolloutTypes()).toEqual([
      'PackageRolloutStarted',
      'WaveCompleted 0',
      'WaveCompleted 1',
      'WaveCompleted 2',
      'PackageRolloutCompleted',
    ]);
    expect(childDecisions().sort()).toEqual(
      ['orders-a', 'orders-b', 'orders-c', 'orders-d', 'orders-e'].map((domain) => [
        domain,
        'PackageAssociationSucceeded',
        'synonyms-v1',
      ]),
    );
    expect(rolloutEvents().at(-1)?.Detail.counts).toEqual({
      pending: 0,
      running: 0,
      succeeded: 5,
      failed: 0,
    });
  });

  it('halts when the canary fails: the canary wave is announced, no later wave starts, nothing is dead-lettered', async () => {
    accountHas();
    associationsEnd(['orders-a']);

    await invoke(rollout());
    await drive();

    expect(rolloutTypes()).toEqual(['PackageRolloutStarted', 'WaveCompleted 0', 'PackageRolloutHalted']);
    expect(sentTo(sqs, ENV.REQUESTS_QUEUE_URL)).toHaveLength(1);
    expect(childDecisions()).toEqual([['orders-a', 'PackageAssociationFailed', 'synonyms-v1']]);
    expect(rolloutEvents().at(-1)?.Detail.outcomes).toMatchObject({
      'orders-a': { state: 'FAILED', code: 'ValidationException' },
      'orders-b': { state: 'PENDING' },
    });
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([]);
  });

  it('tolerates as many failures as maxFailures allows, and halts on the next', async () => {
    accountHas();
    associationsEnd(['orders-b']);
    await invoke(rollout({ strategy: { maxFailures: 1, waveSize: 2 } }));
    await drive();
    expect(rolloutTypes().at(-1)).toBe('PackageRolloutCompleted');
    expect(rolloutEvents().at(-1)?.Detail.counts).toEqual({
      pending: 0,
      running: 0,
      succeeded: 4,
      failed: 1,
    });
  });

  it('halts after the wave in which failures pass maxFailures, letting that wave finish', async () => {
    accountHas();
    associationsEnd(['orders-b', 'orders-c']);
    await invoke(rollout({ strategy: { maxFailures: 1, waveSize: 2 } }));
    await drive();
    expect(rolloutTypes()).toEqual([
      'PackageRolloutStarted',
      'WaveCompleted 0',
      'WaveCompleted 1',
      'PackageRolloutHalted',
    ]);
    expect(rolloutEvents().at(-1)?.Detail.counts).toEqual({
      pending: 2,
      running: 0,
      succeeded: 1,
      failed: 2,
    });
  });

  it('succeeds a domain already at the target version without an AWS operation', async () => {
    accountHas();
    associationsEnd();
    openSearch.on(ListPackagesForDomainCommand, { DomainName: 'orders-a' }).resolves({
      DomainPackageDetailsList: [
        { PackageID: 'F7', DomainPackageStatus: 'ACTIVE', PackageVersion: AVAILABLE_VERSION },
      ],
    });

    await invoke(rollout({ domains: ['orders-a', 'orders-b'] }));
    await drive();

    const associated = openSearch
      .commandCalls(AssociatePackageCommand)
      .map((call) => call.args[0].input.DomainName);
    expect(associated).toEqual(['orders-b']);
    expect(rolloutTypes().at(-1)).toBe('PackageRolloutCompleted');
  });

  it('rejects a pattern that matches nothing, naming it, with its dead letter', async () => {
    accountHas();
    const record = rollout({ domains: ['orders-a', 'billing-*'] });

    await invoke(record);

    expect(publishedEvents(eventBridge).map((event) => [event.DetailType, event.Detail.error])).toEqual([
      ['PackageRequestRejected', { code: 'InvalidRequest', message: 'domains: billing-* matches no domain' }],
    ]);
    expect(sentTo(sqs, ENV.DLQ_URL).map((letter) => letter.MessageBody)).toEqual([record.body]);
    expect(sentTo(sqs, ENV.REQUESTS_QUEUE_URL)).toEqual([]);
  });

  it('rejects a rollout whose patterns resolve to more domains than its record can hold, naming the count', async () => {
    const many = Array.from({ length: 501 }, (_, index) => `orders-${String(index).padStart(3, '0')}`);
    accountHas(many);
    const record = rollout({ domains: ['orders-*'] });

    await invoke(record);

    expect(publishedEvents(eventBridge).map((event) => event.Detail.error)).toEqual([
      {
        code: 'InvalidRequest',
        message: 'domains: resolve to 501 domains; a rollout takes at most 500, so split it into several',
      },
    ]);
    expect(sentTo(sqs, ENV.DLQ_URL).map((letter) => letter.MessageBody)).toEqual([record.body]);
    expect(sentTo(sqs, ENV.REQUESTS_QUEUE_URL)).toEqual([]);
  });

  it('rejects the whole rollout when a resolved domain is off the allow-list, naming every such domain', async () => {
    accountHas([...ACCOUNT_DOMAINS, 'hr-private', 'hr-public']);

    await invoke(rollout({ domains: ['orders-a', 'hr-*'] }));

    expect(publishedEvents(eventBridge).map((event) => event.Detail.error)).toEqual([
      {
        code: 'DomainNotAllowed',
        message: 'domains: hr-private, hr-public are not in the allow-list of this service',
      },
    ]);
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(0);
  });

  it('is idempotent: a redelivered rollout message starts nothing again and announces nothing', async () => {
    accountHas();
    associationsEnd();
    const record = rollout();
    await invoke(record);
    const afterFirst = publishedEvents(eventBridge).length;

    expect(
      await invoke({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }),
    ).toEqual({
      batchItemFailures: [],
    });
    expect(publishedEvents(eventBridge)).toHaveLength(afterFirst);
    expect(sentTo(sqs, ENV.REQUESTS_QUEUE_URL)).toHaveLength(1);
    expect(openSearch.commandCalls(ListDomainNamesCommand)).toHaveLength(1);
  });

  it('two children finishing at the same moment complete their wave once, with both counted', async () => {
    accountHas();
    associationsEnd();
    await invoke(
      rollout({ strategy: { canary: 0, waveSize: 3 }, domains: ['orders-a', 'orders-b', 'orders-c'] }),
    );
    const children = sentTo(sqs, ENV.REQUESTS_QUEUE_URL).map((input) => sqsRecord(input.MessageBody ?? ''));
    expect(children).toHaveLength(3);

    // One batch, processed in parallel: the three advances race on the rollout record.
    expect(await invoke(...children)).toEqual({ batchItemFailures: [] });

    expect(rolloutTypes()).toEqual(['PackageRolloutStarted', 'WaveCompleted 0', 'PackageRolloutCompleted']);
    expect(rolloutEvents().at(-1)?.Detail.counts).toEqual({
      pending: 0,
      running: 0,
      succeeded: 3,
      failed: 0,
    });
  });

  it('a whole wave of children decided in one batch completes it in that batch, none deferred by a lost race', async () => {
    const domains = Array.from({ length: 10 }, (_, index) => `orders-${String(index).padStart(2, '0')}`);
    accountHas(domains);
    associationsEnd();
    await invoke(rollout({ strategy: { canary: 0, waveSize: 10 } }));
    const children = sentTo(sqs, ENV.REQUESTS_QUEUE_URL).map((input) => sqsRecord(input.MessageBody ?? ''));
    expect(children).toHaveLength(10);

    // Ten advances of one rollout record at once, as a batch processed in parallel makes them.
    expect(await invoke(...children)).toEqual({ batchItemFailures: [] });

    expect(rolloutTypes()).toEqual(['PackageRolloutStarted', 'WaveCompleted 0', 'PackageRolloutCompleted']);
    expect(rolloutEvents().at(-1)?.Detail.counts).toMatchObject({ succeeded: 10, failed: 0 });
  });

  it("resumes a rollout whose child was decided but crashed before the rollout's update", async () => {
    accountHas();
    associationsEnd();
    await invoke(rollout({ domains: ['orders-a', 'orders-b'] }));
    const [canary] = sentTo(sqs, ENV.REQUESTS_QUEUE_URL).map((input) => sqsRecord(input.MessageBody ?? ''));
    if (canary === undefined) throw new Error('no canary child was sent');

    // The child's decision is written; announcing it fails, so the invocation ends before the rollout moves.
    eventBridge.on(PutEventsCommand).rejects(awsError('InternalException', 'bus down', 500));
    expect((await invoke(canary)).batchItemFailures).toHaveLength(1);
    expect(rolloutTypes()).toEqual(['PackageRolloutStarted']);
    expect(sentTo(sqs, ENV.REQUESTS_QUEUE_URL)).toHaveLength(1);

    acceptAllEvents(eventBridge);
    expect(
      await invoke({ ...canary, attributes: { ...canary.attributes, ApproximateReceiveCount: '2' } }),
    ).toEqual({
      batchItemFailures: [],
    });
    expect(rolloutTypes()).toEqual(['PackageRolloutStarted', 'WaveCompleted 0']);
    expect(sentTo(sqs, ENV.REQUESTS_QUEUE_URL)).toHaveLength(2);
    await drive();
    expect(rolloutTypes().at(-1)).toBe('PackageRolloutCompleted');
    // The refused publication and the one after it carry one eventId: one decision for the canary.
    const canaryDecisions = publishedEvents(eventBridge).filter(
      (event) => event.DetailType === 'PackageAssociationSucceeded' && event.Detail.domainName === 'orders-a',
    );
    expect(new Set(canaryDecisions.map((event) => event.Detail.eventId)).size).toBe(1);
  });

  it('pins the available version at acceptance for every child', async () => {
    accountHas();
    associationsEnd();
    openSearch.on(DescribePackagesCommand).resolves({
      PackageDetailsList: [{ PackageID: 'F7', PackageStatus: 'AVAILABLE', AvailablePackageVersion: 'v9' }],
    });
    await invoke(rollout({ domains: ['orders-a', 'orders-b'] }));
    expect(rolloutEvents()[0]?.Detail.packageVersion).toBe('v9');
    expect(JSON.parse(sentTo(sqs, ENV.REQUESTS_QUEUE_URL)[0]?.MessageBody ?? '{}').packageVersion).toBe('v9');
  });

  it('rejects a rollout body that breaks a rule, naming the field', async () => {
    await invoke(rollout({ strategy: { canary: 1, waves: 3 } }));
    const events: PutEventsRequestEntry[] = eventBridge
      .commandCalls(PutEventsCommand)
      .flatMap((call) => call.args[0].input.Entries ?? []);
    expect(JSON.parse(events[0]?.Detail ?? '{}').error).toEqual({
      code: 'InvalidRequest',
      message: 'strategy.waves: is not a known field',
    });
  });
});
