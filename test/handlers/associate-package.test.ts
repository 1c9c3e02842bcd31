import { randomUUID } from 'node:crypto';
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  AssociatePackageCommand,
  AssociatePackagesCommand,
  ConflictException,
  DescribePackagesCommand,
  ListPackagesForDomainCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-opensearch';
import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { ACCOUNT, lambdaContext, REGION, sqsEvent, sqsRecord } from '../helpers/factories.ts';
import {
  AVAILABLE_VERSION,
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
const again = (record: ReturnType<typeof sqsRecord>, receiveCount: number) => ({
  ...record,
  attributes: { ...record.attributes, ApproximateReceiveCount: String(receiveCount) },
});

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
const detailTypes = () => publishedEvents(eventBridge).map((event) => event.DetailType);
const eventIds = (detailType: string) =>
  new Set(
    publishedEvents(eventBridge)
      .filter((event) => event.DetailType === detailType)
      .map((event) => event.Detail.eventId),
  );
const withDeadLetterId = (attributes: Record<string, unknown>) => ({
  ...attributes,
  DeadLetterId: { DataType: 'String', StringValue: expect.any(String) },
});

/** SendMessageBatch as SQS answers it: a body with a character SQS refuses fails its entry. */
function refuseWhatSqsRefuses() {
  sqs.on(SendMessageBatchCommand).callsFake(({ Entries }: { Entries: SendMessageBatchRequestEntry[] }) => {
    const refused = (entry: SendMessageBatchRequestEntry) => /[\uFFFE\uFFFF]/.test(entry.MessageBody ?? '');
    return {
      Successful: Entries.filter((entry) => !refused(entry)).map((entry) => ({
        Id: entry.Id,
        MessageId: `message-${entry.Id}`,
        MD5OfMessageBody: 'not checked',
      })),
      Failed: Entries.filter(refused).map((entry) => ({
        Id: entry.Id,
        Code: 'InvalidMessageContents',
        Message: 'Invalid characters found',
        SenderFault: true,
      })),
    };
  });
}

describe('associate-package handler', () => {
  it('associates a clean batch of 10 with one AWS call each, one PutEvents call and one SendMessageBatch', async () => {
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
          eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          action: 'associate',
          idempotencyKey: record.messageId,
          correlationId: record.messageId,
          domainName: `orders-${index}`,
          packageId: `F${index + 1}`,
          status: 'ASSOCIATING',
          packageName: `dictionary-f${index + 1}`,
          packageType: 'TXT-DICTIONARY',
          packageVersion: 'v1',
          targetVersion: 'v1',
          referencePath: `analyzers/F${index + 1}`,
          attempt: 1,
          requestedBy: 'team-a',
          occurredAt: NOW.toISOString(),
        },
      })),
    );
    expect(eventIds('PackageAssociationStarted').size).toBe(10);
    const tracking = sentTo(sqs, ENV.TRACKING_QUEUE_URL);
    expect(tracking).toHaveLength(10);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    // The tracker is told which request to follow, nothing it would have to trust.
    expect(JSON.parse(tracking[0]?.MessageBody ?? '')).toEqual({
      idempotencyKey: expect.any(String),
      incarnation: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(tracking.map((input) => JSON.parse(input.MessageBody ?? '').idempotencyKey).sort()).toEqual(
      records.map((record) => record.messageId).sort(),
    );
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

  it('rejects a key-access role the service was not configured to pass, before any AWS call', async () => {
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/someone-elses`;
    const record = sqsRecord({
      domainName: 'catalog-search',
      packageId: 'pkg-0a1c',
      associationConfiguration: {
        keyStoreAccessOption: { keyStoreAccessEnabled: true, keyAccessRoleArn: roleArn },
      },
    });

    expect(await invoke(record)).toEqual({ batchItemFailures: [] });

    expect(openSearch.calls()).toHaveLength(0);
    const message = `associationConfiguration.keyStoreAccessOption.keyAccessRoleArn: ${roleArn} is not a key-access role of this service`;
    expect(publishedEvents(eventBridge).map((event) => [event.DetailType, event.Detail.error])).toEqual([
      ['PackageRequestRejected', { code: 'RoleNotAllowed', message }],
    ]);
    expect(sentTo(sqs, ENV.DLQ_URL).map((input) => input.MessageAttributes?.ReasonCode?.StringValue)).toEqual(
      ['RoleNotAllowed'],
    );
  });

  it('handles a mixed batch record by record: rejections, permanent and transient errors, conflicts', async () => {
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
    openSearch.on(ListPackagesForDomainCommand, { DomainName: 'orders-updating' }).resolves({
      DomainPackageDetailsList: [{ PackageID: 'F99', DomainPackageStatus: 'ASSOCIATING' }],
    });
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

    expect(response.batchItemFailures).toHaveLength(2);
    expect(response.batchItemFailures).toEqual(
      expect.arrayContaining([
        { itemIdentifier: throttled.messageId },
        { itemIdentifier: inProgress.messageId },
      ]),
    );
    expect(
      openSearch.commandCalls(AssociatePackageCommand).map((call) => call.args[0].input.DomainName),
    ).not.toContain('hr-private');
    // The listing read before each domain lock keeps two calls away: a domain running another package's
    // operation waits without one, a package already at its end state succeeds without one.
    expect(
      openSearch
        .commandCalls(AssociatePackageCommand)
        .map((call) => call.args[0].input.DomainName)
        .sort(),
    ).toEqual(['catalog-search', 'orders-busy', 'orders-gone']);
    expect(
      openSearch
        .commandCalls(ListPackagesForDomainCommand)
        .map((call) => call.args[0].input.DomainName)
        .sort(),
    ).toEqual(['catalog-search', 'orders-busy', 'orders-done', 'orders-gone', 'orders-updating']);

    const letter = (record: { body: string; messageId: string }, code: string, message: string) => ({
      QueueUrl: ENV.DLQ_URL,
      MessageBody: record.body,
      MessageAttributes: withDeadLetterId(deadLetterAttributes(code, message, record.messageId)),
    });
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual(
      expect.arrayContaining([
        letter(notJson, 'InvalidRequest', 'body: must be valid JSON'),
        letter(unknownField, 'InvalidRequest', 'packageID: is not a known field'),
        letter(
          notAllowed,
          'DomainNotAllowed',
          'domainName: hr-private is not in the allow-list of this service',
        ),
        letter(notFound, 'ResourceNotFoundException', 'Package F404 not found'),
      ]),
    );
    expect(sentTo(sqs, ENV.DLQ_URL)).toHaveLength(4);

    const events = publishedEvents(eventBridge);
    const rejection = (messageId: string) => events.find((event) => event.Detail.messageId === messageId);
    expect(rejection(notJson.messageId)).toMatchObject({
      DetailType: 'PackageRequestRejected',
      Resources: [],
      Detail: {
        messageId: notJson.messageId,
        correlationId: notJson.messageId,
        domainName: null,
        packageId: null,
        attempt: 1,
        error: { code: 'InvalidRequest', message: 'body: must be valid JSON' },
      },
    });
    expect(rejection(notAllowed.messageId)?.Detail).toMatchObject({
      correlationId: 'c-hr',
      domainName: 'hr-private',
      error: {
        code: 'DomainNotAllowed',
        message: 'domainName: hr-private is not in the allow-list of this service',
      },
    });
    expect(rejection(notAllowed.messageId)?.Detail).not.toHaveProperty('idempotencyKey');
    expect(events.map((event) => event.DetailType).sort()).toEqual([
      'PackageAssociationFailed',
      'PackageAssociationStarted',
      'PackageAssociationSucceeded',
      'PackageRequestRejected',
      'PackageRequestRejected',
      'PackageRequestRejected',
    ]);
    expect(events.find((event) => event.DetailType === 'PackageAssociationSucceeded')?.Detail).toMatchObject({
      idempotencyKey: alreadyActive.messageId,
      status: 'ACTIVE',
      packageName: 'stopwords',
      referencePath: 'analyzers/F7',
    });
    expect(events.find((event) => event.DetailType === 'PackageAssociationFailed')?.Detail).toMatchObject({
      idempotencyKey: notFound.messageId,
      error: { code: 'ResourceNotFoundException', message: 'Package F404 not found', retryable: false },
    });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input)).toEqual(
      expect.arrayContaining([
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
      ]),
    );
    expect(
      sentTo(sqs, ENV.TRACKING_QUEUE_URL).map((input) => JSON.parse(input.MessageBody ?? '').idempotencyKey),
    ).toEqual([valid.messageId]);
  });

  it('makes one AWS call and one Started event for a request delivered twice, also in one batch', async () => {
    openSearch.on(AssociatePackageCommand).resolves(associating('orders-logs', 'F10'));
    const body = { domainName: 'orders-logs', packageId: 'F10', idempotencyKey: `order-${randomUUID()}` };

    const first = await invoke(sqsRecord(body));
    const second = await invoke(sqsRecord(body), sqsRecord(body));

    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
    expect(detailTypes()).toEqual(['PackageAssociationStarted']);
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([]);
  });

  it('lets one of two concurrent copies call AWS; the other waits and then finds it done', async () => {
    let release: () => void = () => undefined;
    openSearch.on(AssociatePackageCommand).callsFake(async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return associating('orders-race', 'F12');
    });
    const body = { domainName: 'orders-race', packageId: 'F12', idempotencyKey: `race-${randomUUID()}` };
    const holder = invoke(sqsRecord(body));
    await vi.waitFor(() => expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1));
    const copy = sqsRecord(body);

    // Another invocation, while the first still waits on AWS.
    expect(await invoke(copy)).toEqual({ batchItemFailures: [{ itemIdentifier: copy.messageId }] });
    release();
    expect(await holder).toEqual({ batchItemFailures: [] });
    expect(await invoke(again(copy, 2))).toEqual({ batchItemFailures: [] });

    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
    expect(detailTypes()).toEqual(['PackageAssociationStarted']);
  });

  it('rejects the same key asking for something else, never under that key, and leaves its request alone', async () => {
    openSearch.on(AssociatePackageCommand).resolves(associating('orders-logs', 'F11'));
    const idempotencyKey = `order-${randomUUID()}`;
    const original = sqsRecord({ domainName: 'orders-logs', packageId: 'F11', idempotencyKey });
    await invoke(original);
    const conflicting = sqsRecord({ domainName: 'orders-logs', packageId: 'F12', idempotencyKey });

    expect(await invoke(conflicting)).toEqual({ batchItemFailures: [] });
    // Redelivered, the rejection is not decided again; resent, the original is still a silent duplicate.
    expect(await invoke(again(conflicting, 2))).toEqual({ batchItemFailures: [] });
    expect(await invoke(sqsRecord(JSON.parse(original.body)))).toEqual({ batchItemFailures: [] });

    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
    const message = `idempotencyKey: ${idempotencyKey} was already used for another request`;
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([
      {
        QueueUrl: ENV.DLQ_URL,
        MessageBody: conflicting.body,
        MessageAttributes: withDeadLetterId(
          deadLetterAttributes('IdempotencyKeyConflict', message, conflicting.messageId),
        ),
      },
    ]);
    const events = publishedEvents(eventBridge);
    expect(events.map((event) => event.DetailType)).toEqual([
      'PackageAssociationStarted',
      'PackageRequestRejected',
    ]);
    expect(events[1]?.Detail).toMatchObject({
      messageId: conflicting.messageId,
      requestedIdempotencyKey: idempotencyKey,
      packageId: 'F12',
      error: { code: 'IdempotencyKeyConflict', message },
    });
    expect(events[1]?.Detail).not.toHaveProperty('idempotencyKey');
  });

  it('republishes an event it could not publish under the same eventId, without calling AWS again', async () => {
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
          : { EventId: 'ok' },
      ),
    }));

    expect(await invoke(unlucky, lucky)).toEqual({
      batchItemFailures: [{ itemIdentifier: unlucky.messageId }],
    });
    expect(
      eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries?.length),
    ).toEqual([2, 1, 1]);

    acceptAllEvents(eventBridge);
    expect(await invoke(again(unlucky, 2))).toEqual({ batchItemFailures: [] });
    expect(await invoke(again(unlucky, 3))).toEqual({ batchItemFailures: [] });

    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(2);
    const forA = publishedEvents(eventBridge).filter((event) => event.Detail.domainName === 'orders-a');
    expect(forA).toHaveLength(4);
    expect(new Set(forA.map((event) => JSON.stringify(event.Detail))).size).toBe(1);
    expect(
      sentTo(sqs, ENV.TRACKING_QUEUE_URL).filter((input) => input.MessageBody?.includes(unlucky.messageId)),
    ).toHaveLength(1);
  });

  it('dead-letters a transient failure once its deliveries are spent, as RetriesExhausted', async () => {
    openSearch.on(AssociatePackageCommand).rejects(awsError('ThrottlingException', 'Rate exceeded', 400));
    const last = sqsRecord({ domainName: 'orders-logs', packageId: 'F31' }, { receiveCount: 5 });

    expect(await invoke(last)).toEqual({ batchItemFailures: [] });

    const message =
      'ThrottlingException after 1 attempts (budget 3600 s, at most 5 deliveries): Rate exceeded';
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([
      {
        QueueUrl: ENV.DLQ_URL,
        MessageBody: last.body,
        MessageAttributes: withDeadLetterId(
          deadLetterAttributes('RetriesExhausted', message, last.messageId),
        ),
      },
    ]);
    expect(publishedEvents(eventBridge).map((event) => [event.DetailType, event.Detail.error])).toEqual([
      ['PackageAssociationFailed', { code: 'RetriesExhausted', message, retryable: true }],
    ]);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
  });

  it('retries within the time budget, counted from acceptance, then decides', async () => {
    openSearch.on(AssociatePackageCommand).rejects(awsError('ThrottlingException', 'Rate exceeded', 400));
    const record = sqsRecord({ domainName: 'orders-slow', packageId: 'F32' });
    expect(await invoke(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    vi.setSystemTime(new Date(NOW.getTime() + 3_599_000));
    expect(await invoke(again(record, 2))).toEqual({
      batchItemFailures: [{ itemIdentifier: record.messageId }],
    });
    vi.setSystemTime(new Date(NOW.getTime() + 3_601_000));
    expect(await invoke(again(record, 3))).toEqual({ batchItemFailures: [] });
    expect(detailTypes()).toEqual(['PackageAssociationFailed']);
    expect(publishedEvents(eventBridge)[0]?.Detail).toMatchObject({
      attempt: 3,
      error: { code: 'RetriesExhausted' },
    });
  });

  it('runs one package operation per domain: batch-mates for one domain share it, other domains run at once', async () => {
    const running = new Set<string>();
    const overlaps: string[] = [];
    const operation = async (domainName: string) => {
      for (const other of running) overlaps.push(`${other}|${domainName}`);
      running.add(domainName);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running.delete(domainName);
    };
    openSearch
      .on(AssociatePackageCommand)
      .callsFake(async (input: { DomainName: string; PackageID: string }) => {
        await operation(input.DomainName);
        return associating(input.DomainName, input.PackageID);
      });
    openSearch
      .on(AssociatePackagesCommand)
      .callsFake(async (input: { DomainName: string; PackageList: { PackageID: string }[] }) => {
        await operation(input.DomainName);
        return {
          DomainPackageDetailsList: input.PackageList.map(
            (entry) => associating(input.DomainName, entry.PackageID).DomainPackageDetails,
          ),
        };
      });

    const response = await invoke(
      sqsRecord({ domainName: 'orders-x', packageId: 'F41' }),
      sqsRecord({ domainName: 'orders-x', packageId: 'F42' }),
      sqsRecord({ domainName: 'orders-y', packageId: 'F43' }),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    const together = openSearch.commandCalls(AssociatePackagesCommand).map((call) => call.args[0].input);
    expect(together).toHaveLength(1);
    expect(together[0]?.DomainName).toBe('orders-x');
    expect(together[0]?.PackageList?.map((entry) => entry.PackageID).sort()).toEqual(['F41', 'F42']);
    expect(
      openSearch.commandCalls(AssociatePackageCommand).map((call) => call.args[0].input.PackageID),
    ).toEqual(['F43']);
    // The two domains' operations overlap, whichever starts first; never two on orders-x.
    expect(overlaps.map((pair) => pair.split('|').sort().join('|'))).toContain('orders-x|orders-y');
    expect(overlaps).not.toContain('orders-x|orders-x');
    // Each followed by its own tracking message, all three due back at the same moment (one draw for a group).
    const delays = sentTo(sqs, ENV.TRACKING_QUEUE_URL).map((input) => input.DelaySeconds);
    expect(delays).toHaveLength(3);
    expect(new Set(delays.slice(0, 2)).size).toBe(1);
  });

  it("sends the members of a group AWS refused back to be tried alone, never failing one for another's package", async () => {
    openSearch
      .on(AssociatePackagesCommand)
      .rejects(awsError('ValidationException', 'Prerequisite F72 is not associated', 400));
    openSearch
      .on(AssociatePackageCommand)
      .callsFake((input: { DomainName: string; PackageID: string }) =>
        associating(input.DomainName, input.PackageID),
      );
    const members = ['F71', 'F73'].map((packageId) => sqsRecord({ domainName: 'orders-r', packageId }));

    const refused = await invoke(...members);
    expect(refused.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      members.map((record) => record.messageId).sort(),
    );
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([]);
    // Back together, they no longer group: one goes alone, the other waits for the domain.
    const back = await invoke(...members.map((record) => again(record, 2)));
    expect(openSearch.commandCalls(AssociatePackagesCommand)).toHaveLength(1);
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
    expect(back.batchItemFailures).toHaveLength(1);
  });

  it('lets a request on its last delivery go alone rather than share a refusal it could not retry', async () => {
    openSearch
      .on(AssociatePackageCommand)
      .callsFake((input: { DomainName: string; PackageID: string }) =>
        associating(input.DomainName, input.PackageID),
      );
    const last = again(sqsRecord({ domainName: 'orders-l', packageId: 'F81' }), Number(ENV.MAX_ATTEMPTS));
    const first = sqsRecord({ domainName: 'orders-l', packageId: 'F82' });

    await invoke(last, first);

    expect(openSearch.commandCalls(AssociatePackagesCommand)).toHaveLength(0);
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
  });

  it('keeps a plugin out of a group: it and a dictionary of its domain take the lock one after the other', async () => {
    openSearch
      .on(AssociatePackageCommand)
      .callsFake((input: { DomainName: string; PackageID: string }) =>
        associating(input.DomainName, input.PackageID),
      );
    openSearch.on(DescribePackagesCommand).callsFake((input: { Filters?: { Value?: string[] }[] }) => ({
      PackageDetailsList: (input.Filters?.[0]?.Value ?? []).map((packageId) => ({
        PackageID: packageId,
        PackageType: packageId === 'F51' ? 'ZIP-PLUGIN' : 'TXT-DICTIONARY',
        PackageStatus: 'AVAILABLE',
        AvailablePackageVersion: AVAILABLE_VERSION,
      })),
    }));

    const plugin = sqsRecord({ domainName: 'orders-p', packageId: 'F51' });
    const dictionary = sqsRecord({ domainName: 'orders-p', packageId: 'F52' });
    const response = await invoke(plugin, dictionary);

    expect(openSearch.commandCalls(AssociatePackagesCommand)).toHaveLength(0);
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
    expect(response.batchItemFailures).toHaveLength(1);
  });

  it('a request for a domain locked to another that runs waits without a call to OpenSearch', async () => {
    openSearch
      .on(AssociatePackageCommand)
      .callsFake((input: { DomainName: string; PackageID: string }) =>
        associating(input.DomainName, input.PackageID),
      );
    expect(await invoke(sqsRecord({ domainName: 'orders-queue', packageId: 'F44' }))).toEqual({
      batchItemFailures: [],
    });
    const callsBefore = openSearch.calls().length;

    const waiting = sqsRecord({ domainName: 'orders-queue', packageId: 'F45' });
    expect(await invoke(waiting)).toEqual({ batchItemFailures: [{ itemIdentifier: waiting.messageId }] });

    // DescribePackages and DescribeDomain would only say what the lock already did: the domain is not free.
    expect(openSearch.calls().slice(callsBefore)).toEqual([]);
    const retry = sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);
    expect(retry).toEqual([expect.objectContaining({ ReceiptHandle: waiting.receiptHandle })]);
  });

  describe('paths that lost or contradicted outcomes before the ledger', () => {
    it('carries a requestedBy with U+FFFF into the tracking message and the event', async () => {
      refuseWhatSqsRefuses();
      openSearch.on(AssociatePackageCommand).resolves(associating('orders-text', 'F51'));
      const requestedBy = 'team \uFFFF\uFFFE ✓';
      const record = sqsRecord({ domainName: 'orders-text', packageId: 'F51', requestedBy });

      expect(await invoke(record)).toEqual({ batchItemFailures: [] });

      expect(detailTypes()).toEqual(['PackageAssociationStarted']);
      const [started] = publishedEvents(eventBridge);
      expect(started?.Detail.requestedBy).toBe(requestedBy);
      expect(eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail).toContain(
        '\\uffff',
      );
      expect(sentTo(sqs, ENV.TRACKING_QUEUE_URL)).toHaveLength(1);
    });

    it('on its last delivery, a failure after AWS accepted the call is retried, never decided Failed', async () => {
      openSearch.on(AssociatePackageCommand).resolves(associating('orders-late', 'F52'));
      eventBridge.on(PutEventsCommand).rejects(awsError('InternalException', 'EventBridge is down', 500));
      const record = sqsRecord({ domainName: 'orders-late', packageId: 'F52' }, { receiveCount: 5 });

      expect(await invoke(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
      acceptAllEvents(eventBridge);
      expect(await invoke(again(record, 6))).toEqual({ batchItemFailures: [] });
      expect(await invoke(sqsRecord(JSON.parse(record.body), { messageId: record.messageId }))).toEqual({
        batchItemFailures: [],
      });

      expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
      // Every publication, the refused ones too, is the one Started event.
      expect(new Set(detailTypes())).toEqual(new Set(['PackageAssociationStarted']));
      expect(eventIds('PackageAssociationStarted').size).toBe(1);
      expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([]);
    });

    it('a lost answer: the retry reads the listing and follows what the call started', async () => {
      openSearch
        .on(AssociatePackageCommand)
        .rejectsOnce(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      // Idle when the domain is locked; then showing what the call whose answer was lost started.
      openSearch
        .on(ListPackagesForDomainCommand)
        .resolvesOnce({ DomainPackageDetailsList: [] })
        .resolves({
          DomainPackageDetailsList: [
            { PackageID: 'F53', DomainPackageStatus: 'ASSOCIATING', PackageVersion: 'v1' },
          ],
        });
      const record = sqsRecord({ domainName: 'orders-lost', packageId: 'F53' });

      expect(await invoke(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
      expect(await invoke(again(record, 2))).toEqual({ batchItemFailures: [] });

      expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
      expect(detailTypes()).toEqual(['PackageAssociationStarted']);
      expect(sentTo(sqs, ENV.TRACKING_QUEUE_URL)).toHaveLength(1);
    });

    it('a conflict hiding our own call that failed on the domain decides Failed, and calls AWS only once', async () => {
      // The SDK retried a call whose answer was lost; the retry got the conflict. The domain failed the first.
      openSearch
        .on(AssociatePackageCommand)
        .rejectsOnce(
          new ConflictException({ message: 'A package operation is already in progress', $metadata: {} }),
        )
        .resolves(associating('orders-plugin', 'pkg-5f6e'));
      openSearch.on(ListPackagesForDomainCommand).resolves({
        DomainPackageDetailsList: [
          {
            PackageID: 'pkg-5f6e',
            DomainPackageStatus: 'ASSOCIATION_FAILED',
            LastUpdated: new Date(NOW.getTime() + 1_000),
            ErrorDetails: { ErrorType: 'PluginError', ErrorMessage: 'not compatible' },
          },
        ],
      });
      const record = sqsRecord({ domainName: 'orders-plugin', packageId: 'pkg-5f6e' });

      expect(await invoke(record)).toEqual({ batchItemFailures: [] });
      expect(await invoke(again(record, 2))).toEqual({ batchItemFailures: [] });

      expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
      expect(publishedEvents(eventBridge).map((event) => [event.DetailType, event.Detail.error])).toEqual([
        [
          'PackageAssociationFailed',
          {
            code: 'AssociationFailed',
            message: 'The domain reported ASSOCIATION_FAILED: not compatible',
            retryable: false,
          },
        ],
      ]);
    });

    it('a failure older than the request belongs to another one: the request associates again', async () => {
      openSearch
        .on(AssociatePackageCommand)
        .rejectsOnce(
          new ConflictException({ message: 'Another package operation is in progress', $metadata: {} }),
        )
        .resolves(associating('orders-plugin', 'pkg-5f6f'));
      openSearch.on(ListPackagesForDomainCommand).resolves({
        DomainPackageDetailsList: [
          {
            PackageID: 'pkg-5f6f',
            DomainPackageStatus: 'ASSOCIATION_FAILED',
            LastUpdated: new Date(NOW.getTime() - 3_600_000),
          },
        ],
      });
      const record = sqsRecord({ domainName: 'orders-plugin', packageId: 'pkg-5f6f' });

      expect(await invoke(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
      expect(await invoke(again(record, 2))).toEqual({ batchItemFailures: [] });

      expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(2);
      expect(detailTypes()).toEqual(['PackageAssociationStarted']);
    });

    it('a resend after the window is a new request with an event of its own; within it, a silent duplicate', async () => {
      openSearch
        .on(AssociatePackageCommand)
        .rejects(new ConflictException({ message: 'already in desired state', $metadata: {} }));
      openSearch.on(ListPackagesForDomainCommand).resolves({
        DomainPackageDetailsList: [{ PackageID: 'F54', DomainPackageStatus: 'ACTIVE' }],
      });
      const body = {
        domainName: 'orders-window',
        packageId: 'F54',
        idempotencyKey: `window-${randomUUID()}`,
      };
      await invoke(sqsRecord(body));
      vi.setSystemTime(new Date(NOW.getTime() + 86_399_000));
      await invoke(sqsRecord(body));
      vi.setSystemTime(new Date(NOW.getTime() + 86_401_000));
      expect(await invoke(sqsRecord(body))).toEqual({ batchItemFailures: [] });

      expect(detailTypes()).toEqual(['PackageAssociationSucceeded', 'PackageAssociationSucceeded']);
      expect(eventIds('PackageAssociationSucceeded').size).toBe(2);
    });

    it('a redelivered rejection is not announced or dead-lettered again', async () => {
      const record = sqsRecord('{not json');
      await invoke(record);
      await invoke(again(record, 2));
      expect(detailTypes()).toEqual(['PackageRequestRejected']);
      expect(sentTo(sqs, ENV.DLQ_URL)).toHaveLength(1);
    });

    it('a redriven dead letter keeps its first message id: its request stays a silent duplicate', async () => {
      openSearch
        .on(AssociatePackageCommand)
        .rejects(new ResourceNotFoundException({ message: 'no such package', $metadata: {} }));
      const record = sqsRecord({ domainName: 'orders-redrive', packageId: 'F55' });
      await invoke(record);
      const redriven = {
        ...sqsRecord(record.body),
        messageAttributes: { SourceMessageId: { dataType: 'String', stringValue: record.messageId } },
      };
      expect(await invoke(redriven)).toEqual({ batchItemFailures: [] });
      expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
      expect(detailTypes()).toEqual(['PackageAssociationFailed']);
      expect(sentTo(sqs, ENV.DLQ_URL)).toHaveLength(1);
    });
  });
});
