import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListPackagesForDomainCommand } from '@aws-sdk/client-opensearch';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { TrackingMessage } from '../../src/domain/tracking.ts';
import { ACCOUNT, lambdaContext, REGION, sqsEvent, sqsRecord } from '../helpers/factories.ts';
import {
  awsError,
  deadLetterAttributes,
  handlerUnderTest,
  NOW,
  publishedEvents,
  QUEUE_BASE,
  sentTo,
} from '../helpers/handler-harness.ts';

const harness = handlerUnderTest(() => import('../../src/handlers/track-association.ts'));
const { env: ENV, openSearch, sqs, eventBridge } = harness;

let keys = 0;
function tracking(overrides: Partial<TrackingMessage> = {}): TrackingMessage {
  keys += 1;
  return {
    idempotencyKey: `track-${keys}-${Date.now()}`,
    correlationId: `corr-${keys}`,
    domainName: 'catalog-search',
    packageId: 'F1',
    requestedBy: 'team-a',
    startedAt: '2026-11-28T09:59:00.000Z',
    deadline: '2026-11-28T10:29:00.000Z',
    check: 1,
    ...overrides,
  };
}

function domainReports(
  ...details: { PackageID: string; DomainPackageStatus: string; [key: string]: unknown }[]
) {
  openSearch.on(ListPackagesForDomainCommand).resolves({ DomainPackageDetailsList: details as never });
}

const invoke = (...records: ReturnType<typeof sqsRecord>[]) =>
  harness
    .module()
    .handler(
      sqsEvent(records),
      lambdaContext('package-associator-test-trackAssociation'),
    ) as Promise<SQSBatchResponse>;
