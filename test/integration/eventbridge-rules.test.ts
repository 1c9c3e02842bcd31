import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  type RuleState,
  type Target,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EdgeServer, startEdge } from '../../local/edge.ts';
import { createEventBridgeEmulator, type EventBridgeEmulator } from '../../local/eventbridge/index.ts';

const region = 'us-east-1';
const account = '000000000000';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const queueArn = (name: string) => `arn:aws:sqs:${region}:${account}:${name}`;

let fauxqs: FauxqsServer;
let emulator: EventBridgeEmulator;
let edge: EdgeServer;
let events: EventBridgeClient;
let sqs: SQSClient;
let queues = 0;

beforeAll(async () => {
  fauxqs = await startFauxqs({ port: 0, logger: false });
  emulator = createEventBridgeEmulator({
    buses: ['orders'],
    deliverToQueue: async (queue, body, { messageGroupId }) => {
      fauxqs.sendMessage(queue.queueName, body, {
        region: queue.region,
        ...(messageGroupId !== undefined && { messageGroupId }),
      });
    },
  });
  edge = await startEdge({
    port: 0,
    routes: { events: emulator.handle, sqs: { upstream: fauxqs.address, rewriteQueueUrls: true } },
  });
  events = new EventBridgeClient({ endpoint: edge.url, region, credentials, maxAttempts: 1 });
  sqs = new SQSClient({ endpoint: edge.url, region, credentials, maxAttempts: 1 });
});

afterAll(async () => {
  events?.destroy();
  sqs?.destroy();
  await edge?.close();
  await fauxqs?.stop();
});

async function newQueue(attributes?: Record<string, string>): Promise<{ name: string; url: string }> {
  queues += 1;
  const fifo = attributes?.FifoQueue === 'true';
  const name = `subscriber-${queues}${fifo ? '.fifo' : ''}`;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return { name, url: QueueUrl ?? '' };
}

async function drain(url: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }),
    );
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((message) => message.Body ?? ''));
  }
}

async function rule(name: string, pattern: unknown, targets: Target[], bus = 'default'): Promise<void> {
  await events.send(
    new PutRuleCommand({ Name: name, EventBusName: bus, EventPattern: JSON.stringify(pattern) }),
  );
  await events.send(new PutTargetsCommand({ Rule: name, EventBusName: bus, Targets: targets }));
}

async function publish(details: Array<{ n: number; source?: string; state?: string }>, bus = 'default') {
  const output = await events.send(
    new PutEventsCommand({
      Entries: details.map(({ n, source = 'shop.orders', state }) => ({
        EventBusName: bus,
        Source: source,
        DetailType: 'Order',
        Detail: JSON.stringify({ n, ...(state !== undefined && { state }) }),
      })),
    }),
  );
  expect(output.FailedEntryCount).toBe(0);
}

async function failure(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const { name, message, $metadata } = error as Error & { $metadata?: { httpStatusCode?: number } };
    return {
      name,
      message,
      ...($metadata?.httpStatusCode !== undefined && { status: $metadata.httpStatusCode }),
    };
  }
  throw new Error('expected the call to fail');
}

