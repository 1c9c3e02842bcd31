/**
 * The last SQS message carrying a request is never deleted before its decision is announced (the soak test's
 * "lost" request under load: no decision event, no dead letter, nothing queued). Each test injects the fault at
 * the exact step the soak met it at.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { dynamoDbLedger } from '../../src/adapters/ledger.ts';
import type { StepHook } from '../../src/service/ledger-steps.ts';
import { ACCOUNT, lambdaContext, REGION, sqsRecord } from '../helpers/factories.ts';
import { handlerUnderTest } from '../helpers/handler-harness.ts';
import { eventsPublished, FakeDomains } from '../helpers/world.ts';

const harness = handlerUnderTest(async () => ({
  ...(await import('../../src/handlers/lambda-runtime.ts')),
  ...(await import('../../src/service/associate.ts')),
  ...(await import('../../src/service/track.ts')),
}));
const { env: ENV, openSearch, sqs, eventBridge } = harness;

type BatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
const TRACKING_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:package-associator-tracking`;

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** The `state` of a PutItem's item, marshalled or not. */
function stateOf(input: unknown): unknown {
  const state = (input as { Item?: { state?: unknown } } | undefined)?.Item?.state;
  return typeof state === 'object' && state !== null ? (state as { S?: unknown }).S : state;
}

/** The tracking messages the associate handler sent so far, as records of the tracking queue. */
function trackingMessages(): SQSRecord[] {
  return sqs
    .commandCalls(SendMessageBatchCommand)
    .filter((call) => call.args[0].input.QueueUrl === ENV.TRACKING_QUEUE_URL)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => ({ ...sqsRecord(entry.MessageBody ?? ''), eventSourceARN: TRACKING_ARN }));
}

/** Delivers the record to an invocation that claims the request and never goes past `claim` (dead, or slow). */
async function holdAndStall(record: SQSRecord): Promise<void> {
  const { lambdaDependencies, createAssociateHandler } = harness.module();
  const claimed = deferred();
  const stallsAfterClaim: StepHook = {
    after(step) {
      if (step !== 'claim') return undefined;
      claimed.resolve();
      return new Promise<void>(() => undefined);
    },
  };
  const holder = createAssociateHandler({
    ...lambdaDependencies(),
    stepHook: stallsAfterClaim,
  }) as BatchHandler;
  void holder({ Records: [record] }, lambdaContext());
  await claimed.promise;
}

/** The visibility the handler last gave the message with this receipt handle. */
function deferredBy(receiptHandle: string): number | undefined {
  return sqs
    .commandCalls(ChangeMessageVisibilityCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.ReceiptHandle === receiptHandle)
    .at(-1)?.VisibilityTimeout;
}

