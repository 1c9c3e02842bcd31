import { randomUUID } from 'node:crypto';
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  AssociatePackageCommand,
  ConflictException,
  ListPackagesForDomainCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-opensearch';
import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ACCOUNT, lambdaContext, REGION, sqsEvent, sqsRecord } from '../helpers/factories.ts';
import {
  acceptAllEvents,
  awsError,
  deadLetterAttributes,
  handlerUnderTest,
  NOW,
  publishedEvents,
  QUEUE_BASE,
  sentTo,
} from '../helpers/handler-harness.ts';

const harness = handlerUnderTest(() => import('../../src/handlers/associate-package.ts'));
const { env: ENV, openSearch, sqs, eventBridge } = harness;

const invoke = (...records: ReturnType<typeof sqsRecord>[]) =>
  harness.module().handler(sqsEvent(records), lambdaContext()) as Promise<SQSBatchResponse>;

function associating(domainName: string, packageId: string) {
  return {
    DomainPackageDetails: {
      DomainName: domainName,
      PackageID: packageId,
      PackageName: `dictionary-${packageId.toLowerCase()}`,
      PackageType: 'TXT-DICTIONARY' as const,
      PackageVersion: 'v1',
      DomainPackageStatus: 'ASSOCIATING' as const,
      ReferencePath: `analyzers/${packageId}`,
    },
  };
}

const domainArn = (domainName: string) => `arn:aws:es:${REGION}:${ACCOUNT}:domain/${domainName}`;

