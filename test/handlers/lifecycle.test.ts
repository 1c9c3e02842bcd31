import {
  AssociatePackageCommand,
  DescribeDomainCommand,
  DescribePackagesCommand,
  DissociatePackageCommand,
  GetPackageVersionHistoryCommand,
  ListPackagesForDomainCommand,
} from '@aws-sdk/client-opensearch';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { requestRecordId } from '../../src/domain/ledger.ts';
import { ACCOUNT, lambdaContext, REGION, sqsEvent, sqsRecord } from '../helpers/factories.ts';
import {
  AVAILABLE_VERSION,
  awsError,
  handlerUnderTest,
  NOW,
  publishedEvents,
  sentTo,
} from '../helpers/handler-harness.ts';

// The package lifecycle of docs/DESIGN.md ("The package lifecycle"): one test per row of its tables.

const harness = handlerUnderTest(async () => ({
  associate: (await import('../../src/handlers/associate-package.ts')).handler,
  track: (await import('../../src/handlers/track-association.ts')).handler,
  lambdaDependencies: (await import('../../src/handlers/lambda-runtime.ts')).lambdaDependencies,
}));
const { env: ENV, openSearch, sqs, eventBridge } = harness;

type Record = ReturnType<typeof sqsRecord>;
const associate = (...records: Record[]) =>
  harness.module().associate(sqsEvent(records), lambdaContext()) as Promise<SQSBatchResponse>;
