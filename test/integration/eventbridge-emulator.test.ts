import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeEventBusCommand,
  EventBridgeClient,
  ListEventBusesCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createEventBridgeEmulator,
  type EventBridgeEmulator,
  type EventBridgeEmulatorOptions,
} from '../../local/eventbridge/index.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ORDERS_ARN = 'arn:aws:events:us-east-1:000000000000:event-bus/orders';
const servers: Server[] = [];

afterAll(async () => {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
});

interface Harness {
  emulator: EventBridgeEmulator;
  client: EventBridgeClient;
  url: string;
}

async function startEmulator(options: Partial<EventBridgeEmulatorOptions> = {}): Promise<Harness> {
  const emulator = createEventBridgeEmulator({ buses: ['orders'], ...options });
  const server = createServer((req, res) => {
    void emulator.handle(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new EventBridgeClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  return { emulator, client, url };
}

/** Messages the emulator handed to each SQS queue, by queue name. */
function queueCapture() {
  const queues = new Map<string, string[]>();
  const deliverToQueue: EventBridgeEmulatorOptions['deliverToQueue'] = async (queue, body) => {
    queues.set(queue.queueName, [...(queues.get(queue.queueName) ?? []), body]);
  };
  return { deliverToQueue, messages: (queueName: string) => queues.get(queueName) ?? [] };
}

/** A rule on the bus with one SQS target, the way a subscriber makes it. */
async function subscribe(
  client: EventBridgeClient,
  rule: { name: string; bus: string; pattern: unknown; queue: string; accountId?: string },
): Promise<void> {
  const region = await client.config.region();
  await client.send(
    new PutRuleCommand({
      Name: rule.name,
      EventBusName: rule.bus,
      EventPattern: JSON.stringify(rule.pattern),
    }),
  );
  await client.send(
    new PutTargetsCommand({
      Rule: rule.name,
      EventBusName: rule.bus,
      Targets: [{ Id: 'q', Arn: `arn:aws:sqs:${region}:${rule.accountId ?? '000000000000'}:${rule.queue}` }],
    }),
  );
}

function entry(overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry {
  return { Source: 'package-associator', DetailType: 'Test', Detail: '{"n":1}', ...overrides };
}

async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-error: ${String(error)}`);
  }
  throw new Error('expected the call to fail');
}

describe('EventBridge emulator PutEvents', () => {
  it('accepts valid entries on the default bus and on a bus named by ARN, with one EventId each', async () => {
    const { client, emulator } = await startEmulator();
    const output = await client.send(
      new PutEventsCommand({
        Entries: [
          entry(),
          entry({ EventBusName: ORDERS_ARN, Resources: ['arn:aws:es:us-east-1:1:domain/d'] }),
        ],
      }),
    );

    expect(output.FailedEntryCount).toBe(0);
    expect(output.Entries).toHaveLength(2);
    const ids = (output.Entries ?? []).map((result) => result.EventId);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(2);
    expect(emulator.published().map((envelope) => envelope.id)).toEqual(ids);
    expect(emulator.published('orders')).toHaveLength(1);
    expect(emulator.published('orders')[0]?.resources).toEqual(['arn:aws:es:us-east-1:1:domain/d']);
    expect(emulator.stats()).toMatchObject({
      calls: 1,
      entriesAccepted: 2,
      entriesFailed: 0,
      callsRejected: 0,
    });
  });

  it('rejects 11 entries, and none, with ValidationException', async () => {
    const { client, emulator } = await startEmulator();
    const tooMany = await rejection(
      client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) })),
    );
    expect(tooMany.name).toBe('ValidationException');
    expect(tooMany.message).toContain('Member must have length less than or equal to 10');
    expect(tooMany.$metadata?.httpStatusCode).toBe(400);

    const none = await rejection(client.send(new PutEventsCommand({ Entries: [] })));
    expect(none.name).toBe('ValidationException');
    expect(none.message).toContain('greater than or equal to 1');
    expect(emulator.published()).toEqual([]);
    expect(emulator.stats()).toMatchObject({ calls: 2, callsRejected: 2 });
  });

  it('fails only the entries with a missing field or a Detail that is not a JSON object', async () => {
    const { client, emulator } = await startEmulator();
    const output = await client.send(
      new PutEventsCommand({
        Entries: [
          entry({ Source: undefined }),
          entry({ DetailType: '' }),
          entry({ Detail: undefined }),
          entry({ Detail: 'not json' }),
          entry({ Detail: '[1,2]' }),
          entry({ Detail: '"a string"' }),
          entry(),
        ],
      }),
    );

    expect(output.FailedEntryCount).toBe(6);
    const malformed = { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    expect(output.Entries?.slice(0, 6)).toEqual([
      {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
      },
      {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
      },
      {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.',
      },
      malformed,
      malformed,
      malformed,
    ]);
    expect(output.Entries?.[6]?.EventId).toMatch(UUID);
    expect(emulator.published()).toHaveLength(1);
    expect(emulator.stats()).toMatchObject({ entriesAccepted: 1, entriesFailed: 6 });
  });

  it('fails the whole call with ResourceNotFoundException for an unknown bus or a foreign bus ARN', async () => {
    const { client, emulator } = await startEmulator();
    const unknown = await rejection(
      client.send(new PutEventsCommand({ Entries: [entry(), entry({ EventBusName: 'nope' })] })),
    );
    expect(unknown.name).toBe('ResourceNotFoundException');
    expect(unknown.message).toBe('Event bus nope does not exist.');

    const foreign = await rejection(
      client.send(
        new PutEventsCommand({
          Entries: [entry({ EventBusName: 'arn:aws:events:eu-west-1:000000000000:event-bus/orders' })],
        }),
      ),
    );
    expect(foreign.name).toBe('ResourceNotFoundException');
    expect(emulator.published()).toEqual([]);
  });

  it('counts Time, Source, DetailType, Detail and Resources against the 256 KiB request limit', async () => {
    const { client } = await startEmulator();
    const limit = 256 * 1024;
    const time = new Date('2026-01-02T03:04:05Z');
    const resource = 'arn:aws:es:us-east-1:000000000000:domain/d';
    // Time counts 14 bytes; 'é' counts 2 UTF-8 bytes, so a character count would get this wrong.
    const fixed = 14 + 'src'.length + 'type'.length + resource.length + '{"p":""}'.length + 2;
    const detailOfSize = (extra: number) => `{"p":"é${'x'.repeat(limit - fixed + extra)}"}`;
    const sized = (extra: number) =>
      entry({
        Time: time,
        Source: 'src',
        DetailType: 'type',
        Resources: [resource],
        Detail: detailOfSize(extra),
      });

    const atLimit = await client.send(new PutEventsCommand({ Entries: [sized(0)] }));
    expect(atLimit.FailedEntryCount).toBe(0);

    const over = await rejection(client.send(new PutEventsCommand({ Entries: [sized(1)] })));
    expect(over.name).toBe('ValidationException');
    expect(over.message).toBe('Total size of the entries in the request is over the limit.');

    // The limit is on the request, not the entry: two halves that fit alone fail together.
    const half = entry({ Detail: `{"p":"${'x'.repeat(limit / 2)}"}` });
    const split = await rejection(client.send(new PutEventsCommand({ Entries: [half, half] })));
    expect(split.name).toBe('ValidationException');
  });

  it('delivers the exact envelope to the rules whose pattern matches, on the right bus only', async () => {
    const capture = queueCapture();
    const { client } = await startEmulator({
      region: 'eu-west-1',
      accountId: '123456789012',
      deliverToQueue: capture.deliverToQueue,
    });
    await subscribe(client, {
      name: 'placed-orders',
      bus: 'orders',
      pattern: { source: ['shop'], 'detail-type': ['OrderPlaced', 'OrderAmended'] },
      queue: 'orders-queue',
      accountId: '123456789012',
    });
    await subscribe(client, {
      name: 'everything-on-default',
      bus: 'default',
      pattern: { source: [{ prefix: '' }] },
      queue: 'default-queue',
      accountId: '123456789012',
    });

    const output = await client.send(
      new PutEventsCommand({
        Entries: [
          entry({
            EventBusName: 'orders',
            Source: 'shop',
            DetailType: 'OrderPlaced',
            Detail: '{"orderId":"o-1","lines":[{"sku":"a"}]}',
            Resources: ['arn:aws:shop:eu-west-1:123456789012:order/o-1'],
            Time: new Date('2026-03-04T05:06:07.890Z'),
          }),
          entry({ EventBusName: 'orders', Source: 'shop', DetailType: 'OrderCancelled' }),
          entry({ EventBusName: 'orders', Source: 'warehouse', DetailType: 'OrderPlaced' }),
          entry({ Source: 'anything' }),
        ],
      }),
    );

    expect(output.FailedEntryCount).toBe(0);
    const ordersRule = capture.messages('orders-queue');
    const catchAll = capture.messages('default-queue');
    expect(ordersRule).toHaveLength(1);
    expect(JSON.parse(ordersRule[0] ?? '')).toEqual({
      version: '0',
      id: output.Entries?.[0]?.EventId,
      'detail-type': 'OrderPlaced',
      source: 'shop',
      account: '123456789012',
      time: '2026-03-04T05:06:07Z',
      region: 'eu-west-1',
      resources: ['arn:aws:shop:eu-west-1:123456789012:order/o-1'],
      detail: { orderId: 'o-1', lines: [{ sku: 'a' }] },
    });
    // Key order as EventBridge writes it, for consumers that compare raw bodies.
    expect(Object.keys(JSON.parse(ordersRule[0] ?? ''))).toEqual([
      'version',
      'id',
      'detail-type',
      'source',
      'account',
      'time',
      'region',
      'resources',
      'detail',
    ]);
    expect(catchAll.map((json) => JSON.parse(json).source)).toEqual(['anything']);
    expect(JSON.parse(catchAll[0] ?? '').time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('keeps the call successful when a rule delivery fails, and reports it', async () => {
    const reported: string[] = [];
    const { client, emulator } = await startEmulator({
      deliverToQueue: async () => {
        throw new Error('queue is gone');
      },
      onDeliveryError: (error, target) => {
        reported.push(
          `${target.rule}/${target.targetId}: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    });
    await subscribe(client, {
      name: 'broken-target',
      bus: 'default',
      pattern: { source: ['package-associator'] },
      queue: 'gone',
    });
    const output = await client.send(new PutEventsCommand({ Entries: [entry()] }));

    expect(output.FailedEntryCount).toBe(0);
    expect(reported).toEqual(['broken-target/q: queue is gone']);
    expect(emulator.stats()).toMatchObject({ deliveries: 0, deliveryFailures: 1, entriesAccepted: 1 });
  });
});

