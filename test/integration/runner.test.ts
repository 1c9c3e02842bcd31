import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BatchHandler,
  failedIdsFromResponse,
  type InvocationReport,
  type QueueRunner,
  type QueueRunnerOptions,
  startQueueRunner,
} from '../../local/runner.ts';
import {
  loadFunctionSettings,
  loadParamDefaults,
  loadQueueSettings,
  ServerlessConfigError,
} from '../../local/serverless-config.ts';
import type { RecordedInvocation } from '../fixtures/handlers/recorder.ts';

const REGION = 'eu-west-1';
const FIXTURE_YML = new URL('../fixtures/serverless.fixture.yml', import.meta.url).pathname;
const silentLogger = { warn: () => undefined, error: () => undefined };

let server: FauxqsServer;
let sqs: SQSClient;
let outRoot: string;
const runners: QueueRunner[] = [];
let queueCounter = 0;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  // fauxqs queue URLs use a *.localhost host; the explicit endpoint keeps every call on 127.0.0.1.
  sqs = new SQSClient({
    endpoint: server.address,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  outRoot = mkdtempSync(join(tmpdir(), 'queue-runner-test-'));
});

afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.stop()));
  sqs?.destroy();
  await server?.stop();
  if (outRoot) rmSync(outRoot, { recursive: true, force: true });
});

function fixtureHandler(name: string) {
  return { module: new URL(`../fixtures/handlers/${name}.ts`, import.meta.url).href, export: 'handler' };
}

async function createQueuePair(options: { visibilityTimeout: number; maxReceiveCount?: number }) {
  queueCounter += 1;
  const name = `runner-test-${queueCounter}`;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqUrl = dlq.QueueUrl ?? '';
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeout),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount ?? 3,
        }),
      },
    }),
  );
  const queueUrl = queue.QueueUrl ?? '';
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  return { queueUrl, queueArn, dlqUrl };
}

async function sendBodies(queueUrl: string, bodies: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < bodies.length; start += 10) {
    const output = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(start, start + 10).map((body, index) => ({
          Id: `e${index}`,
          MessageBody: body,
          MessageAttributes: {
            kind: { DataType: 'String', StringValue: 'fixture' },
            blob: { DataType: 'Binary', BinaryValue: Buffer.from('binary-attribute') },
          },
        })),
      }),
    );
    expect(output.Failed ?? []).toEqual([]);
    ids.push(...(output.Successful ?? []).map((entry) => entry.MessageId ?? ''));
  }
  return ids;
}

