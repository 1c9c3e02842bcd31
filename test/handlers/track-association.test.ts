import { randomUUID } from 'node:crypto';
import {
  AssociatePackageCommand,
  AssociatePackagesCommand,
  ListPackagesForDomainCommand,
} from '@aws-sdk/client-opensearch';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { ACCOUNT, lambdaContext, REGION, sqsEvent, sqsRecord } from '../helpers/factories.ts';
import {
  AVAILABLE_VERSION,
  awsError,
  deadLetterAttributes,
  handlerUnderTest,
  NOW,
  packagesAvailable,
  publishedEvents,
  QUEUE_BASE,
  sentTo,
} from '../helpers/handler-harness.ts';

const harness = handlerUnderTest(async () => ({
  associate: (await import('../../src/handlers/associate-package.ts')).handler,
  track: (await import('../../src/handlers/track-association.ts')).handler,
}));
const { env: ENV, openSearch, sqs, eventBridge } = harness;

const TRACKING_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:package-associator-tracking`;
const trackingRecord = (body: unknown, receiveCount = 1) => ({
  ...sqsRecord(body, { receiveCount }),
  eventSourceARN: TRACKING_ARN,
});
const invokeTracker = (...records: ReturnType<typeof sqsRecord>[]) =>
  harness
    .module()
    .track(
      sqsEvent(records),
      lambdaContext('package-associator-test-trackAssociation'),
    ) as Promise<SQSBatchResponse>;

function domainReports(
  ...details: { PackageID: string; DomainPackageStatus: string; [key: string]: unknown }[]
) {
  openSearch.on(ListPackagesForDomainCommand).resolves({ DomainPackageDetailsList: details as never });
}

/** A request accepted by the associate handler (AWS answered ASSOCIATING), and the tracking message it sent. */
/** Each on a domain of its own: a followed request holds its domain's lock until its decision. */
async function followed(packageId = 'F1', domainName = `orders-${randomUUID().slice(0, 8)}`) {
  openSearch.on(AssociatePackageCommand).resolves({
    DomainPackageDetails: {
      DomainName: domainName,
      PackageID: packageId,
      DomainPackageStatus: 'ASSOCIATING',
    },
  });
  const idempotencyKey = `track-${randomUUID()}`;
  const request = sqsRecord({
    domainName,
    packageId,
    idempotencyKey,
    correlationId: 'corr-1',
    requestedBy: 'team-a',
  });
  await harness.module().associate(sqsEvent([request]), lambdaContext());
  const sent = sentTo(sqs, ENV.TRACKING_QUEUE_URL).find((input) =>
    input.MessageBody?.includes(idempotencyKey),
  );
  if (sent?.MessageBody === undefined) throw new Error('the associate handler sent no tracking message');
  openSearch.reset();
  packagesAvailable(openSearch);
  eventBridge.resetHistory();
  sqs.resetHistory();
  return {
    idempotencyKey,
    body: JSON.parse(sent.MessageBody) as { idempotencyKey: string; incarnation: string },
  };
}

const terminal = () =>
  publishedEvents(eventBridge)
    .filter((event) => event.DetailType !== 'PackageAssociationStarted')
    .map((event) => [event.DetailType, event.Detail.error]);

describe('track-association handler', () => {
  it('announces Succeeded with what AWS reports once the package is ACTIVE, read from the ledger', async () => {
    const { idempotencyKey, body } = await followed('F1', 'catalog-search');
    domainReports({
      PackageID: 'F1',
      PackageName: 'synonyms',
      PackageType: 'TXT-DICTIONARY',
      PackageVersion: AVAILABLE_VERSION,
      ReferencePath: 'analyzers/F1',
      DomainPackageStatus: 'ACTIVE',
    });

    expect(await invokeTracker(trackingRecord(body))).toEqual({ batchItemFailures: [] });

    expect(publishedEvents(eventBridge)).toEqual([
      {
        EventBusName: ENV.EVENT_BUS_NAME,
        Source: 'package-associator',
        DetailType: 'PackageAssociationSucceeded',
        Resources: [`arn:aws:es:${REGION}:${ACCOUNT}:domain/catalog-search`],
        Time: NOW,
        Detail: {
          eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          action: 'associate',
          idempotencyKey,
          correlationId: 'corr-1',
          domainName: 'catalog-search',
          packageId: 'F1',
          status: 'ACTIVE',
          packageName: 'synonyms',
          packageType: 'TXT-DICTIONARY',
          packageVersion: AVAILABLE_VERSION,
          targetVersion: AVAILABLE_VERSION,
          referencePath: 'analyzers/F1',
          attempt: 1,
          requestedBy: 'team-a',
          occurredAt: NOW.toISOString(),
        },
      },
    ]);
  });

  it('checks again with the same message, later, while the package is still ASSOCIATING', async () => {
    const { body } = await followed();
    domainReports({ PackageID: 'F1', DomainPackageStatus: 'ASSOCIATING' });
    const record = trackingRecord(body, 2);

    expect(await invokeTracker(record)).toEqual({
      batchItemFailures: [{ itemIdentifier: record.messageId }],
    });

    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: `${QUEUE_BASE}/package-associator-tracking`,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: 60,
      },
    ]);
    expect(sentTo(sqs, ENV.TRACKING_QUEUE_URL)).toEqual([]);
    expect(publishedEvents(eventBridge)).toEqual([]);
  });

  it('announces Failed with the AWS error details on ASSOCIATION_FAILED, without a dead letter', async () => {
    const { body } = await followed();
    domainReports({
      PackageID: 'F1',
      DomainPackageStatus: 'ASSOCIATION_FAILED',
      ErrorDetails: { ErrorType: 'PluginError', ErrorMessage: 'plugin incompatible' },
    });

    await invokeTracker(trackingRecord(body));

    expect(terminal()).toEqual([
      [
        'PackageAssociationFailed',
        {
          code: 'AssociationFailed',
          message: 'The domain reported ASSOCIATION_FAILED: plugin incompatible',
          retryable: false,
        },
      ],
    ]);
    expect(publishedEvents(eventBridge)[0]?.Detail.errorDetails).toEqual({
      errorType: 'PluginError',
      errorMessage: 'plugin incompatible',
    });
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([]);
  });

  it('times out at the deadline the ledger holds, and reports a package that vanished as lost', async () => {
    const slow = await followed('F1');
    const gone = await followed('F2', 'catalog-search');
    domainReports({ PackageID: 'F1', DomainPackageStatus: 'ASSOCIATING' });
    await invokeTracker(trackingRecord(gone.body, 2));
    vi.setSystemTime(new Date(NOW.getTime() + 1_800_000));
    await invokeTracker(trackingRecord(slow.body, 9));

    expect(terminal()).toEqual([
      [
        'PackageAssociationFailed',
        {
          code: 'AssociationLost',
          message: 'F2 is no longer associated with catalog-search',
          retryable: false,
        },
      ],
      [
        'PackageAssociationFailed',
        {
          code: 'TimedOut',
          message: 'Still ASSOCIATING at the deadline 2026-11-28T10:30:00.000Z after 9 checks (target v1)',
          retryable: true,
        },
      ],
    ]);
  });

  it('follows a paginated listing to find the package', async () => {
    const { body } = await followed('F7');
    openSearch.on(ListPackagesForDomainCommand, { NextToken: undefined }).resolves({
      DomainPackageDetailsList: [{ PackageID: 'F6', DomainPackageStatus: 'ACTIVE' }],
      NextToken: 'page-2',
    });
    openSearch
      .on(ListPackagesForDomainCommand, { NextToken: 'page-2' })
      .resolves({ DomainPackageDetailsList: [{ PackageID: 'F7', DomainPackageStatus: 'ACTIVE' }] });

    await invokeTracker(trackingRecord(body));

    expect(terminal()).toEqual([['PackageAssociationSucceeded', undefined]]);
  });

  it('decides once, however often the tracking message arrives, also two copies at once', async () => {
    const { body } = await followed();
    domainReports({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE' });

    await invokeTracker(trackingRecord(body), trackingRecord(body));
    await invokeTracker(trackingRecord(body));

    // A copy that reads the decision before its outbox is cleared publishes it too: the same event, by its id.
    const decisions = publishedEvents(eventBridge).filter(
      (event) => event.DetailType !== 'PackageAssociationStarted',
    );
    expect(new Set(decisions.map((event) => event.DetailType))).toEqual(
      new Set(['PackageAssociationSucceeded']),
    );
    expect(new Set(decisions.map((event) => event.Detail.eventId)).size).toBe(1);
    expect(new Set(decisions.map((event) => JSON.stringify(event.Detail))).size).toBe(1);
  });

  it('reads a domain once per invocation, however many of its checks the batch holds', async () => {
    const { body } = await followed();
    domainReports({ PackageID: 'F1', DomainPackageStatus: 'ASSOCIATING' });

    await invokeTracker(trackingRecord(body), trackingRecord(body), trackingRecord(body));
    const inOneInvocation = openSearch.commandCalls(ListPackagesForDomainCommand).length;
    await invokeTracker(trackingRecord(body));

    expect(inOneInvocation).toBe(1);
    expect(openSearch.commandCalls(ListPackagesForDomainCommand)).toHaveLength(2);
  });

  it("brings a group's tracking messages back together, with one listing for all of them", async () => {
    const domainName = `orders-${randomUUID().slice(0, 8)}`;
    openSearch.on(AssociatePackagesCommand).callsFake((input: { PackageList: { PackageID: string }[] }) => ({
      DomainPackageDetailsList: input.PackageList.map((entry) => ({
        DomainName: domainName,
        PackageID: entry.PackageID,
        DomainPackageStatus: 'ASSOCIATING',
      })),
    }));
    const keys = ['F61', 'F62', 'F63'].map((packageId) => ({ packageId, key: `group-${randomUUID()}` }));
    await harness
      .module()
      .associate(
        sqsEvent(keys.map(({ packageId, key }) => sqsRecord({ domainName, packageId, idempotencyKey: key }))),
        lambdaContext(),
      );
    const bodies = sentTo(sqs, ENV.TRACKING_QUEUE_URL).map((input) => JSON.parse(input.MessageBody ?? '{}'));
    expect(bodies).toHaveLength(3);
    // Every draw differs: only the one draw per domain brings the three back at the same moment.
    let draw = 0;
    vi.spyOn(Math, 'random').mockImplementation(() => {
      draw += 1;
      return (draw * 0.37) % 1;
    });
    sqs.resetHistory();
    openSearch.resetHistory();
    domainReports(
      ...keys.map(({ packageId }) => ({ PackageID: packageId, DomainPackageStatus: 'ASSOCIATING' })),
    );

    await invokeTracker(...bodies.map((body) => trackingRecord(body)));

    const delays = sqs
      .commandCalls(ChangeMessageVisibilityCommand)
      .map((call) => call.args[0].input.VisibilityTimeout);
    expect(delays).toHaveLength(3);
    expect(new Set(delays).size).toBe(1);
    expect(openSearch.commandCalls(ListPackagesForDomainCommand)).toHaveLength(1);
  });

  it('retries a throttled listing after the next check delay, until the deadline', async () => {
    const { body } = await followed();
    openSearch
      .on(ListPackagesForDomainCommand)
      .rejects(awsError('ThrottlingException', 'Rate exceeded', 400));
    const record = trackingRecord(body, 3);

    expect(await invokeTracker(record)).toEqual({
      batchItemFailures: [{ itemIdentifier: record.messageId }],
    });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input.VisibilityTimeout).toBe(120);
    vi.setSystemTime(new Date(NOW.getTime() + 1_801_000));
    expect(await invokeTracker(trackingRecord(body, 4))).toEqual({ batchItemFailures: [] });

    expect(terminal()).toEqual([
      [
        'PackageAssociationFailed',
        {
          code: 'TimedOut',
          message: 'the status could not be read by the deadline: Rate exceeded',
          retryable: true,
        },
      ],
    ]);
  });

  it('ends the request on a permanent error reading the listing', async () => {
    const { body } = await followed();
    openSearch
      .on(ListPackagesForDomainCommand)
      .rejects(awsError('ResourceNotFoundException', 'Domain not found', 409));

    expect(await invokeTracker(trackingRecord(body))).toEqual({ batchItemFailures: [] });

    expect(terminal()).toEqual([
      [
        'PackageAssociationFailed',
        { code: 'ResourceNotFoundException', message: 'Domain not found', retryable: false },
      ],
    ]);
  });

  it('changes nothing for a tracking message the ledger does not follow (forged, stale or unknown)', async () => {
    const { body } = await followed();
    domainReports({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE' });
    const forged = [
      { idempotencyKey: 'never-sent', incarnation: randomUUID() },
      { idempotencyKey: body.idempotencyKey, incarnation: randomUUID() },
    ];

    expect(await invokeTracker(...forged.map((message) => trackingRecord(message)))).toEqual({
      batchItemFailures: [],
    });

    expect(openSearch.commandCalls(ListPackagesForDomainCommand)).toHaveLength(0);
    expect(publishedEvents(eventBridge)).toEqual([]);
    expect(sentTo(sqs, ENV.TRACKING_DLQ_URL)).toEqual([]);
  });

  it('dead-letters a forged message naming a domain off the allow-list, even with a real key: nothing else changes', async () => {
    const { body } = await followed();
    domainReports({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE' });
    const forged = trackingRecord({ ...body, domainName: 'hr-private', packageId: 'F1' });

    expect(await invokeTracker(forged)).toEqual({ batchItemFailures: [] });

    expect(openSearch.commandCalls(ListPackagesForDomainCommand)).toHaveLength(0);
    expect(publishedEvents(eventBridge)).toEqual([]);
    expect(sentTo(sqs, ENV.TRACKING_DLQ_URL).map((input) => input.MessageBody)).toEqual([forged.body]);
    // The request it named is still followed, by its own message.
    expect(await invokeTracker(trackingRecord(body))).toEqual({ batchItemFailures: [] });
    expect(terminal()).toEqual([['PackageAssociationSucceeded', undefined]]);
  });

  it('keeps a malformed tracking message in the tracking DLQ without an event', async () => {
    const old = trackingRecord({
      idempotencyKey: 'k',
      domainName: 'catalog-search',
      packageId: 'F1',
      deadline: 'x',
    });

    expect(await invokeTracker(old)).toEqual({ batchItemFailures: [] });

    expect(sentTo(sqs, ENV.TRACKING_DLQ_URL)).toEqual([
      {
        QueueUrl: ENV.TRACKING_DLQ_URL,
        MessageBody: old.body,
        MessageAttributes: deadLetterAttributes(
          'InvalidRequest',
          'body: is not a tracking message',
          old.messageId,
        ),
      },
    ]);
    expect(publishedEvents(eventBridge)).toEqual([]);
  });
});