describe('EventBridge rules through the edge, with SQS targets', () => {
  it('delivers exactly the events that match prefix and anything-but, and nothing once disabled', async () => {
    const queue = await newQueue();
    await rule(
      'shop-not-cancelled',
      { source: [{ prefix: 'shop.' }], detail: { state: [{ 'anything-but': 'cancelled' }] } },
      [{ Id: 'q', Arn: queueArn(queue.name) }],
    );
    await publish([
      { n: 1, state: 'placed' },
      { n: 2, state: 'cancelled' },
      { n: 3, source: 'warehouse', state: 'placed' },
      { n: 4 },
      { n: 5, source: 'shop.returns', state: 'returned' },
    ]);
    const received = (await drain(queue.url)).map((body) => JSON.parse(body));
    expect(received.map((event) => event.detail.n).sort()).toEqual([1, 5]);
    expect(received[0]).toMatchObject({
      version: '0',
      account,
      region,
      'detail-type': 'Order',
      resources: [],
    });

    await events.send(new DisableRuleCommand({ Name: 'shop-not-cancelled' }));
    expect((await events.send(new DescribeRuleCommand({ Name: 'shop-not-cancelled' }))).State).toBe(
      'DISABLED',
    );
    await publish([{ n: 6, state: 'placed' }]);
    expect(await drain(queue.url)).toEqual([]);

    await events.send(new EnableRuleCommand({ Name: 'shop-not-cancelled' }));
    await publish([{ n: 7, state: 'placed' }]);
    expect((await drain(queue.url)).map((body) => JSON.parse(body).detail.n)).toEqual([7]);
  });

  it('keeps rules to their bus, and gives each target its own copy, whole, as Input or at an InputPath', async () => {
    const [whole, constant, detail, other] = await Promise.all([
      newQueue(),
      newQueue(),
      newQueue(),
      newQueue(),
    ]);
    await rule(
      'orders-all',
      { source: ['shop.orders'] },
      [
        { Id: 'whole', Arn: queueArn(whole.name) },
        { Id: 'constant', Arn: queueArn(constant.name), Input: '{"wake":"up"}' },
        { Id: 'detail', Arn: queueArn(detail.name), InputPath: '$.detail' },
      ],
      'orders',
    );
    await rule('default-all', { source: ['shop.orders'] }, [{ Id: 'q', Arn: queueArn(other.name) }]);
    await publish([{ n: 1, state: 'placed' }], 'orders');

    expect(JSON.parse((await drain(whole.url))[0] ?? '{}')).toMatchObject({
      source: 'shop.orders',
      detail: { n: 1 },
    });
    expect(await drain(constant.url)).toEqual(['{"wake":"up"}']);
    expect(await drain(detail.url)).toEqual(['{"n":1,"state":"placed"}']);
    expect(await drain(other.url)).toEqual([]);
    expect(emulator.stats()).toMatchObject({ deliveryFailures: 0 });
  });

  it('delivers to a FIFO queue in the target’s message group', async () => {
    const queue = await newQueue({ FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    await rule('fifo', { 'detail-type': ['Order'], detail: { n: [{ numeric: ['>', 100] }] } }, [
      { Id: 'q', Arn: queueArn(queue.name), SqsParameters: { MessageGroupId: 'orders' } },
    ]);
    await publish([{ n: 99 }, { n: 101 }]);
    expect((await drain(queue.url)).map((body) => JSON.parse(body).detail.n)).toEqual([101]);
  });
});

describe('EventBridge rule operations', () => {
  it('describes and lists rules with their ARNs, by prefix and page', async () => {
    const pattern = JSON.stringify({ source: ['a'] });
    for (const name of ['list-b', 'list-a', 'list-c']) {
      await events.send(
        new PutRuleCommand({ Name: name, EventPattern: pattern, Description: `rule ${name}` }),
      );
    }
    const { RuleArn } = await events.send(
      new PutRuleCommand({ Name: 'list-x', EventBusName: 'orders', EventPattern: pattern }),
    );
    expect(RuleArn).toBe(`arn:aws:events:${region}:${account}:rule/orders/list-x`);

    expect(await events.send(new DescribeRuleCommand({ Name: 'list-a' }))).toMatchObject({
      Name: 'list-a',
      Arn: `arn:aws:events:${region}:${account}:rule/list-a`,
      EventPattern: pattern,
      State: 'ENABLED',
      Description: 'rule list-a',
      EventBusName: 'default',
      CreatedBy: account,
    });
    const first = await events.send(new ListRulesCommand({ NamePrefix: 'list-', Limit: 2 }));
    expect(first.Rules?.map((listed) => listed.Name)).toEqual(['list-a', 'list-b']);
    const second = await events.send(
      new ListRulesCommand({ NamePrefix: 'list-', Limit: 2, NextToken: first.NextToken }),
    );
    expect(second.Rules?.map((listed) => listed.Name)).toEqual(['list-c']);
    expect(second.NextToken).toBeUndefined();
    const onOrders = await events.send(new ListRulesCommand({ EventBusName: 'orders', NamePrefix: 'list-' }));
    expect(onOrders.Rules?.map((listed) => listed.Arn)).toEqual([RuleArn]);
  });

  it('refuses to delete a rule with targets, lists and removes them, then deletes it', async () => {
    const queue = await newQueue();
    await rule('doomed', { source: ['a'] }, [
      { Id: 't1', Arn: queueArn(queue.name) },
      { Id: 't2', Arn: queueArn(queue.name), InputPath: '$.detail' },
    ]);
    expect(await failure(events.send(new DeleteRuleCommand({ Name: 'doomed' })))).toEqual({
      name: 'ValidationException',
      message: "Rule can't be deleted since it has targets.",
      status: 400,
    });
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule: 'doomed' }));
    expect(listed.Targets).toEqual([
      { Id: 't1', Arn: queueArn(queue.name) },
      { Id: 't2', Arn: queueArn(queue.name), InputPath: '$.detail' },
    ]);
    const removed = await events.send(
      new RemoveTargetsCommand({ Rule: 'doomed', Ids: ['t1', 't2', 'never-there'] }),
    );
    expect(removed).toMatchObject({ FailedEntryCount: 0, FailedEntries: [] });
    await events.send(new DeleteRuleCommand({ Name: 'doomed' }));
    await events.send(new DeleteRuleCommand({ Name: 'doomed' }));
    expect(await failure(events.send(new DescribeRuleCommand({ Name: 'doomed' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Rule doomed does not exist on EventBus default.',
    });
    expect(
      await failure(events.send(new RemoveTargetsCommand({ Rule: 'doomed', Ids: ['t1'] }))),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Rule doomed does not exist on EventBus default.',
    });
  });

  it('answers bad rules with AWS’s errors', async () => {
    expect(
      await failure(
        events.send(new PutRuleCommand({ Name: 'r', EventBusName: 'nope', EventPattern: '{"a":["b"]}' })),
      ),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Event bus nope does not exist.',
    });
    expect(
      await failure(events.send(new PutRuleCommand({ Name: 'r', EventPattern: '{"a":"b"}' }))),
    ).toMatchObject({
      name: 'InvalidEventPatternException',
      message: 'Event pattern is not valid. Reason: "a" must be an object or an array',
    });
    expect(
      await failure(
        events.send(
          new PutRuleCommand({ Name: 'bad name', State: 'ON' as RuleState, EventPattern: '{"a":["b"]}' }),
        ),
      ),
    ).toMatchObject({
      name: 'ValidationException',
      message:
        "2 validation errors detected: Value 'bad name' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+; Value 'ON' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]",
    });
    expect(await failure(events.send(new PutRuleCommand({ Name: 'r' })))).toMatchObject({
      name: 'ValidationException',
      message: 'Parameter(s) EventPattern or ScheduleExpression must be specified.',
    });
    expect(
      await failure(events.send(new PutRuleCommand({ Name: 'r', ScheduleExpression: 'rate(5 minutes)' }))),
    ).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('does not run scheduled rules'),
    });
    expect(await failure(events.send(new EnableRuleCommand({ Name: 'never-made' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('answers bad targets with AWS’s errors, and refuses what it cannot deliver by name', async () => {
    const queue = await newQueue();
    await events.send(new PutRuleCommand({ Name: 'targets', EventPattern: '{"source":["a"]}' }));
    const put = (...targets: Target[]) =>
      failure(events.send(new PutTargetsCommand({ Rule: 'targets', Targets: targets })));
    const arn = queueArn(queue.name);

    expect(await put({ Id: 'x', Arn: arn, Input: '{}', InputPath: '$.detail' })).toMatchObject({
      name: 'ValidationException',
      message: 'Only one of Input, InputPath, or InputTransformer must be provided for target x.',
    });
    expect(await put({ Id: 'x', Arn: `${arn}.fifo` })).toMatchObject({
      message: 'Parameter(s) SqsParameters must be specified for target: x.',
    });
    expect(await put({ Id: 'x', Arn: 'not-an-arn' })).toMatchObject({
      message: 'Parameter not-an-arn is not valid. Reason: Provided Arn is not in correct format.',
    });
    expect(await put({ Id: 'x', Arn: `arn:aws:lambda:${region}:${account}:function:f` })).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('delivers only to SQS queues'),
    });
    expect(await put({ Id: 'x', Arn: arn, InputTransformer: { InputTemplate: '"<a>"' } })).toMatchObject({
      message: expect.stringContaining('does not apply InputTransformer (target x)'),
    });
    expect(await put({ Id: 'x', Arn: arn, InputPath: '$.detail[0]' })).toMatchObject({
      message: expect.stringContaining('JSON dot notation'),
    });
    const six = Array.from({ length: 6 }, (_, index): Target => ({ Id: `t${index}`, Arn: arn }));
    expect(await put(...six)).toMatchObject({
      name: 'LimitExceededException',
      message: 'The requested resource exceeds the maximum number allowed.',
    });
    expect(
      await failure(
        events.send(new PutTargetsCommand({ Rule: 'missing', Targets: [{ Id: 'x', Arn: arn }] })),
      ),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Rule missing does not exist on EventBus default.',
    });
    expect((await events.send(new ListTargetsByRuleCommand({ Rule: 'targets' }))).Targets).toEqual([]);
  });

  it('tests a pattern against an event', async () => {
    const event = JSON.stringify({
      id: '1',
      account,
      source: 'shop.orders',
      time: '2026-01-02T03:04:05Z',
      region,
      resources: [],
      'detail-type': 'Order',
      detail: { total: 120 },
    });
    const test = (pattern: unknown, against = event) =>
      events.send(new TestEventPatternCommand({ EventPattern: JSON.stringify(pattern), Event: against }));
    expect(
      (await test({ source: [{ prefix: 'shop.' }], detail: { total: [{ numeric: ['>=', 100] }] } })).Result,
    ).toBe(true);
    expect(
      (await test({ source: [{ prefix: 'shop.' }], detail: { total: [{ numeric: ['<', 100] }] } })).Result,
    ).toBe(false);
    expect(await failure(test({ source: [{ prefix: 1 }] }))).toMatchObject({
      name: 'InvalidEventPatternException',
      message: 'Event pattern is not valid. Reason: prefix match pattern must be a string',
    });
    expect(await failure(test({ source: ['x'] }, '{"source":"x"}'))).toMatchObject({
      name: 'ValidationException',
      message: 'Parameter Event is not valid.',
    });
  });
});