describe('associate-package handler', () => {
  it('associates a clean batch of 10 with one AWS call each and one PutEvents call for all 10 Started', async () => {
    openSearch
      .on(AssociatePackageCommand)
      .callsFake((input: { DomainName: string; PackageID: string }) =>
        associating(input.DomainName, input.PackageID),
      );
    const records = Array.from({ length: 10 }, (_, index) =>
      sqsRecord({ domainName: `orders-${index}`, packageId: `F${index + 1}`, requestedBy: 'team-a' }),
    );

    const response = await invoke(...records);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(10);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
    const byDomain = (a: { Resources?: string[] }, b: { Resources?: string[] }) =>
      String(a.Resources).localeCompare(String(b.Resources));
    expect(publishedEvents(eventBridge).sort(byDomain)).toEqual(
      records.map((record, index) => ({
        EventBusName: ENV.EVENT_BUS_NAME,
        Source: 'package-associator',
        DetailType: 'PackageAssociationStarted',
        Resources: [domainArn(`orders-${index}`)],
        Time: NOW,
        Detail: {
          idempotencyKey: record.messageId,
          correlationId: record.messageId,
          domainName: `orders-${index}`,
          packageId: `F${index + 1}`,
          status: 'ASSOCIATING',
          packageName: `dictionary-f${index + 1}`,
          packageType: 'TXT-DICTIONARY',
          packageVersion: 'v1',
          referencePath: `analyzers/F${index + 1}`,
          attempt: 1,
          requestedBy: 'team-a',
          occurredAt: NOW.toISOString(),
        },
      })),
    );
    const tracking = sentTo(sqs, ENV.TRACKING_QUEUE_URL);
    expect(tracking).toHaveLength(10);
    // The ten tracking messages share one call, as the ten events do.
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    const trackingFor = (domainName: string) =>
      tracking.find((input) => JSON.parse(input.MessageBody ?? '{}').domainName === domainName);
    expect(JSON.parse(trackingFor('orders-0')?.MessageBody ?? '')).toEqual({
      idempotencyKey: records[0]?.messageId,
      correlationId: records[0]?.messageId,
      domainName: 'orders-0',
      packageId: 'F1',
      requestedBy: 'team-a',
      startedAt: NOW.toISOString(),
      deadline: new Date(NOW.getTime() + 1800 * 1000).toISOString(),
      check: 1,
    });
    expect(tracking[0]?.DelaySeconds).toBe(15);
  });

  it('passes prerequisites and the association configuration to AssociatePackage', async () => {
    openSearch.on(AssociatePackageCommand).resolves(associating('catalog-search', 'pkg-0a1b'));
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/keys`;
    await invoke(
      sqsRecord({
        domainName: 'catalog-search',
        packageId: 'pkg-0a1b',
        prerequisitePackageIds: ['G9'],
        associationConfiguration: {
          keyStoreAccessOption: { keyStoreAccessEnabled: true, keyAccessRoleArn: roleArn },
        },
      }),
    );
    expect(openSearch.commandCalls(AssociatePackageCommand)[0]?.args[0].input).toEqual({
      DomainName: 'catalog-search',
      PackageID: 'pkg-0a1b',
      PrerequisitePackageIDList: ['G9'],
      AssociationConfiguration: {
        KeyStoreAccessOption: { KeyStoreAccessEnabled: true, KeyAccessRoleArn: roleArn },
      },
    });
  });

  it('handles a mixed batch record by record', async () => {
    openSearch
      .on(AssociatePackageCommand, { DomainName: 'catalog-search' })
      .resolves(associating('catalog-search', 'F1'));
    openSearch
      .on(AssociatePackageCommand, { DomainName: 'orders-gone' })
      .rejects(new ResourceNotFoundException({ message: 'Package F404 not found', $metadata: {} }));
    openSearch
      .on(AssociatePackageCommand, { DomainName: 'orders-busy' })
      .rejects(awsError('ThrottlingException', 'Rate exceeded', 400));
    openSearch
      .on(AssociatePackageCommand, { DomainName: 'orders-updating' })
      .rejects(new ConflictException({ message: 'Another package operation is in progress', $metadata: {} }));
    openSearch
      .on(AssociatePackageCommand, { DomainName: 'orders-done' })
      .rejects(new ConflictException({ message: 'F7 is already in desired state', $metadata: {} }));
    openSearch.on(ListPackagesForDomainCommand, { DomainName: 'orders-done' }).resolves({
      DomainPackageDetailsList: [
        { PackageID: 'F6', DomainPackageStatus: 'ACTIVE' },
        {
          PackageID: 'F7',
          PackageName: 'stopwords',
          DomainPackageStatus: 'ACTIVE',
          ReferencePath: 'analyzers/F7',
        },
      ],
    });

    const valid = sqsRecord({ domainName: 'catalog-search', packageId: 'F1' });
    const notJson = sqsRecord('{not json');
    const unknownField = sqsRecord({ domainName: 'orders-logs', packageId: 'F2', packageID: 'F2' });
    const notAllowed = sqsRecord({ domainName: 'hr-private', packageId: 'F3', correlationId: 'c-hr' });
    const notFound = sqsRecord({ domainName: 'orders-gone', packageId: 'F404' });
    const throttled = sqsRecord({ domainName: 'orders-busy', packageId: 'F5' }, { receiveCount: 2 });
    const inProgress = sqsRecord({ domainName: 'orders-updating', packageId: 'F6' });
    const alreadyActive = sqsRecord({ domainName: 'orders-done', packageId: 'F7' });

    const response = await invoke(
      valid,
      notJson,
      unknownField,
      notAllowed,
      notFound,
      throttled,
      inProgress,
      alreadyActive,
    );

    // Lambda reads the failures as a set; concurrent records report in the order they finish.
    expect(response.batchItemFailures).toHaveLength(2);
    expect(response.batchItemFailures).toEqual(
      expect.arrayContaining([
        { itemIdentifier: throttled.messageId },
        { itemIdentifier: inProgress.messageId },
      ]),
    );
    // The allow-list is checked before any AWS call.
    expect(
      openSearch.commandCalls(AssociatePackageCommand).map((call) => call.args[0].input.DomainName),
    ).not.toContain('hr-private');
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(5);

    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([
      {
        QueueUrl: ENV.DLQ_URL,
        MessageBody: '{not json',
        MessageAttributes: deadLetterAttributes(
          'InvalidRequest',
          'body: must be valid JSON',
          notJson.messageId,
        ),
      },
      {
        QueueUrl: ENV.DLQ_URL,
        MessageBody: unknownField.body,
        MessageAttributes: deadLetterAttributes(
          'InvalidRequest',
          'packageID: is not a known field',
          unknownField.messageId,
        ),
      },
      {
        QueueUrl: ENV.DLQ_URL,
        MessageBody: notAllowed.body,
        MessageAttributes: deadLetterAttributes(
          'DomainNotAllowed',
          'domainName: hr-private is not in the allow-list of this service',
          notAllowed.messageId,
        ),
      },
      {
        QueueUrl: ENV.DLQ_URL,
        MessageBody: notFound.body,
        MessageAttributes: deadLetterAttributes(
          'ResourceNotFoundException',
          'Package F404 not found',
          notFound.messageId,
        ),
      },
    ]);

    const events = publishedEvents(eventBridge);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
    // Records of different domains run concurrently: their events share one call in the order they finish.
    const summaries = events.map((event) => [event.DetailType, event.Detail.domainName, event.Detail.error]);
    expect(summaries).toHaveLength(6);
    expect(summaries).toEqual(
      expect.arrayContaining([
        [
          'PackageAssociationFailed',
          null,
          { code: 'InvalidRequest', message: 'body: must be valid JSON', retryable: false },
        ],
        [
          'PackageAssociationFailed',
          'orders-logs',
          { code: 'InvalidRequest', message: 'packageID: is not a known field', retryable: false },
        ],
        [
          'PackageAssociationFailed',
          'hr-private',
          {
            code: 'DomainNotAllowed',
            message: 'domainName: hr-private is not in the allow-list of this service',
            retryable: false,
          },
        ],
        ['PackageAssociationStarted', 'catalog-search', undefined],
        [
          'PackageAssociationFailed',
          'orders-gone',
          { code: 'ResourceNotFoundException', message: 'Package F404 not found', retryable: false },
        ],
        ['PackageAssociationSucceeded', 'orders-done', undefined],
      ]),
    );
    expect(events.find((event) => event.Detail.domainName === 'hr-private')?.Detail.correlationId).toBe(
      'c-hr',
    );
    expect(events.find((event) => event.DetailType === 'PackageAssociationSucceeded')?.Detail).toMatchObject({
      status: 'ACTIVE',
      packageName: 'stopwords',
      referencePath: 'analyzers/F7',
    });
    expect(events[0]?.Resources).toEqual([]);

    // Transient failures back off through the visibility timeout, exponential in the attempt.
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: `${QUEUE_BASE}/package-associator-requests`,
        ReceiptHandle: throttled.receiptHandle,
        VisibilityTimeout: 15,
      },
      {
        QueueUrl: `${QUEUE_BASE}/package-associator-requests`,
        ReceiptHandle: inProgress.receiptHandle,
        VisibilityTimeout: 8,
      },
    ]);
    // Only the Started association is followed; the one already ACTIVE is done.
    expect(
      sentTo(sqs, ENV.TRACKING_QUEUE_URL).map((input) => JSON.parse(input.MessageBody ?? '').domainName),
    ).toEqual(['catalog-search']);
  });

  it('makes one AWS call and one Started event for a request delivered twice', async () => {
    openSearch.on(AssociatePackageCommand).resolves(associating('orders-logs', 'F10'));
    const body = { domainName: 'orders-logs', packageId: 'F10', idempotencyKey: `order-${randomUUID()}` };

    const first = await invoke(sqsRecord(body));
    const second = await invoke(sqsRecord(body), sqsRecord(body));

    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
    expect(publishedEvents(eventBridge).map((event) => event.DetailType)).toEqual([
      'PackageAssociationStarted',
    ]);
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([]);
  });

  it('dead-letters the same key used for another package as a conflict', async () => {
    openSearch.on(AssociatePackageCommand).resolves(associating('orders-logs', 'F11'));
    const idempotencyKey = `order-${randomUUID()}`;
    await invoke(sqsRecord({ domainName: 'orders-logs', packageId: 'F11', idempotencyKey }));
    const conflicting = sqsRecord({ domainName: 'orders-logs', packageId: 'F12', idempotencyKey });

    const response = await invoke(conflicting);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
    const message = `idempotencyKey: ${idempotencyKey} was already used for another domainName/packageId`;
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([
      {
        QueueUrl: ENV.DLQ_URL,
        MessageBody: conflicting.body,
        MessageAttributes: deadLetterAttributes('IdempotencyKeyConflict', message, conflicting.messageId),
      },
    ]);
    expect(
      publishedEvents(eventBridge).map((event) => [
        event.DetailType,
        event.Detail.packageId,
        event.Detail.error,
      ]),
    ).toEqual([
      ['PackageAssociationStarted', 'F11', undefined],
      ['PackageAssociationFailed', 'F12', { code: 'IdempotencyKeyConflict', message, retryable: false }],
    ]);
  });

  it('fails only the record whose event could not be published, and never publishes an event twice', async () => {
    openSearch
      .on(AssociatePackageCommand)
      .callsFake((input: { DomainName: string; PackageID: string }) =>
        associating(input.DomainName, input.PackageID),
      );
    const unlucky = sqsRecord({ domainName: 'orders-a', packageId: 'F21' });
    const lucky = sqsRecord({ domainName: 'orders-b', packageId: 'F22' });
    eventBridge.on(PutEventsCommand).callsFake(({ Entries }: { Entries: PutEventsRequestEntry[] }) => ({
      FailedEntryCount: Entries.filter((entry) => entry.Detail?.includes('orders-a')).length,
      Entries: Entries.map((entry) =>
        entry.Detail?.includes('orders-a')
          ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }
          : { EventId: 'event-ok' },
      ),
    }));

    const response = await invoke(unlucky, lucky);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: unlucky.messageId }] });
    // One call for both, then the failed retryable entry alone, twice more.
    expect(
      eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries?.length),
    ).toEqual([2, 1, 1]);

    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-retry' }] });
    const retried = { ...unlucky, attributes: { ...unlucky.attributes, ApproximateReceiveCount: '2' } };
    const retryResponse = await invoke(retried);

    expect(retryResponse).toEqual({ batchItemFailures: [] });
    // The retry replays the stored outcome of AssociatePackage instead of associating again.
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(2);
    const startedFor = publishedEvents(eventBridge)
      .filter((event) => event.Detail.domainName === 'orders-a')
      .map((event) => event.Detail.attempt);
    expect(startedFor).toEqual([1, 1, 1, 2]);
    // The retry recorded its announcement: a third delivery is a plain duplicate.
    const third = { ...unlucky, attributes: { ...unlucky.attributes, ApproximateReceiveCount: '3' } };
    expect(await invoke(third)).toEqual({ batchItemFailures: [] });
    expect(
      publishedEvents(eventBridge).filter((event) => event.Detail.domainName === 'orders-a'),
    ).toHaveLength(4);
    expect(
      sentTo(sqs, ENV.TRACKING_QUEUE_URL).filter((input) => input.MessageBody?.includes('orders-a')),
    ).toHaveLength(2);

    const resent = await invoke(sqsRecord(JSON.parse(lucky.body), { messageId: lucky.messageId }));
    expect(resent).toEqual({ batchItemFailures: [] });
    expect(
      publishedEvents(eventBridge).filter((event) => event.Detail.domainName === 'orders-b'),
    ).toHaveLength(1);
  });

  it('announces one terminal event when the tracker ends an association whose request is being retried', async () => {
    const { handler: track } = await import('../../src/handlers/track-association.ts');
    openSearch.on(AssociatePackageCommand).resolves(associating('orders-race', 'F51'));
    openSearch.on(ListPackagesForDomainCommand).resolves({
      DomainPackageDetailsList: [{ PackageID: 'F51', DomainPackageStatus: 'ACTIVE' }],
    });
    eventBridge.on(PutEventsCommand).rejectsOnce(awsError('ThrottlingException', 'Rate exceeded', 400));
    const request = sqsRecord({ domainName: 'orders-race', packageId: 'F51' });

    // Started cannot be published: the request will be retried, but its tracking message is already out.
    expect(await invoke(request)).toEqual({ batchItemFailures: [{ itemIdentifier: request.messageId }] });
    acceptAllEvents(eventBridge);
    const [tracking] = sentTo(sqs, ENV.TRACKING_QUEUE_URL);
    const trackingRecord = sqsRecord(JSON.parse(tracking?.MessageBody ?? '{}'));
    await track(sqsEvent([trackingRecord]), lambdaContext('package-associator-test-trackAssociation'));
    await invoke({ ...request, attributes: { ...request.attributes, ApproximateReceiveCount: '2' } });
    // The retry's own tracking message reaches the tracker too.
    const [, retryTracking] = sentTo(sqs, ENV.TRACKING_QUEUE_URL);
    await track(
      sqsEvent([sqsRecord(JSON.parse(retryTracking?.MessageBody ?? '{}'))]),
      lambdaContext('package-associator-test-trackAssociation'),
    );

    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
    // The first Started was refused; the second tracker found the outcome already announced.
    expect(publishedEvents(eventBridge).map((event) => event.DetailType)).toEqual([
      'PackageAssociationStarted',
      'PackageAssociationSucceeded',
      'PackageAssociationStarted',
    ]);
  });

  it('dead-letters a transient failure on the last allowed attempt as RetriesExhausted', async () => {
    openSearch.on(AssociatePackageCommand).rejects(awsError('ThrottlingException', 'Rate exceeded', 400));
    const last = sqsRecord({ domainName: 'orders-logs', packageId: 'F31' }, { receiveCount: 5 });

    const response = await invoke(last);

    const message = 'ThrottlingException on attempt 5 of 5: Rate exceeded';
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([
      {
        QueueUrl: ENV.DLQ_URL,
        MessageBody: last.body,
        MessageAttributes: deadLetterAttributes('RetriesExhausted', message, last.messageId, 5),
      },
    ]);
    expect(
      publishedEvents(eventBridge).map((event) => [
        event.DetailType,
        event.Detail.attempt,
        event.Detail.error,
      ]),
    ).toEqual([['PackageAssociationFailed', 5, { code: 'RetriesExhausted', message, retryable: true }]]);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
  });

  it('runs records for one domain one after another and different domains concurrently', async () => {
    const running = new Set<string>();
    const overlaps: string[] = [];
    openSearch
      .on(AssociatePackageCommand)
      .callsFake(async (input: { DomainName: string; PackageID: string }) => {
        for (const other of running) overlaps.push(`${other}|${input.DomainName}`);
        running.add(input.DomainName);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running.delete(input.DomainName);
        return associating(input.DomainName, input.PackageID);
      });

    await invoke(
      sqsRecord({ domainName: 'orders-x', packageId: 'F41' }),
      sqsRecord({ domainName: 'orders-x', packageId: 'F42' }),
      sqsRecord({ domainName: 'orders-y', packageId: 'F43' }),
    );

    expect(
      openSearch.commandCalls(AssociatePackageCommand).map((call) => call.args[0].input.PackageID),
    ).toEqual(['F41', 'F43', 'F42']);
    expect(overlaps).toContain('orders-x|orders-y');
    expect(overlaps).not.toContain('orders-x|orders-x');
  });
});