const TRACKING_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:package-associator-tracking`;
const track = (body: string, receiveCount: number) =>
  harness
    .module()
    .track(
      sqsEvent([{ ...sqsRecord(JSON.parse(body), { receiveCount }), eventSourceARN: TRACKING_ARN }]),
      lambdaContext('package-associator-test-trackAssociation'),
    ) as Promise<SQSBatchResponse>;
const again = (record: Record, receiveCount: number): Record => ({
  ...record,
  attributes: { ...record.attributes, ApproximateReceiveCount: String(receiveCount) },
});

const detailTypes = () => publishedEvents(eventBridge).map((event) => event.DetailType);
const outcome = () =>
  publishedEvents(eventBridge)
    .filter((event) => !event.DetailType?.endsWith('Started'))
    .map((event) => [
      event.DetailType,
      (event.Detail.error as { code?: string } | undefined)?.code,
      event.Detail.packageVersion,
    ]);
const calls = (command: Parameters<typeof openSearch.commandCalls>[0]) =>
  openSearch.commandCalls(command).length;
/** The visibility the handlers last gave the message received with this handle. */
const visibilityOf = (receiptHandle: string) =>
  sqs
    .commandCalls(ChangeMessageVisibilityCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.ReceiptHandle === receiptHandle)
    .at(-1)?.VisibilityTimeout;
const trackingBody = () => {
  const body = sentTo(sqs, ENV.TRACKING_QUEUE_URL)[0]?.MessageBody;
  if (body === undefined) throw new Error('no tracking message was sent');
  return body;
};

function packageIs(
  status: string,
  availableVersion: string,
  options: { type?: string; history?: string[] } = {},
) {
  openSearch.on(DescribePackagesCommand).callsFake((input: { Filters?: { Value?: string[] }[] }) => ({
    PackageDetailsList: (input.Filters?.[0]?.Value ?? []).map((packageId) => ({
      PackageID: packageId,
      PackageType: options.type ?? 'TXT-DICTIONARY',
      PackageStatus: status,
      AvailablePackageVersion: availableVersion,
    })),
  }));
  openSearch.on(GetPackageVersionHistoryCommand).resolves({
    PackageVersionHistoryList: (options.history ?? [availableVersion]).map((version) => ({
      PackageVersion: version,
    })),
  });
}

function domainLists(
  ...details: { PackageID: string; DomainPackageStatus: string; PackageVersion?: string }[]
) {
  openSearch.on(ListPackagesForDomainCommand).resolves({ DomainPackageDetailsList: details as never });
}

const answer = (status: string, version = AVAILABLE_VERSION, type = 'TXT-DICTIONARY') => ({
  DomainPackageDetails: {
    PackageID: 'F1',
    DomainName: 'orders-a',
    PackageType: type,
    PackageVersion: version,
    DomainPackageStatus: status,
  } as never,
});

const request = (fields: object = {}) => sqsRecord({ domainName: 'orders-a', packageId: 'F1', ...fields });

describe('versions', () => {
  it('associates again a domain at an older version, and succeeds only at the target version', async () => {
    packageIs('AVAILABLE', 'v2', { history: ['v1', 'v2'] });
    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: 'v1' });
    openSearch.on(AssociatePackageCommand).resolves(answer('ASSOCIATING', 'v2'));

    expect(await associate(request())).toEqual({ batchItemFailures: [] });
    expect(calls(AssociatePackageCommand)).toBe(1);
    const body = trackingBody();

    // A listing still showing the old version is one that lags the call: checked again, not decided.
    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: 'v1' });
    expect((await track(body, 2)).batchItemFailures).toHaveLength(1);
    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: 'v2' });
    expect(await track(body, 3)).toEqual({ batchItemFailures: [] });

    expect(outcome()).toEqual([['PackageAssociationSucceeded', undefined, 'v2']]);
    expect(publishedEvents(eventBridge)[0]?.Detail).toMatchObject({
      action: 'associate',
      targetVersion: 'v2',
    });
  });

  it('succeeds without Started or any operation when the domain is already at the target version', async () => {
    packageIs('AVAILABLE', 'v2');
    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: 'v2' });

    expect(await associate(request({ packageVersion: 'v2' }))).toEqual({ batchItemFailures: [] });

    expect(calls(AssociatePackageCommand)).toBe(0);
    expect(detailTypes()).toEqual(['PackageAssociationSucceeded']);
    expect(outcome()).toEqual([['PackageAssociationSucceeded', undefined, 'v2']]);
  });

  it('fails a version older than the available one as PackageNotUsable, with its dead letter, and no call', async () => {
    packageIs('AVAILABLE', 'v3', { history: ['v1', 'v2', 'v3'] });

    const record = request({ packageVersion: 'v2' });
    expect(await associate(record)).toEqual({ batchItemFailures: [] });

    expect(calls(AssociatePackageCommand)).toBe(0);
    expect(outcome()).toEqual([['PackageAssociationFailed', 'PackageNotUsable', undefined]]);
    expect(sentTo(sqs, ENV.DLQ_URL).map((letter) => letter.MessageBody)).toEqual([record.body]);
  });

  it('fails a package that failed validation as PackageNotUsable', async () => {
    packageIs('VALIDATION_FAILED', 'v1');

    expect(await associate(request())).toEqual({ batchItemFailures: [] });

    expect(calls(AssociatePackageCommand)).toBe(0);
    expect(outcome()).toEqual([['PackageAssociationFailed', 'PackageNotUsable', undefined]]);
  });

  it('waits for a package still being copied or validated towards the target, then associates it', async () => {
    packageIs('VALIDATING', 'v1', { history: ['v1'] });
    const record = request({ packageVersion: 'v2' });

    expect(await associate(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(calls(GetPackageVersionHistoryCommand)).toBe(1);
    expect(calls(AssociatePackageCommand)).toBe(0);
    expect(detailTypes()).toEqual([]);

    packageIs('AVAILABLE', 'v2', { history: ['v1', 'v2'] });
    openSearch.on(AssociatePackageCommand).resolves(answer('ASSOCIATING', 'v2'));
    expect(await associate(again(record, 2))).toEqual({ batchItemFailures: [] });
    expect(calls(AssociatePackageCommand)).toBe(1);
    expect(detailTypes()).toEqual(['PackageAssociationStarted']);
  });

  it('fails a version in the history while the package is being updated past it', async () => {
    packageIs('COPYING', 'v3', { history: ['v1', 'v2', 'v3'] });

    expect(await associate(request({ packageVersion: 'v2' }))).toEqual({ batchItemFailures: [] });

    expect(outcome()).toEqual([['PackageAssociationFailed', 'PackageNotUsable', undefined]]);
  });

  it('reads a refusal to associate as a wait when an update started since the package was read', async () => {
    openSearch
      .on(DescribePackagesCommand)
      .resolvesOnce({
        PackageDetailsList: [{ PackageID: 'F1', PackageStatus: 'AVAILABLE', AvailablePackageVersion: 'v1' }],
      })
      .resolves({
        PackageDetailsList: [{ PackageID: 'F1', PackageStatus: 'COPYING', AvailablePackageVersion: 'v1' }],
      });
    openSearch
      .on(AssociatePackageCommand)
      .rejects(awsError('ValidationException', 'Package is not in a valid state', 400));
    const record = request();

    expect(await associate(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(outcome()).toEqual([]);
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([]);
  });

  it('a lost answer after the package was updated: the listing judges the pinned target, not the new one', async () => {
    packageIs('AVAILABLE', 'v1');
    openSearch
      .on(AssociatePackageCommand)
      .rejectsOnce(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const record = request();
    expect(await associate(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });

    // Meanwhile v2 became available; the call whose answer was lost applied v1 and runs.
    packageIs('AVAILABLE', 'v2', { history: ['v1', 'v2'] });
    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ASSOCIATING', PackageVersion: 'v1' });
    expect(await associate(again(record, 2))).toEqual({ batchItemFailures: [] });

    expect(calls(AssociatePackageCommand)).toBe(1);
    expect(detailTypes()).toEqual(['PackageAssociationStarted']);
    expect(publishedEvents(eventBridge)[0]?.Detail.targetVersion).toBe('v1');
  });
});

describe('an operation the SDK gave up on after throttles', () => {
  it('is called again on the next delivery: throttled attempts never took effect, so no listing is read for it', async () => {
    // The operations client retries only throttles (src/adapters/clients.ts): all three attempts were refused.
    const throttled = Object.assign(awsError('ThrottlingException', 'Rate exceeded', 400), {
      $metadata: { httpStatusCode: 400, attempts: 3 },
    });
    openSearch.on(AssociatePackageCommand).rejectsOnce(throttled).resolves(answer('ASSOCIATING'));
    const record = request();
    expect(await associate(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    const listingsBefore = calls(ListPackagesForDomainCommand);

    expect(await associate(again(record, 2))).toEqual({ batchItemFailures: [] });

    expect(calls(AssociatePackageCommand)).toBe(2);
    expect(calls(ListPackagesForDomainCommand)).toBe(listingsBefore);
    expect(detailTypes()).toEqual(['PackageAssociationStarted']);
  });
});

describe('a throttled read', () => {
  it('is retried after at most four times the base, however many deliveries the request had before', async () => {
    // BACKOFF_BASE_SECONDS is 10 in the harness: delivery 4 would otherwise wait 40 to 80 s.
    openSearch.on(DescribePackagesCommand).rejects(awsError('ThrottlingException', 'Rate exceeded', 400));
    const record = again(request(), 4);
    expect(await associate(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    const delay = sqs.commandCalls(ChangeMessageVisibilityCommand).at(-1)?.args[0].input.VisibilityTimeout;
    expect(delay).toBeGreaterThanOrEqual(20);
    expect(delay).toBeLessThanOrEqual(40);
  });
});

describe('readiness', () => {
  it('waits while the domain is processing a change, then goes on', async () => {
    openSearch.on(DescribeDomainCommand).resolves({ DomainStatus: { Processing: true } as never });
    const record = request();

    expect(await associate(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(calls(AssociatePackageCommand)).toBe(0);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(1);

    openSearch.on(DescribeDomainCommand).resolves({ DomainStatus: { Processing: false } as never });
    openSearch.on(AssociatePackageCommand).resolves(answer('ASSOCIATING'));
    expect(await associate(again(record, 2))).toEqual({ batchItemFailures: [] });
    expect(calls(AssociatePackageCommand)).toBe(1);
  });

  it('chooses the target again after a wait: a package updated meanwhile is associated at its new version', async () => {
    packageIs('AVAILABLE', 'v1');
    openSearch.on(DescribeDomainCommand).resolves({ DomainStatus: { Processing: true } as never });
    const record = request();
    expect(await associate(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });

    packageIs('AVAILABLE', 'v2', { history: ['v1', 'v2'] });
    openSearch.on(DescribeDomainCommand).resolves({ DomainStatus: { Processing: false } as never });
    openSearch.on(AssociatePackageCommand).resolves(answer('ASSOCIATING', 'v2'));
    expect(await associate(again(record, 2))).toEqual({ batchItemFailures: [] });

    expect(calls(AssociatePackageCommand)).toBe(1);
    expect(publishedEvents(eventBridge)[0]?.Detail).toMatchObject({
      status: 'ASSOCIATING',
      targetVersion: 'v2',
    });
  });

  it('fails a package that does not exist, without calling AssociatePackage', async () => {
    openSearch.on(DescribePackagesCommand).resolves({ PackageDetailsList: [] });

    expect(await associate(request())).toEqual({ batchItemFailures: [] });

    expect(calls(AssociatePackageCommand)).toBe(0);
    expect(outcome()).toEqual([['PackageAssociationFailed', 'ResourceNotFoundException', undefined]]);
  });
});

describe('dissociation', () => {
  const dissociate = (fields: object = {}) => request({ action: 'dissociate', ...fields });

  it('follows DISSOCIATING until the package is gone: its own Started and Succeeded', async () => {
    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: 'v1' });
    openSearch.on(DissociatePackageCommand).resolves(answer('DISSOCIATING'));

    expect(await associate(dissociate())).toEqual({ batchItemFailures: [] });
    expect(calls(DissociatePackageCommand)).toBe(1);
    expect(detailTypes()).toEqual(['PackageDissociationStarted']);
    expect(publishedEvents(eventBridge)[0]?.Detail).toMatchObject({
      action: 'dissociate',
      status: 'DISSOCIATING',
    });

    domainLists();
    expect(await track(trackingBody(), 2)).toEqual({ batchItemFailures: [] });
    expect(outcome()).toEqual([['PackageDissociationSucceeded', undefined, undefined]]);
    expect(calls(DescribePackagesCommand)).toBe(0);
  });

  it('ends DISSOCIATION_FAILED as Failed with what AWS said', async () => {
    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE' });
    openSearch.on(DissociatePackageCommand).resolves(answer('DISSOCIATING'));
    expect(await associate(dissociate())).toEqual({ batchItemFailures: [] });

    openSearch.on(ListPackagesForDomainCommand).resolves({
      DomainPackageDetailsList: [
        {
          PackageID: 'F1',
          DomainPackageStatus: 'DISSOCIATION_FAILED',
          ErrorDetails: { ErrorType: 'InUse', ErrorMessage: 'used by index products' },
        },
      ],
    });
    expect(await track(trackingBody(), 2)).toEqual({ batchItemFailures: [] });

    expect(outcome()).toEqual([['PackageDissociationFailed', 'DissociationFailed', undefined]]);
    expect(publishedEvents(eventBridge).at(-1)?.Detail.errorDetails).toEqual({
      errorType: 'InUse',
      errorMessage: 'used by index products',
    });
  });

  it('succeeds without Started or an operation when the package is not associated', async () => {
    domainLists();

    expect(await associate(dissociate())).toEqual({ batchItemFailures: [] });

    expect(calls(DissociatePackageCommand)).toBe(0);
    expect(detailTypes()).toEqual(['PackageDissociationSucceeded']);
  });

  it("reads AWS's 'not associated' refusal by the listing: gone is Succeeded", async () => {
    // Listed when the domain was locked, gone when the call came (removed by someone else in between).
    openSearch
      .on(ListPackagesForDomainCommand)
      .resolvesOnce({ DomainPackageDetailsList: [{ PackageID: 'F1', DomainPackageStatus: 'ACTIVE' }] })
      .resolves({ DomainPackageDetailsList: [] });
    openSearch
      .on(DissociatePackageCommand)
      .rejects(awsError('ValidationException', 'Package is not associated to this domain', 400));

    expect(await associate(dissociate())).toEqual({ batchItemFailures: [] });

    expect(outcome()).toEqual([['PackageDissociationSucceeded', undefined, undefined]]);
    expect(sentTo(sqs, ENV.DLQ_URL)).toEqual([]);
  });
});

describe('one package operation per domain', () => {
  /** The first request operates on the domain: ASSOCIATING, followed; its tracking message. */
  const firstHoldsTheDomain = async () => {
    domainLists();
    openSearch.on(AssociatePackageCommand).resolves(answer('ASSOCIATING'));
    expect(await associate(request())).toEqual({ batchItemFailures: [] });
    return trackingBody();
  };
  const waitsForTheDomain = async (record: Record) => {
    expect(await associate(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
  };

  it('makes a request for a domain another request is operating on wait, across invocations, until its decision', async () => {
    const firstTracking = await firstHoldsTheDomain();

    const second = request({ packageId: 'F2' });
    await waitsForTheDomain(second);
    expect(calls(AssociatePackageCommand)).toBe(1);

    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: AVAILABLE_VERSION });
    expect(await track(firstTracking, 2)).toEqual({ batchItemFailures: [] });
    expect(await associate(again(second, 2))).toEqual({ batchItemFailures: [] });
    expect(calls(AssociatePackageCommand)).toBe(2);
    expect(openSearch.commandCalls(AssociatePackageCommand)[1]?.args[0].input.PackageID).toBe('F2');
  });

  it('ends a request that never pinned a call RetriesExhausted at the end of its budget, though its outcome was unknown', async () => {
    await firstHoldsTheDomain();
    const second = request({ packageId: 'F2', idempotencyKey: 'never-called' });
    await waitsForTheDomain(second);
    const { ledger } = harness.module().lambdaDependencies();
    const held = await ledger.get(requestRecordId('never-called'));
    if (held?.kind !== 'request') throw new Error('the waiting request has no record');
    expect(held.calledAt).toBeUndefined();
    // As a holder that died leaves it: its successor cannot know whether a call was made.
    expect((await ledger.write({ ...held, callUncertain: true }, held, 'test-write')).written).toBe(true);
    eventBridge.resetHistory();
    sqs.resetHistory();

    expect(await associate(again(second, Number(ENV.MAX_ATTEMPTS)))).toEqual({ batchItemFailures: [] });

    // Without `calledAt` no call of it ran: the tracker would find nothing and call it AssociationLost.
    expect(outcome().map(([type, code]) => [type, code])).toEqual([
      ['PackageAssociationFailed', 'RetriesExhausted'],
    ]);
    expect(sentTo(sqs, ENV.TRACKING_QUEUE_URL)).toEqual([]);
  });

  it('makes a waiting request cost no control-plane call, and a domain left idle no listing', async () => {
    const firstTracking = await firstHoldsTheDomain();
    const openSearchCalls = () => openSearch.calls().length;

    const before = openSearchCalls();
    const second = request({ packageId: 'F2' });
    await waitsForTheDomain(second);
    expect(openSearchCalls()).toBe(before);

    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: AVAILABLE_VERSION });
    expect(await track(firstTracking, 2)).toEqual({ batchItemFailures: [] });
    const listingsBefore = calls(ListPackagesForDomainCommand);
    expect(await associate(again(second, 2))).toEqual({ batchItemFailures: [] });
    // The first request's operation was seen to end: its lock was left idle, so none is read to take it.
    expect(calls(ListPackagesForDomainCommand)).toBe(listingsBefore);
    expect(calls(AssociatePackageCommand)).toBe(2);
  });

  it('wakes every request waiting when the holder is decided: their messages are made visible at once', async () => {
    const firstTracking = await firstHoldsTheDomain();
    const second = request({ packageId: 'F2' });
    const third = request({ packageId: 'F3' });
    await waitsForTheDomain(second);
    await waitsForTheDomain(third);
    // Each waits its backoff, listed in the lock.
    expect(visibilityOf(second.receiptHandle)).toBeGreaterThan(0);
    expect(visibilityOf(third.receiptHandle)).toBeGreaterThan(0);

    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: AVAILABLE_VERSION });
    expect(await track(firstTracking, 2)).toEqual({ batchItemFailures: [] });
    // All of them, so that they can meet in one invocation and share one operation; a woken request that finds
    // the lock taken again has only read the ledger.
    expect(visibilityOf(second.receiptHandle)).toBe(0);
    expect(visibilityOf(third.receiptHandle)).toBe(0);
  });

  it('does not wake a waiter whose backoff has ended: its handle may act on the delivery now running', async () => {
    const firstTracking = await firstHoldsTheDomain();
    const second = request({ packageId: 'F2' });
    await waitsForTheDomain(second);
    const backoff = visibilityOf(second.receiptHandle) ?? 0;

    vi.setSystemTime(new Date(Date.now() + (backoff + 1) * 1000));
    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: AVAILABLE_VERSION });
    expect(await track(firstTracking, 2)).toEqual({ batchItemFailures: [] });
    expect(visibilityOf(second.receiptHandle)).toBe(backoff);
  });

  it('lists a waiter once, with its newest receipt handle, and takes it off the list when it takes the lock', async () => {
    const firstTracking = await firstHoldsTheDomain();
    const second = request({ packageId: 'F2' });
    await waitsForTheDomain(second);
    const secondAgain = { ...again(second, 2), receiptHandle: `${second.receiptHandle}-again` };
    expect(await associate(secondAgain)).toEqual({
      batchItemFailures: [{ itemIdentifier: second.messageId }],
    });

    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: AVAILABLE_VERSION });
    expect(await track(firstTracking, 2)).toEqual({ batchItemFailures: [] });
    expect(visibilityOf(secondAgain.receiptHandle)).toBe(0);
    expect(visibilityOf(second.receiptHandle)).toBeGreaterThan(0);

    expect(await associate(again(second, 3))).toEqual({ batchItemFailures: [] });
    const lock = await harness.module().lambdaDependencies().ledger.get('domain#orders-a');
    expect(lock).toMatchObject({ holder: { packageId: 'F2' } });
    expect(lock?.kind === 'domain-lock' && lock.waiters).toBeFalsy();
  });

  it('keeps a domain whose holder timed out while AWS goes on closed until the listing shows it idle', async () => {
    const firstTracking = await firstHoldsTheDomain();
    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ASSOCIATING' });
    vi.setSystemTime(new Date(NOW.getTime() + 31 * 60_000));
    expect(await track(firstTracking, 9)).toEqual({ batchItemFailures: [] });
    expect(outcome()).toEqual([['PackageAssociationFailed', 'TimedOut', undefined]]);

    const second = request({ packageId: 'F2' });
    await waitsForTheDomain(second);
    expect(calls(AssociatePackageCommand)).toBe(1);

    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE' });
    expect(await associate(again(second, 2))).toEqual({ batchItemFailures: [] });
    expect(calls(AssociatePackageCommand)).toBe(2);
  });
});

describe('deadlines per package type', () => {
  it('follows a plugin past the dictionary deadline, with checks backed off to the plugin cap', async () => {
    packageIs('AVAILABLE', 'v1', { type: 'ZIP-PLUGIN' });
    domainLists();
    openSearch.on(AssociatePackageCommand).resolves(answer('ASSOCIATING', 'v1', 'ZIP-PLUGIN'));
    expect(await associate(request())).toEqual({ batchItemFailures: [] });
    const body = trackingBody();

    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ASSOCIATING' });
    vi.setSystemTime(new Date(NOW.getTime() + 2 * 3600_000));
    expect((await track(body, 12)).batchItemFailures).toHaveLength(1);
    const delay = sqs.commandCalls(ChangeMessageVisibilityCommand).at(-1)?.args[0].input.VisibilityTimeout;
    // Far past the dictionaries' 300 s cap: a 6 h blue/green costs a few dozen checks.
    expect(delay).toBeGreaterThan(600);
    expect(outcome()).toEqual([]);

    domainLists({ PackageID: 'F1', DomainPackageStatus: 'ACTIVE', PackageVersion: 'v1' });
    expect(await track(body, 13)).toEqual({ batchItemFailures: [] });
    expect(outcome()).toEqual([['PackageAssociationSucceeded', undefined, 'v1']]);
  });
});