describe('EventBridge emulator fault injection', () => {
  it('fails every entry with InternalFailure at an entry failure rate of 1', async () => {
    const capture = queueCapture();
    const { client, emulator } = await startEmulator({
      faults: { entryFailureRate: 1 },
      deliverToQueue: capture.deliverToQueue,
    });
    await subscribe(client, {
      name: 'all',
      bus: 'default',
      pattern: { source: ['package-associator'] },
      queue: 'all',
    });
    const output = await client.send(new PutEventsCommand({ Entries: [entry(), entry(), entry()] }));

    expect(output.FailedEntryCount).toBe(3);
    for (const result of output.Entries ?? []) {
      expect(result.ErrorCode).toBe('InternalFailure');
      expect(result.EventId).toBeUndefined();
    }
    expect(capture.messages('all')).toEqual([]);
    expect(emulator.published()).toEqual([]);
  });

  it('throttles whole calls, and the faults can be changed at run time and through the admin route', async () => {
    const { client, emulator, url } = await startEmulator({ faults: { throttleRate: 1 } });
    const throttled = await rejection(client.send(new PutEventsCommand({ Entries: [entry()] })));
    expect(throttled.name).toBe('ThrottlingException');
    expect(throttled.$metadata?.httpStatusCode).toBe(400);
    expect(emulator.stats()).toMatchObject({ throttled: 1, callsRejected: 1 });

    emulator.setFaults({});
    expect((await client.send(new PutEventsCommand({ Entries: [entry()] }))).FailedEntryCount).toBe(0);

    const response = await fetch(`${url}/_emulator/events/faults`, {
      method: 'POST',
      body: JSON.stringify({ entryFailureRate: 1, latencyMs: 50 }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ entryFailureRate: 1, throttleRate: 0, latencyMs: 50 });
    const started = performance.now();
    expect((await client.send(new PutEventsCommand({ Entries: [entry()] }))).FailedEntryCount).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);

    const invalid = await fetch(`${url}/_emulator/events/faults`, {
      method: 'POST',
      body: JSON.stringify({ throttleRate: 2 }),
    });
    expect(invalid.status).toBe(400);
    expect(emulator.faults()).toEqual({ entryFailureRate: 1, throttleRate: 0, latencyMs: 50 });
  });

  it('sets faults with PUT, clears them with DELETE, and refuses an unknown field by name', async () => {
    const { emulator, url } = await startEmulator();
    const admin = async (method: string, body?: unknown) => {
      const response = await fetch(`${url}/_emulator/events/faults`, {
        method,
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(await admin('PUT', { throttleRate: 0.25 })).toEqual({
      status: 200,
      body: { entryFailureRate: 0, throttleRate: 0.25, latencyMs: 0 },
    });
    const typo = await admin('PUT', { throttlingRate: 1 });
    expect(typo.status).toBe(400);
    expect(typo.body.message).toMatch(/Unknown fault field throttlingRate/);
    expect(emulator.faults().throttleRate).toBe(0.25);
    expect(await admin('DELETE')).toEqual({
      status: 200,
      body: { entryFailureRate: 0, throttleRate: 0, latencyMs: 0 },
    });
    expect(await admin('GET')).toEqual({
      status: 200,
      body: { entryFailureRate: 0, throttleRate: 0, latencyMs: 0 },
    });
  });

  it('repeats the same failures and event ids for the same seed', async () => {
    async function run(seed: number): Promise<string[]> {
      const { client } = await startEmulator({ randomSeed: seed, faults: { entryFailureRate: 0.5 } });
      const outcomes: string[] = [];
      for (let call = 0; call < 5; call += 1) {
        const output = await client.send(
          new PutEventsCommand({ Entries: Array.from({ length: 10 }, () => entry()) }),
        );
        for (const result of output.Entries ?? []) outcomes.push(result.EventId ?? result.ErrorCode ?? '?');
      }
      return outcomes;
    }

    const first = await run(7);
    expect(await run(7)).toEqual(first);
    const failures = first.filter((outcome) => outcome === 'InternalFailure').length;
    expect(failures).toBeGreaterThan(10);
    expect(failures).toBeLessThan(40);
    expect(await run(8)).not.toEqual(first);
  });

  it('reset() forgets events and counters and restores the initial faults and random stream', async () => {
    const { client, emulator } = await startEmulator({ randomSeed: 1 });
    const before = await client.send(new PutEventsCommand({ Entries: [entry()] }));
    emulator.setFaults({ throttleRate: 1 });
    emulator.reset();

    expect(emulator.published()).toEqual([]);
    expect(emulator.stats().calls).toBe(0);
    expect(emulator.faults()).toEqual({ entryFailureRate: 0, throttleRate: 0, latencyMs: 0 });
    const after = await client.send(new PutEventsCommand({ Entries: [entry()] }));
    expect(after.Entries?.[0]?.EventId).toBe(before.Entries?.[0]?.EventId);
  });
});

describe('EventBridge emulator protocol', () => {
  it('answers an unknown X-Amz-Target with UnknownOperationException in the JSON 1.1 error shape', async () => {
    const { url } = await startEmulator();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSEvents.CreateEventBus', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(response.headers.get('x-amzn-requestid')).toMatch(UUID);
    expect(await response.json()).toEqual({
      __type: 'UnknownOperationException',
      message: 'The local EventBridge emulator does not support AWSEvents.CreateEventBus.',
    });
  });

  it('answers a body that is not JSON with SerializationException', async () => {
    const { url } = await startEmulator();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSEvents.PutEvents' },
      body: '{"Entries": [',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { __type: string }).__type).toBe('SerializationException');
  });

  it('lists and describes event buses', async () => {
    const { client } = await startEmulator({ buses: ['orders', 'audit'] });
    const listed = await client.send(new ListEventBusesCommand({}));
    expect(listed.EventBuses?.map((bus) => bus.Name)).toEqual(['audit', 'default', 'orders']);
    const prefixed = await client.send(new ListEventBusesCommand({ NamePrefix: 'or' }));
    expect(prefixed.EventBuses).toEqual([{ Name: 'orders', Arn: ORDERS_ARN }]);

    const described = await client.send(new DescribeEventBusCommand({ Name: ORDERS_ARN }));
    expect(described).toMatchObject({ Name: 'orders', Arn: ORDERS_ARN });
    const missing = await rejection(client.send(new DescribeEventBusCommand({ Name: 'nope' })));
    expect(missing.name).toBe('ResourceNotFoundException');
  });

  it('serves published events and stats on its admin routes', async () => {
    const { client, url } = await startEmulator();
    const output = await client.send(
      new PutEventsCommand({ Entries: [entry(), entry({ EventBusName: 'orders' })] }),
    );

    const all = (await (await fetch(`${url}/_emulator/events/published`)).json()) as {
      events: { id: string }[];
    };
    expect(all.events.map((event) => event.id)).toEqual(output.Entries?.map((result) => result.EventId));
    const orders = (await (await fetch(`${url}/_emulator/events/published?eventBusName=orders`)).json()) as {
      events: { id: string }[];
    };
    expect(orders.events.map((event) => event.id)).toEqual([output.Entries?.[1]?.EventId]);
    const stats = await (await fetch(`${url}/_emulator/events/stats`)).json();
    expect(stats).toMatchObject({ calls: 1, entriesAccepted: 2 });
    expect((await fetch(`${url}/_emulator/events/reset`, { method: 'POST' })).status).toBe(204);
    expect((await fetch(`${url}/_emulator/events/nothing`)).status).toBe(404);
  });
});
