import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  InternalServerError,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerTable, type LocalDynamo, startDynalite } from '../../local/dynamo.ts';
import {
  createDynamoDbFaultInjector,
  DYNAMODB_ADMIN_PREFIX,
  type DynamoDbFaultInjector,
  type DynamoDbFaultSetting,
  InvalidDynamoDbFaultsError,
} from '../../local/dynamodb-faults.ts';
import { seededRandom } from '../../local/rng.ts';

const TABLE = 'fault-test';

/** What a call rejected with, or undefined if it resolved. */
async function rejectionOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('DynamoDB fault injection in front of dynalite, through the real SDK', () => {
  let dynamo: LocalDynamo;
  const servers: Server[] = [];
  const clients: DynamoDBClient[] = [];
  let keyCounter = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await createLedgerTable(dynamo.url, TABLE);
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await dynamo.close();
  });

  /** The injector served alone on a free port, as the edge serves it, and a client with one attempt. */
  const start = async (faults?: DynamoDbFaultSetting) => {
    const injector: DynamoDbFaultInjector = createDynamoDbFaultInjector({
      upstream: dynamo.url,
      random: seededRandom(11),
      ...(faults !== undefined && { faults }),
    });
    const server = createServer((req, res) => {
      const serve = req.url?.startsWith(DYNAMODB_ADMIN_PREFIX) ? injector.handleAdmin : injector.handle;
      void serve(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // One attempt: the SDK would otherwise retry the fault and hide it.
    const client = new DynamoDBClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    clients.push(client);
    const admin = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${url}${DYNAMODB_ADMIN_PREFIX}${path}`, {
        method,
        ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    keyCounter += 1;
    const id = `item-${keyCounter}`;
    const put = (value: string) =>
      client.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: id }, value: { S: value } } }));
    const get = async () =>
      (
        await client.send(
          new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true }),
        )
      ).Item?.value?.S;
    const update = (value: string) =>
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { id: { S: id } },
          UpdateExpression: 'SET #v = :v',
          ExpressionAttributeNames: { '#v': 'value' },
          ExpressionAttributeValues: { ':v': { S: value } },
        }),
      );
    return { injector, admin, put, get, update };
  };

  it('LostAnswer: the PutItem is written, then the connection is reset before the answer', async () => {
    const { injector, put, get } = await start([{ operation: 'PutItem', errorType: 'LostAnswer', rate: 1 }]);

    const lost = await rejectionOf(put('written'));
    expect(lost).toBeInstanceOf(Error);
    expect(lost).not.toBeInstanceOf(DynamoDBServiceException);
    expect(lost).toMatchObject({ code: 'ECONNRESET' });
    expect(await get()).toBe('written');

    expect(injector.stats()).toEqual({
      calls: 2,
      faultsInjected: 1,
      callsByOperation: { PutItem: 1, GetItem: 1 },
      faultsByKind: {
        InternalServerError: 0,
        ProvisionedThroughputExceededException: 0,
        ConnectionReset: 0,
        LostAnswer: 1,
      },
    });
  });

  it('faults each operation as its rule says: an error answer, or a reset before the call runs', async () => {
    const { injector, put, get, update } = await start([
      { operation: 'GetItem', errorType: 'ProvisionedThroughputExceededException', rate: 1 },
      { operation: 'UpdateItem', errorType: 'ConnectionReset', rate: 1 },
    ]);
    await put('first');

    const throttled = await rejectionOf(get());
    expect(throttled).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect((throttled as DynamoDBServiceException).$metadata.httpStatusCode).toBe(400);
    const reset = await rejectionOf(update('second'));
    expect(reset).not.toBeInstanceOf(DynamoDBServiceException);
    expect(reset).toMatchObject({ code: 'ECONNRESET' });

    injector.setFaults([]);
    // The reset UpdateItem never reached dynalite.
    expect(await get()).toBe('first');
    expect(injector.stats().faultsByKind).toMatchObject({
      ProvisionedThroughputExceededException: 1,
      ConnectionReset: 1,
      LostAnswer: 0,
    });
    expect(injector.stats().faultsInjected).toBe(2);
  });

  it('still takes the single { rate, errorType? } of the first fault option, for every operation', async () => {
    const { injector, put } = await start({ rate: 1, errorType: 'InternalServerError' });
    expect(injector.faults()).toEqual([{ operation: '*', rate: 1, errorType: 'InternalServerError' }]);
    const failed = await rejectionOf(put('never'));
    expect(failed).toBeInstanceOf(InternalServerError);
    expect((failed as DynamoDBServiceException).$metadata.httpStatusCode).toBe(500);

    // Without errorType: either retryable error, half and half.
    injector.setFaults({ rate: 1 });
    const names = new Set<string>();
    for (let call = 0; call < 16; call += 1) names.add(((await rejectionOf(put('never'))) as Error).name);
    expect(names).toEqual(new Set(['InternalServerError', 'ProvisionedThroughputExceededException']));
  });

  it('is driven through GET, PUT, POST and DELETE /_emulator/dynamodb/faults and GET stats', async () => {
    const { admin, put } = await start();
    expect(await admin('GET', 'faults')).toEqual({ status: 200, body: { faults: [] } });

    expect(
      await admin('PUT', 'faults', { faults: [{ operation: 'PutItem', rate: 1, errorType: 'LostAnswer' }] }),
    ).toEqual({
      status: 200,
      body: { faults: [{ operation: 'PutItem', rate: 1, errorType: 'LostAnswer' }] },
    });
    expect(await rejectionOf(put('lost'))).toMatchObject({ code: 'ECONNRESET' });
    // POST sets the list too; an omitted operation means every operation.
    expect(await admin('POST', 'faults', { faults: [{ rate: 0.5 }] })).toEqual({
      status: 200,
      body: { faults: [{ operation: '*', rate: 0.5 }] },
    });
    expect(await admin('DELETE', 'faults')).toEqual({ status: 200, body: { faults: [] } });
    await expect(put('kept')).resolves.toBeDefined();

    const stats = await admin('GET', 'stats');
    expect(stats).toMatchObject({
      status: 200,
      body: {
        calls: 2,
        faultsInjected: 1,
        callsByOperation: { PutItem: 2 },
        faultsByKind: { LostAnswer: 1 },
      },
    });
  });

  it('answers 400 naming the field for a bad rule, and 404 for an unknown route', async () => {
    const { admin, injector } = await start([{ operation: 'GetItem', rate: 0.1 }]);
    const cases: [unknown, RegExp][] = [
      [{ faults: [{ operation: 'Getitem', rate: 1 }] }, /faults\[0\]\.operation/],
      [{ faults: [{ rate: 1.5 }] }, /faults\[0\]\.rate/],
      [{ faults: [{ rate: 1, errorType: 'Boom' }] }, /faults\[0\]\.errorType/],
      [{ faults: [{ rate: 1, tableName: 'x' }] }, /tableName/],
      [{ rules: [] }, /rules/],
      ['{"faults":', /not valid JSON/],
    ];
    for (const [body, message] of cases) {
      const answer = await admin('PUT', 'faults', body);
      expect(answer.status).toBe(400);
      expect(answer.body.message).toMatch(message);
    }
    expect(injector.faults()).toEqual([{ operation: 'GetItem', rate: 0.1 }]);
    expect(await admin('GET', 'nothing')).toMatchObject({ status: 404 });
    expect(() =>
      createDynamoDbFaultInjector({ upstream: dynamo.url, random: Math.random, faults: { rate: 2 } }),
    ).toThrow(InvalidDynamoDbFaultsError);
    expect(() => injector.setFaults([{ operation: 'Nope' as 'GetItem', rate: 1 }])).toThrow(
      /\[0\]\.operation/,
    );
  });
});