/** Messages still in the queue, visible or in flight. */
async function messagesInQueue(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

type RunnerOverrides = Partial<Omit<QueueRunnerOptions, 'sqs' | 'queueUrl'>> & { queueUrl: string };

/** Starts a runner whose fixture handlers record into a directory of their own. */
function startRunner(overrides: RunnerOverrides) {
  const outDir = join(outRoot, `runner-${runners.length}`);
  mkdirSync(outDir);
  const reports: InvocationReport[] = [];
  const runner = startQueueRunner({
    sqs,
    handler: fixtureHandler('echo'),
    functionName: 'associatePackage-test',
    batchSize: 10,
    maximumBatchingWindowSeconds: 0,
    maximumConcurrency: 2,
    timeoutSeconds: 5,
    logger: silentLogger,
    onInvoke: (report) => reports.push(report),
    ...overrides,
    environment: { RUNNER_FIXTURE_OUT_DIR: outDir, ...overrides.environment },
  });
  runners.push(runner);
  const recorded = (): RecordedInvocation[] =>
    readdirSync(outDir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => JSON.parse(readFileSync(join(outDir, file), 'utf8')) as RecordedInvocation)
      .sort((a, b) => a.startedAt - b.startedAt);
  const receiveCounts = (messageId: string): string[] =>
    recorded()
      .flatMap((invocation) => invocation.records)
      .filter((record) => record.messageId === messageId)
      .map((record) => record.attributes.ApproximateReceiveCount)
      .sort();
  return { runner, reports, recorded, receiveCounts };
}

describe('startQueueRunner', () => {
  it('invokes with batches of up to batchSize, Lambda-shaped records and context, in a warm worker', async () => {
    const { queueUrl, queueArn } = await createQueuePair({ visibilityTimeout: 5 });
    const bodies = Array.from({ length: 25 }, (_, index) => JSON.stringify({ index }));
    const sentIds = await sendBodies(queueUrl, bodies);
    const { runner, reports, recorded } = startRunner({
      queueUrl,
      batchSize: 10,
      maximumBatchingWindowSeconds: 1,
      maximumConcurrency: 1,
      memorySize: 512,
    });

    await waitFor(() => reports.reduce((sum, report) => sum + report.deletedCount, 0) === 25);
    await runner.stop();

    expect(reports.map((report) => report.batchSize)).toEqual([10, 10, 5]);
    expect(reports.every((report) => report.outcome === 'ok' && report.failedMessageIds.length === 0)).toBe(
      true,
    );
    expect(await messagesInQueue(queueUrl)).toBe(0);
    const invocations = recorded();
    const records = invocations.flatMap((invocation) => invocation.records);
    expect(records.map((record) => record.messageId).sort()).toEqual([...sentIds].sort());

    const record = records.find((candidate) => candidate.body === bodies[0]);
    expect(record).toMatchObject({
      messageId: sentIds[0],
      body: bodies[0],
      md5OfBody: createHash('md5')
        .update(bodies[0] ?? '')
        .digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: REGION,
      attributes: { ApproximateReceiveCount: '1', SenderId: expect.any(String) },
      messageAttributes: {
        kind: { stringValue: 'fixture', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: {
          binaryValue: Buffer.from('binary-attribute').toString('base64'),
          stringListValues: [],
          binaryListValues: [],
          dataType: 'Binary',
        },
      },
    });
    expect(record?.receiptHandle).toEqual(expect.any(String));
    expect(record?.attributes.SentTimestamp).toMatch(/^\d{13}$/);
    expect(record?.attributes.ApproximateFirstReceiveTimestamp).toMatch(/^\d{13}$/);

    const [first] = invocations;
    expect(first).toMatchObject({
      functionName: 'associatePackage-test',
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${REGION}:000000000000:function:associatePackage-test`,
      memoryLimitInMB: '512',
      awsRequestId: reports[0]?.awsRequestId,
      logGroupName: '/aws/lambda/associatePackage-test',
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(first?.awsRequestId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(first?.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    for (const invocation of invocations) {
      expect(invocation.remainingAtStartMs).toBeLessThanOrEqual(5_000);
      expect(invocation.remainingAtStartMs).toBeGreaterThan(4_000);
      expect(invocation.remainingAtEndMs).toBeLessThan(invocation.remainingAtStartMs - 40);
    }

    // One worker served all three invocations: same thread, same log stream, module state kept.
    expect(new Set(invocations.map((invocation) => invocation.threadId)).size).toBe(1);
    expect(new Set(invocations.map((invocation) => invocation.logStreamName)).size).toBe(1);
    expect(invocations.map((invocation) => invocation.moduleInvocation)).toEqual([1, 2, 3]);
    expect(reports.map((report) => report.coldStart)).toEqual([true, false, false]);
    expect(reports[0]?.initDurationMs).toBeGreaterThan(0);
    expect(runner.stats()).toMatchObject({ invocations: 3, ok: 3, deletedMessages: 25, workerStarts: 1 });
  });

  it('deletes records not in batchItemFailures; failed ones come back and reach the DLQ after maxReceiveCount', async () => {
    const { queueUrl, dlqUrl } = await createQueuePair({ visibilityTimeout: 1, maxReceiveCount: 3 });
    const bodies = [
      { name: 'ok-1' },
      { name: 'fail-1', fail: true },
      { name: 'ok-2' },
      { name: 'fail-2', fail: true },
    ];
    const ids = await sendBodies(
      queueUrl,
      bodies.map((body) => JSON.stringify(body)),
    );
    const [okId1 = '', failId1 = '', okId2 = '', failId2 = ''] = ids;
    const { runner, reports, receiveCounts } = startRunner({
      queueUrl,
      handler: fixtureHandler('partial-failure'),
    });

    await waitFor(async () => (await messagesInQueue(dlqUrl)) === 2);
    await runner.stop();

    expect(reports[0]).toMatchObject({ outcome: 'ok', batchSize: 4, deletedCount: 2 });
    expect(reports[0]?.failedMessageIds.sort()).toEqual([failId1, failId2].sort());
    expect(receiveCounts(okId1)).toEqual(['1']);
    expect(receiveCounts(okId2)).toEqual(['1']);
    expect(receiveCounts(failId1)).toEqual(['1', '2', '3']);
    expect(receiveCounts(failId2)).toEqual(['1', '2', '3']);
    expect(await messagesInQueue(queueUrl)).toBe(0);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10 }));
    expect((dead.Messages ?? []).map((message) => message.Body).sort()).toEqual(
      [JSON.stringify(bodies[1]), JSON.stringify(bodies[3])].sort(),
    );
  });

  it('leaves the whole batch to come back when the handler throws, keeping the worker warm', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 1 });
    const ids = await sendBodies(queueUrl, ['{"a":1}', '{"a":2}']);
    const { runner, reports, receiveCounts } = startRunner({
      queueUrl,
      handler: fixtureHandler('throws'),
      maximumConcurrency: 1,
    });

    await waitFor(() => ids.every((id) => receiveCounts(id).includes('2')));
    await runner.stop();

    expect(reports[0]).toMatchObject({
      outcome: 'error',
      deletedCount: 0,
      error: { name: 'FixtureHandlerError', message: 'boom' },
    });
    expect(reports[0]?.failedMessageIds.sort()).toEqual([...ids].sort());
    expect(await messagesInQueue(queueUrl)).toBe(2);
    // A handled error does not cost the environment, unlike a timeout or a crash.
    expect(runner.stats()).toMatchObject({ deletedMessages: 0, workerStarts: 1 });
  });

  it('terminates a handler that runs past its timeout, leaves its batch, and cold-starts a fresh worker', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 1 });
    const [messageId = ''] = await sendBodies(queueUrl, ['{"slow":true}']);
    const { runner, reports, recorded, receiveCounts } = startRunner({
      queueUrl,
      handler: fixtureHandler('sleeps-past-timeout'),
      maximumConcurrency: 1,
      timeoutSeconds: 0.5,
    });

    await waitFor(() => receiveCounts(messageId).includes('2'));
    const stopStarted = performance.now();
    await runner.stop();

    expect(reports[0]).toMatchObject({
      outcome: 'timeout',
      deletedCount: 0,
      error: { name: 'Sandbox.Timedout' },
    });
    expect(reports[0]?.durationMs).toBeGreaterThanOrEqual(490);
    expect(reports[0]?.durationMs).toBeLessThan(1_000);
    // stop() waited for the second invocation to time out as well, not for the 60 s the handler wanted.
    expect(performance.now() - stopStarted).toBeLessThan(1_000);
    expect(reports).toHaveLength(2);
    expect(reports[1]?.coldStart).toBe(true);
    const [first, second] = recorded();
    expect(second?.threadId).not.toBe(first?.threadId);
    expect(second?.moduleInvocation).toBe(1);
    expect(runner.stats()).toMatchObject({ timeouts: 2, workerStarts: 2 });
    expect(await messagesInQueue(queueUrl)).toBe(1);
  });

  it('fails the whole batch when batchItemFailures names a message that is not in it', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 1 });
    const ids = await sendBodies(queueUrl, ['{"b":1}', '{"b":2}']);
    const { runner, reports, receiveCounts } = startRunner({
      queueUrl,
      handler: fixtureHandler('invalid-response'),
    });

    await waitFor(() => ids.every((id) => receiveCounts(id).includes('2')));
    await runner.stop();

    expect(reports[0]).toMatchObject({
      outcome: 'error',
      deletedCount: 0,
      error: { name: 'InvalidBatchResponse' },
    });
    expect(reports[0]?.failedMessageIds.sort()).toEqual([...ids].sort());
  });

  it('never has more than maximumConcurrency invocations in flight', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 10 });
    await sendBodies(
      queueUrl,
      Array.from({ length: 12 }, (_, index) => `{"c":${index}}`),
    );
    const { runner, reports, recorded } = startRunner({
      queueUrl,
      batchSize: 1,
      maximumConcurrency: 3,
      environment: { FIXTURE_SLEEP_MS: '250' },
    });

    await waitFor(() => reports.length === 12);
    await runner.stop();

    const edges = recorded()
      .flatMap((invocation) => [
        { at: invocation.startedAt, delta: 1 },
        { at: invocation.endedAt, delta: -1 },
      ])
      .sort((a, b) => a.at - b.at || a.delta - b.delta);
    let running = 0;
    let peak = 0;
    for (const edge of edges) {
      running += edge.delta;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(3);
    expect(runner.stats()).toMatchObject({
      maxInFlight: 3,
      invocations: 12,
      deletedMessages: 12,
      workerStarts: 3,
    });
    expect(reports.every((report) => report.batchSize === 1)).toBe(true);
  });

  it('stop() returns promptly while long polls are waiting', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 1 });
    const { runner } = startRunner({ queueUrl, maximumConcurrency: 3 });
    await waitFor(() => runner.stats().polls >= 3);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const started = performance.now();
    await runner.stop();

    expect(performance.now() - started).toBeLessThan(2_000);
    expect(runner.stats().invocations).toBe(0);
  });

  it('stop() during a batching window still invokes what was received, then returns', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 30 });
    const [messageId] = await sendBodies(queueUrl, ['{"late":true}']);
    const { runner, reports } = startRunner({
      queueUrl,
      maximumBatchingWindowSeconds: 5,
      maximumConcurrency: 1,
    });
    // The second receive is the one filling the batch during the window.
    await waitFor(() => runner.stats().polls >= 2);

    const started = performance.now();
    await runner.stop();

    expect(performance.now() - started).toBeLessThan(2_000);
    expect(reports).toMatchObject([{ outcome: 'ok', messageIds: [messageId], deletedCount: 1 }]);
    expect(await messagesInQueue(queueUrl)).toBe(0);
  });

  it('injects a crash after the handler ran: side effects happened, nothing was deleted', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 1 });
    const [messageId = ''] = await sendBodies(queueUrl, ['{"crash":true}']);
    const { runner, reports, receiveCounts } = startRunner({ queueUrl, crashRate: 1, faultSeed: 1 });

    await waitFor(() => receiveCounts(messageId).includes('2'));
    await runner.stop();

    expect(reports[0]).toMatchObject({ outcome: 'error', injectedFault: 'crash', deletedCount: 0 });
    // The handler ran to the end both times: the crash came after its side effects.
    expect(receiveCounts(messageId).slice(0, 2)).toEqual(['1', '2']);
    expect(runner.stats().workerStarts).toBeGreaterThanOrEqual(2);
    expect(await messagesInQueue(queueUrl)).toBe(1);
  });

  it('injects timeouts that kill the worker and leave the batch', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 5 });
    await sendBodies(queueUrl, ['{"timeout":true}']);
    const { runner, reports } = startRunner({ queueUrl, timeoutRate: 1, faultSeed: 2 });

    await waitFor(() => reports.length >= 1);
    await runner.stop();

    expect(reports[0]).toMatchObject({ outcome: 'timeout', injectedFault: 'timeout', deletedCount: 0 });
    expect(reports[0]?.durationMs).toBeLessThan(1_100);
    expect(await messagesInQueue(queueUrl)).toBe(1);
  });

  it('draws the same injected faults for the same seed', async () => {
    const outcomesFor = async (faultSeed: number) => {
      const { queueUrl } = await createQueuePair({ visibilityTimeout: 30 });
      await sendBodies(
        queueUrl,
        Array.from({ length: 10 }, (_, index) => `{"seeded":${index}}`),
      );
      const { runner, reports } = startRunner({
        queueUrl,
        handler: async () => ({ batchItemFailures: [] }),
        batchSize: 1,
        maximumConcurrency: 1,
        crashRate: 0.5,
        faultSeed,
      });
      await waitFor(() => reports.length >= 10);
      await runner.stop();
      return reports.slice(0, 10).map((report) => report.outcome);
    };

    const first = await outcomesFor(7);
    expect(await outcomesFor(7)).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['ok', 'error']));
  });

  it('changes the injected crash and timeout rates at run time, and counts what it injected', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 1 });
    const [messageId = ''] = await sendBodies(queueUrl, ['{"rates":true}']);
    const { runner, reports } = startRunner({
      queueUrl,
      handler: async () => ({ batchItemFailures: [] }),
      maximumConcurrency: 1,
      faultSeed: 3,
    });
    expect(runner.faultRates()).toEqual({ crashRate: 0, timeoutRate: 0 });
    runner.setFaultRates({ crashRate: 1 });
    expect(runner.faultRates()).toEqual({ crashRate: 1, timeoutRate: 0 });

    await waitFor(() => reports.length >= 1);
    runner.setFaultRates({ crashRate: 0 });
    await waitFor(() => reports.some((report) => report.outcome === 'ok'));
    await runner.stop();

    expect(reports[0]).toMatchObject({ outcome: 'error', injectedFault: 'crash', messageIds: [messageId] });
    expect(reports.at(-1)).toMatchObject({ outcome: 'ok', messageIds: [messageId], deletedCount: 1 });
    expect(reports.at(-1)?.injectedFault).toBeUndefined();
    expect(runner.stats()).toMatchObject({ injectedCrashes: reports.length - 1, injectedTimeouts: 0 });
    expect(() => runner.setFaultRates({ crashRate: 0.7, timeoutRate: 0.5 })).toThrow(
      /crashRate \+ timeoutRate must be at most 1/,
    );
    expect(() => runner.setFaultRates({ timeoutRate: -1 })).toThrow(/timeoutRate must be between 0 and 1/);
    expect(runner.faultRates()).toEqual({ crashRate: 0, timeoutRate: 0 });
  });

  it('runs in-process function handlers with the same semantics; a timeout stops waiting for them', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 1 });
    const ids = await sendBodies(queueUrl, ['{"keep":true}', '{"keep":false}']);
    const seen: Array<{ event: SQSEvent; context: Context }> = [];
    const handler: BatchHandler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      seen.push({ event, context });
      if (event.Records.some((record) => record.attributes.ApproximateReceiveCount === '2')) {
        await new Promise((resolve) => setTimeout(resolve, 1_300));
      }
      const failed = event.Records.filter((record) => record.body === '{"keep":false}');
      return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
    };
    const { runner, reports } = startRunner({
      queueUrl,
      handler,
      maximumConcurrency: 1,
      timeoutSeconds: 1,
      functionName: 'inProcess',
    });

    await waitFor(() => reports.length >= 2);
    await runner.stop();

    expect(reports[0]).toMatchObject({ outcome: 'ok', deletedCount: 1, failedMessageIds: [ids[1]] });
    expect(reports[1]).toMatchObject({ outcome: 'timeout', batchSize: 1, messageIds: [ids[1]] });
    expect(seen[0]?.context).toMatchObject({
      functionName: 'inProcess',
      invokedFunctionArn: `arn:aws:lambda:${REGION}:000000000000:function:inProcess`,
    });
    expect(seen[0]?.context.getRemainingTimeInMillis()).toBe(0);
    expect(seen[0]?.event.Records[0]?.eventSource).toBe('aws:sqs');
  });

  it('rejects settings Lambda would reject', () => {
    const base = {
      sqs,
      queueUrl: 'http://127.0.0.1:1/000000000000/none',
      handler: async () => undefined,
      functionName: 'f',
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      maximumConcurrency: 1,
      timeoutSeconds: 1,
    };
    expect(() => startQueueRunner({ ...base, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => startQueueRunner({ ...base, maximumConcurrency: 1.5 })).toThrow(/maximumConcurrency/);
    expect(() => startQueueRunner({ ...base, crashRate: 2 })).toThrow(/crashRate/);
    expect(() => startQueueRunner({ ...base, crashRate: 0.6, timeoutRate: 0.6 })).toThrow(/at most 1/);
  });
});

describe('failedIdsFromResponse', () => {
  const batch = new Set(['m1', 'm2']);

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an empty object', {}],
    ['a null list', { batchItemFailures: null }],
    ['an empty list', { batchItemFailures: [] }],
  ])('treats %s as success of every record', (_label, response) => {
    expect(failedIdsFromResponse(response, batch)).toEqual({ valid: true, failedIds: [] });
  });

  it('returns the listed ids once each', () => {
    const response = { batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm2' }] };
    expect(failedIdsFromResponse(response, batch)).toEqual({ valid: true, failedIds: ['m2'] });
  });

  it.each([
    ['a string response', 'failed'],
    ['a list that is not an array', { batchItemFailures: 'm1' }],
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a misspelled key', { batchItemFailures: [{ itemIdentifer: 'm1' }] }],
    ['an id outside the batch', { batchItemFailures: [{ itemIdentifier: 'm3' }] }],
  ])('treats %s as failure of the whole batch', (_label, response) => {
    expect(failedIdsFromResponse(response, batch).valid).toBe(false);
  });
});

describe('serverless-config', () => {
  it('reads each SQS-triggered function with its handler module, limits and event source settings', () => {
    const functions = loadFunctionSettings(FIXTURE_YML);

    expect(Object.keys(functions).sort()).toEqual(['associatePackage', 'trackAssociation']);
    expect(functions.associatePackage).toMatchObject({
      handlerModule: 'src/handlers/associate-package.ts',
      handlerExport: 'handler',
      timeoutSeconds: 30,
      memorySize: 512,
      sqs: {
        queueLogicalId: 'RequestsQueue',
        batchSize: 10,
        maximumBatchingWindowSeconds: 1,
        maximumConcurrency: 4,
        reportBatchItemFailures: true,
      },
    });
    expect(functions.associatePackage?.environment).toEqual({
      EVENT_BUS_NAME: 'default-bus',
      IDEMPOTENCY_TABLE: { Ref: 'IdempotencyTable' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Serverless variable this loader leaves unresolved
      UNKNOWN_VARIABLE: '${ssm:/some/parameter}',
      TRACKING_QUEUE_URL: { 'Fn::GetAtt': ['TrackingQueue', 'QueueUrl'] },
    });
    // Unset values take the framework's and the event source mapping's defaults.
    expect(functions.trackAssociation).toMatchObject({
      handlerModule: 'src/handlers/track-association.ts',
      timeoutSeconds: 6,
      memorySize: 256,
      sqs: {
        queueLogicalId: 'TrackingQueue',
        batchSize: 5,
        maximumBatchingWindowSeconds: 0,
        maximumConcurrency: 5,
        reportBatchItemFailures: false,
      },
    });
  });

  it('reads queue settings, resolving params, self references and short-form tags', () => {
    expect(loadQueueSettings(FIXTURE_YML)).toEqual({
      RequestsQueue: {
        queueName: 'package-associator-fixture-dev-requests',
        visibilityTimeout: 180,
        maxReceiveCount: 5,
        deadLetterLogicalId: 'RequestsDeadLetterQueue',
      },
      RequestsDeadLetterQueue: { messageRetentionPeriod: 1_209_600 },
      TrackingQueue: { visibilityTimeout: 60, delaySeconds: 10 },
    });
    expect(loadQueueSettings(FIXTURE_YML, { stage: 'prod' }).RequestsQueue).toMatchObject({
      queueName: 'package-associator-fixture-prod-requests',
      maxReceiveCount: 8,
    });
  });

  it('returns the default params with their own variables resolved', () => {
    expect(loadParamDefaults(FIXTURE_YML)).toEqual({
      functionTimeout: 30,
      requestsVisibilityTimeout: 180,
      maxReceiveCount: 5,
      queuePrefix: 'package-associator-fixture-dev',
      eventBusName: 'default-bus',
    });
  });

  it('puts the stage block over the defaults when a stage is given, as osls resolves params', () => {
    expect(loadParamDefaults(FIXTURE_YML, { stage: 'prod' })).toEqual({
      functionTimeout: 30,
      requestsVisibilityTimeout: 180,
      maxReceiveCount: 8,
      queuePrefix: 'package-associator-fixture-prod',
      eventBusName: 'default-bus',
    });
  });

  it('names the file when it cannot be read', () => {
    expect(() => loadFunctionSettings('does-not-exist.yml')).toThrow(ServerlessConfigError);
  });

  it('reads the project serverless.yml', () => {
    const functions = loadFunctionSettings('serverless.yml');
    expect(functions.associatePackage?.handlerModule).toBe('src/handlers/associate-package.ts');
    expect(functions.associatePackage?.sqs.batchSize).toBe(10);
    expect(functions.associatePackage?.sqs.reportBatchItemFailures).toBe(true);
    expect(functions.trackAssociation?.handlerModule).toBe('src/handlers/track-association.ts');
    const queues = loadQueueSettings('serverless.yml');
    const requestsQueue = queues[functions.associatePackage?.sqs.queueLogicalId ?? ''];
    expect(requestsQueue?.maxReceiveCount).toBeGreaterThanOrEqual(5);
    expect(requestsQueue?.deadLetterLogicalId).toBeDefined();
  });
});