const trackingRecord = (message: TrackingMessage, receiveCount = 1) => ({
  ...sqsRecord(message, { receiveCount }),
  eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:package-associator-tracking`,
});

describe('track-association handler', () => {
  it('announces Succeeded with what AWS reports once the package is ACTIVE', async () => {
    domainReports({
      PackageID: 'F1',
      PackageName: 'synonyms',
      PackageType: 'TXT-DICTIONARY',
      PackageVersion: 'v3',
      ReferencePath: 'analyzers/F1',
      DomainPackageStatus: 'ACTIVE',
    });
    const message = tracking();

    expect(await invoke(trackingRecord(message))).toEqual({ batchItemFailures: [] });

    expect(publishedEvents(eventBridge)).toEqual([
      {
        EventBusName: ENV.EVENT_BUS_NAME,
        Source: 'package-associator',
        DetailType: 'PackageAssociationSucceeded',
        Resources: [`arn:aws:es:${REGION}:${ACCOUNT}:domain/catalog-search`],
        Time: NOW,
        Detail: {
          idempotencyKey: message.idempotencyKey,
          correlationId: message.correlationId,
          domainName: 'catalog-search',
          packageId: 'F1',
          status: 'ACTIVE',
          packageName: 'synonyms',
          packageType: 'TXT-DICTIONARY',
          packageVersion: 'v3',
          referencePath: 'analyzers/F1',
          attempt: 1,
          requestedBy: 'team-a',
          occurredAt: NOW.toISOString(),
        },
      },
    ]);
    expect(sentTo(sqs, ENV.TRACKING_QUEUE_URL)).toEqual([]);
  });

  it('checks again later while the package is still ASSOCIATING', async () => {
    domainReports({ PackageID: 'F1', DomainPackageStatus: 'ASSOCIATING' });
    const message = tracking({ check: 2 });

    expect(await invoke(trackingRecord(message))).toEqual({ batchItemFailures: [] });

    expect(publishedEvents(eventBridge)).toEqual([]);
    expect(sentTo(sqs, ENV.TRACKING_QUEUE_URL)).toEqual([
      {
        QueueUrl: ENV.TRACKING_QUEUE_URL,
        MessageBody: JSON.stringify({ ...message, check: 3 }),
        DelaySeconds: 60,
      },
    ]);
  });

  it('sends the next looks at a batch of associations in one SendMessageBatch', async () => {
    domainReports(
      { PackageID: 'F1', DomainPackageStatus: 'ASSOCIATING' },
      { PackageID: 'F2', DomainPackageStatus: 'ASSOCIATING' },
      { PackageID: 'F3', DomainPackageStatus: 'ASSOCIATING' },
    );
    const messages = ['F1', 'F2', 'F3'].map((packageId) => tracking({ packageId }));

    expect(await invoke(...messages.map((message) => trackingRecord(message)))).toEqual({
      batchItemFailures: [],
    });

    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.QueueUrl).toBe(ENV.TRACKING_QUEUE_URL);
    expect(
      (calls[0]?.args[0].input.Entries ?? [])
        .map((entry) => JSON.parse(entry.MessageBody ?? '{}').packageId)
        .sort(),
    ).toEqual(['F1', 'F2', 'F3']);
  });

  it('announces Failed with the AWS error details on ASSOCIATION_FAILED, without a dead letter', async () => {
    domainReports({
      PackageID: 'F1',
      DomainPackageStatus: 'ASSOCIATION_FAILED',
      ErrorDetails: { ErrorType: 'PluginConflict', ErrorMessage: 'conflicts with F9' },
    });

    await invoke(trackingRecord(tracking()));

    const [event] = publishedEvents(eventBridge);
    expect(event?.DetailType).toBe('PackageAssociationFailed');
    expect(event?.Detail).toMatchObject({
      status: 'ASSOCIATION_FAILED',
      error: {
        code: 'AssociationFailed',
        message: 'The domain reported ASSOCIATION_FAILED: conflicts with F9',
        retryable: false,
      },
      errorDetails: { errorType: 'PluginConflict', errorMessage: 'conflicts with F9' },
    });
    expect(sentTo(sqs, ENV.TRACKING_DLQ_URL)).toEqual([]);
  });

  it('times out past the deadline and reports a package that vanished as lost', async () => {
    openSearch.on(ListPackagesForDomainCommand, { DomainName: 'orders-slow' }).resolves({
      DomainPackageDetailsList: [{ PackageID: 'F2', DomainPackageStatus: 'ASSOCIATING' }],
    });
    openSearch
      .on(ListPackagesForDomainCommand, { DomainName: 'orders-gone' })
      .resolves({ DomainPackageDetailsList: [] });

    await invoke(
      trackingRecord(
        tracking({ domainName: 'orders-slow', packageId: 'F2', deadline: '2026-11-28T09:59:59.000Z' }),
      ),
      trackingRecord(tracking({ domainName: 'orders-gone', packageId: 'F3', check: 2 })),
    );

    expect(
      publishedEvents(eventBridge).map((event) => [event.Detail.domainName, event.Detail.error]),
    ).toEqual([
      [
        'orders-slow',
        {
          code: 'TimedOut',
          message: 'Still ASSOCIATING at the deadline 2026-11-28T09:59:59.000Z after 1 checks',
          retryable: true,
        },
      ],
      [
        'orders-gone',
        { code: 'AssociationLost', message: 'F3 is no longer associated with orders-gone', retryable: false },
      ],
    ]);
  });

  it('follows a paginated listing to find the package', async () => {
    openSearch
      .on(ListPackagesForDomainCommand, { NextToken: undefined })
      .resolves({
        DomainPackageDetailsList: [{ PackageID: 'F8', DomainPackageStatus: 'ACTIVE' }],
        NextToken: 'page-2',
      })
      .on(ListPackagesForDomainCommand, { NextToken: 'page-2' })
      .resolves({ DomainPackageDetailsList: [{ PackageID: 'F1', DomainPackageStatus: 'ACTIVE' }] });

    await invoke(trackingRecord(tracking()));

    expect(openSearch.commandCalls(ListPackagesForDomainCommand)).toHaveLength(2);
    expect(publishedEvents(eventBridge).map((event) => event.DetailType)).toEqual([
      'PackageAssociationSucceeded',
    ]);
  });

  it('announces the terminal event once, however often the tracking message arrives', async () => {
    domainReports({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE' });
    const message = tracking();

    await invoke(trackingRecord(message));
    await invoke(trackingRecord(message), trackingRecord({ ...message, check: 2 }));

    expect(publishedEvents(eventBridge).map((event) => event.DetailType)).toEqual([
      'PackageAssociationSucceeded',
    ]);
  });

  it('retries throttling with a backoff, then gives up on the last attempt into the tracking DLQ', async () => {
    openSearch
      .on(ListPackagesForDomainCommand)
      .rejects(awsError('ThrottlingException', 'Rate exceeded', 400));
    const early = trackingRecord(tracking(), 1);
    const last = trackingRecord(tracking(), 5);

    const response = await invoke(early, last);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: early.messageId }] });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: `${QUEUE_BASE}/package-associator-tracking`,
        ReceiptHandle: early.receiptHandle,
        VisibilityTimeout: 8,
      },
    ]);
    const message = 'ThrottlingException on attempt 5 of 5: Rate exceeded';
    expect(sentTo(sqs, ENV.TRACKING_DLQ_URL)).toEqual([
      {
        QueueUrl: ENV.TRACKING_DLQ_URL,
        MessageBody: last.body,
        MessageAttributes: deadLetterAttributes('RetriesExhausted', message, last.messageId, 5),
      },
    ]);
    expect(publishedEvents(eventBridge).map((event) => event.Detail.error)).toEqual([
      { code: 'RetriesExhausted', message, retryable: true },
    ]);
  });

  it('sends a permanent error to the tracking DLQ with a Failed event', async () => {
    openSearch
      .on(ListPackagesForDomainCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized', 403));
    const record = trackingRecord(tracking());

    expect(await invoke(record)).toEqual({ batchItemFailures: [] });

    expect(sentTo(sqs, ENV.TRACKING_DLQ_URL)).toEqual([
      {
        QueueUrl: ENV.TRACKING_DLQ_URL,
        MessageBody: record.body,
        MessageAttributes: deadLetterAttributes('AccessDeniedException', 'not authorized', record.messageId),
      },
    ]);
    expect(publishedEvents(eventBridge).map((event) => event.Detail.error)).toEqual([
      { code: 'AccessDeniedException', message: 'not authorized', retryable: false },
    ]);
  });

  it('keeps a malformed tracking message in the tracking DLQ without an event', async () => {
    const record = trackingRecord({ nope: true } as unknown as TrackingMessage);

    expect(await invoke(record)).toEqual({ batchItemFailures: [] });

    expect(sentTo(sqs, ENV.TRACKING_DLQ_URL)).toEqual([
      {
        QueueUrl: ENV.TRACKING_DLQ_URL,
        MessageBody: record.body,
        MessageAttributes: deadLetterAttributes(
          'InvalidRequest',
          'body: is not a tracking message',
          record.messageId,
        ),
      },
    ]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});