describe('the last message of a request is not deleted before its decision is announced', () => {
  it("tracker: its decision's answer lost and the associate's clear landed on it, it still publishes the decision", async () => {
    const { lambdaDependencies, createAssociateHandler, createTrackHandler } = harness.module();
    const domains = new FakeDomains();
    domains.looksUntilActive = 0; // the first check sees ACTIVE
    domains.install(openSearch);
    const key = `lost-${randomUUID()}`;

    // Invocation A (the request's only message): follows the request, sends Started and the tracking message,
    // then is slow before its `clear` (CPU load): the tracker gets the tracking message meanwhile.
    const atClear = deferred();
    const mayClear = deferred();
    let paused = false;
    const slowBeforeClear: StepHook = {
      async before(step) {
        if (step !== 'clear' || paused) return;
        paused = true;
        atClear.resolve();
        await mayClear.promise;
      },
    };
    const associate = createAssociateHandler({
      ...lambdaDependencies(),
      stepHook: slowBeforeClear,
    }) as BatchHandler;
    const message = sqsRecord({
      domainName: 'orders-27',
      packageId: 'F9001',
      idempotencyKey: key,
      requestedBy: 'lost-hunt',
    });
    const associated = associate({ Records: [message] }, lambdaContext());
    await atClear.promise;
    const [tracking] = trackingMessages();
    expect(tracking).toBeDefined();

    // The tracker's ledger: real DynamoDB (dynalite) through the real adapter; its `conclude` PutItem takes
    // effect and its answer is lost (a reset, or the 5 s request timeout under load). Before the SDK's retry,
    // A's pending `clear` lands on top of the decision.
    let answerLost = false;
    const client = new DynamoDBClient({ maxAttempts: 5 });
    client.middlewareStack.add(
      (next) => async (args) => {
        const output = await next(args);
        if (!answerLost && stateOf(args.input) === 'SUCCEEDED') {
          answerLost = true;
          mayClear.resolve();
          await associated;
          throw Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });
        }
        return output;
      },
      { step: 'finalizeRequest', priority: 'low', name: 'loseTheConcludeAnswer' },
    );
    const track = createTrackHandler({
      ...lambdaDependencies(),
      ledger: dynamoDbLedger(client, ENV.LEDGER_TABLE),
    }) as BatchHandler;
    const tracked = await track(
      { Records: [tracking as SQSRecord] },
      lambdaContext('package-associator-test-trackAssociation'),
    );
    const associateResponse = await associated;
    expect(answerLost).toBe(true);

    const record = await lambdaDependencies().ledger.get(`request#${key}`);
    const decisions = eventsPublished(eventBridge).filter(
      (event) => event.detailType === 'PackageAssociationSucceeded',
    );
    // Messages that will come back: the ones a handler reported as failed (the others are deleted).
    const kept = associateResponse.batchItemFailures.length + tracked.batchItemFailures.length;
    const seen = {
      state: record?.kind === 'request' ? record.state : record,
      pending: Object.keys(record?.outbox ?? {}),
      decisionEvents: decisions.length,
      messagesKept: kept,
    };
    // The guarantee: a decision event, or a message still queued that will publish it. Here the tracker's
    // message is the last one, and it publishes the decision before it is deleted.
    expect(seen).toEqual({ state: 'SUCCEEDED', pending: [], decisionEvents: 1, messagesKept: 0 });
  });

  it('associate: a delivery past its budget that is the lease holder’s own message is kept until the lease ends', async () => {
    const { lambdaDependencies, createAssociateHandler } = harness.module();
    const domains = new FakeDomains();
    domains.install(openSearch);
    const key = `lost-${randomUUID()}`;
    const body = {
      domainName: 'orders-28',
      packageId: 'F9001',
      idempotencyKey: key,
      requestedBy: 'lost-hunt',
    };
    const messageId = randomUUID();

    // Delivery 4 of the message (MAX_ATTEMPTS is 5 in the harness) claims the request and its invocation dies
    // holding the lease (a timeout, a crash): its lease runs to its deadline + 10 s.
    await holdAndStall(sqsRecord(body, { messageId, receiveCount: 4 }));

    // The visibility timeout (5 s in the soak) is shorter than the function timeout (10 s): the same message
    // comes back while the lease is live, on its last allowed delivery.
    const associate = createAssociateHandler(lambdaDependencies()) as BatchHandler;
    const last = sqsRecord(body, { messageId, receiveCount: 5 });
    const response = await associate({ Records: [last] }, lambdaContext());

    // Deleting it would leave nothing to finish the request: the holder is dead and this was its own message.
    // Kept, it comes back once the lease has run out (the takeover then ends it at the end of its budget).
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: messageId }]);
    const record = await lambdaDependencies().ledger.get(`request#${key}`);
    expect(record?.kind === 'request' && record.state).toBe('ACCEPTED');
    const leaseLeft = record?.kind === 'request' ? (record.leaseUntil ?? 0) - Date.now() : 0;
    expect(deferredBy(last.receiptHandle)).toBeGreaterThanOrEqual(Math.floor(leaseLeft / 1000));
  });

  it('associate: a copy past its budget that is another message ends, the holder’s message finishing it', async () => {
    const { lambdaDependencies, createAssociateHandler } = harness.module();
    new FakeDomains().install(openSearch);
    const key = `lost-${randomUUID()}`;
    const body = {
      domainName: 'orders-29',
      packageId: 'F9001',
      idempotencyKey: key,
      requestedBy: 'lost-hunt',
    };
    await holdAndStall(sqsRecord(body, { receiveCount: 1 }));

    const copy = sqsRecord(body, { receiveCount: 5 });
    const associate = createAssociateHandler(lambdaDependencies()) as BatchHandler;
    expect(await associate({ Records: [copy] }, lambdaContext())).toEqual({ batchItemFailures: [] });
  });
});
