import { execFile } from 'node:child_process';
import {
  createServer,
  Agent as HttpAgent,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { ListDomainNamesCommand, OpenSearchClient } from '@aws-sdk/client-opensearch';
import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EdgeServer, serviceFromRequest, startEdge } from '../../local/edge.ts';
import { createEventBridgeEmulator, type EventBridgeEmulator } from '../../local/eventbridge/index.ts';

const execFileAsync = promisify(execFile);
// dynalite ships no type declarations; this is the slice of its API the test uses.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: {
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}) => Server;

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'us-east-1';

function authorizationFor(service: string): string {
  return `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123`;
}

describe('serviceFromRequest', () => {
  it('reads the service from the SigV4 credential scope in the Authorization header', () => {
    for (const service of ['sqs', 'dynamodb', 'es', 'events', 's3']) {
      expect(serviceFromRequest({ authorization: authorizationFor(service) }, '/')).toBe(service);
    }
  });

  it('prefers the signature over every protocol fingerprint', () => {
    const headers = {
      authorization: authorizationFor('events'),
      'x-amz-target': 'DynamoDB_20120810.ListTables',
    };
    expect(serviceFromRequest(headers, '/2021-01-01/domain?Action=ListQueues', 'Action=ListQueues')).toBe(
      'events',
    );
  });

  it('reads a presigned URL credential', () => {
    const url =
      '/000000000000/q?Action=ReceiveMessage&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fsqs%2Faws4_request';
    expect(serviceFromRequest({}, url)).toBe('sqs');
    expect(
      serviceFromRequest({}, '/?X-Amz-Credential=AKID%2F20260101%2Feu-west-1%2Fdynamodb%2Faws4_request'),
    ).toBe('dynamodb');
  });

  it('falls back to X-Amz-Target prefixes when unsigned', () => {
    expect(serviceFromRequest({ 'x-amz-target': 'AmazonSQS.SendMessage' }, '/')).toBe('sqs');
    expect(serviceFromRequest({ 'x-amz-target': 'DynamoDB_20120810.PutItem' }, '/')).toBe('dynamodb');
    expect(serviceFromRequest({ 'x-amz-target': 'AWSEvents.PutEvents' }, '/')).toBe('events');
    expect(serviceFromRequest({ 'x-amz-target': 'Kinesis_20131202.PutRecord' }, '/')).toBeUndefined();
  });

  it('falls back to the OpenSearch API path and the SQS query protocol', () => {
    expect(serviceFromRequest({}, '/2021-01-01/packages/associate/pkg-1/d')).toBe('es');
    expect(serviceFromRequest({}, '/2015-01-01/es/domain')).toBe('es');
    expect(serviceFromRequest({}, '/?Action=ListQueues&Version=2012-11-05')).toBe('sqs');
    expect(serviceFromRequest({}, '/', 'Version=2012-11-05&Action=ListQueues')).toBe('sqs');
    expect(serviceFromRequest({}, '/', 'NotAction=x')).toBeUndefined();
    expect(serviceFromRequest({}, '/')).toBeUndefined();
  });

  it('ignores a malformed credential and keeps looking', () => {
    const headers = {
      authorization: 'AWS4-HMAC-SHA256 Credential=garbage',
      'x-amz-target': 'AWSEvents.PutEvents',
    };
    expect(serviceFromRequest(headers, '/')).toBe('events');
  });
});

describe('edge router against the real backends', () => {
  let fauxqs: FauxqsServer;
  let dynaliteServer: Server;
  let edge: EdgeServer;
  let emulator: EventBridgeEmulator;
  const esRequests: string[] = [];

  async function esStub(req: IncomingMessage, res: ServerResponse): Promise<void> {
    esRequests.push(`${req.method} ${req.url}`);
    const body = JSON.stringify({ DomainNames: [{ DomainName: 'stub-domain', EngineType: 'OpenSearch' }] });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  }

  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    dynaliteServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => dynaliteServer.listen(0, '127.0.0.1', resolve));
    emulator = createEventBridgeEmulator({
      buses: ['orders'],
      deliverToQueue: async (queue, body) => {
        fauxqs.sendMessage(queue.queueName, body, { region: queue.region });
      },
    });
    edge = await startEdge({
      port: 0,
      routes: {
        events: emulator.handle,
        // fauxqs names its queues http://sqs.<region>.localhost:<its port>/...; clients must see the edge.
        sqs: { upstream: `http://127.0.0.1:${fauxqs.port}`, rewriteQueueUrls: true },
        dynamodb: `http://127.0.0.1:${(dynaliteServer.address() as AddressInfo).port}`,
        es: esStub,
      },
      adminRoutes: { '/_emulator/events/': emulator.handle },
    });
  });

  afterAll(async () => {
    await edge?.close();
    await fauxqs?.stop();
    await new Promise<void>((resolve) =>
      dynaliteServer ? dynaliteServer.close(() => resolve()) : resolve(),
    );
  });

  function sqsClient(): SQSClient {
    return new SQSClient({ endpoint: edge.url, region, credentials });
  }

  it('routes SQS to fauxqs, with queue URLs that point at the edge', async () => {
    const sqs = sqsClient();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'edge-sdk-queue' }));
    expect(QueueUrl).toBe(`${edge.url}/000000000000/edge-sdk-queue`);

    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'through the edge' }));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    expect(received.Messages?.map((message) => message.Body)).toEqual(['through the edge']);
    expect(fauxqs.inspectQueue('edge-sdk-queue')?.messages.inflight).toHaveLength(1);
  });

  it('lists queues made directly in fauxqs at edge URLs too', async () => {
    const direct = fauxqs.createQueue('edge-direct-queue');
    expect(direct.queueUrl).not.toContain(String(edge.port));
    const sqs = sqsClient();
    const { QueueUrls } = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'edge-direct' }));
    expect(QueueUrls).toEqual([`${edge.url}/000000000000/edge-direct-queue`]);
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'edge-direct-queue' }));
    expect(QueueUrl).toBe(`${edge.url}/000000000000/edge-direct-queue`);
  });

  it('works for an SQS client configured by AWS_ENDPOINT_URL alone, which sends calls to the QueueUrl origin', async () => {
    const previous = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = edge.url;
    try {
      const sqs = new SQSClient({ region, credentials });
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'edge-env-queue' }));
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'env configured' }));
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
      expect(received.Messages?.map((message) => message.Body)).toEqual(['env configured']);
    } finally {
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = previous;
    }
  });

  it('routes DynamoDB to dynalite', async () => {
    const dynamodb = new DynamoDBClient({ endpoint: edge.url, region, credentials });
    await dynamodb.send(
      new CreateTableCommand({
        TableName: 'edge-table',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: 'edge-table' }));
      if (Table?.TableStatus === 'ACTIVE') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await dynamodb.send(
      new PutItemCommand({ TableName: 'edge-table', Item: { pk: { S: 'k1' }, v: { N: '42' } } }),
    );
    const { Item } = await dynamodb.send(
      new GetItemCommand({ TableName: 'edge-table', Key: { pk: { S: 'k1' } } }),
    );
    expect(Item).toEqual({ pk: { S: 'k1' }, v: { N: '42' } });
  });

  it('routes EventBridge to the in-process emulator, whose rule feeds an SQS queue', async () => {
    const sqs = sqsClient();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'edge-events-subscriber' }));
    const events = new EventBridgeClient({ endpoint: edge.url, region, credentials });
    await events.send(
      new PutRuleCommand({
        Name: 'orders-to-queue',
        EventBusName: 'orders',
        EventPattern: JSON.stringify({ source: ['package-associator'] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'orders-to-queue',
        EventBusName: 'orders',
        Targets: [{ Id: 'subscriber', Arn: `arn:aws:sqs:${region}:000000000000:edge-events-subscriber` }],
      }),
    );

    const output = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'orders',
            Source: 'package-associator',
            DetailType: 'PackageAssociationStarted',
            Detail: JSON.stringify({ domainName: 'search', packageId: 'F123' }),
          },
        ],
      }),
    );
    expect(output.FailedEntryCount).toBe(0);
    const eventId = output.Entries?.[0]?.EventId;
    expect(emulator.published('orders').map((envelope) => envelope.id)).toContain(eventId);

    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    const envelope = JSON.parse(received.Messages?.[0]?.Body ?? '{}');
    expect(envelope).toMatchObject({
      id: eventId,
      source: 'package-associator',
      'detail-type': 'PackageAssociationStarted',
      detail: { domainName: 'search', packageId: 'F123' },
    });
  });

  it('routes OpenSearch (signing name es) to its handler', async () => {
    const opensearch = new OpenSearchClient({ endpoint: edge.url, region, credentials });
    const { DomainNames } = await opensearch.send(new ListDomainNamesCommand({}));
    expect(DomainNames).toEqual([{ DomainName: 'stub-domain', EngineType: 'OpenSearch' }]);
    expect(esRequests).toContain('GET /2021-01-01/domain');
  });

  it('serves the AWS CLI v1: list-queues prints edge URLs that send-message accepts, and put-events works', async () => {
    const sqs = sqsClient();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'edge-cli-queue' }));
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: region,
      AWS_REGION: region,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    };
    const aws = async (...args: string[]): Promise<unknown> => {
      const { stdout } = await execFileAsync(
        'aws',
        ['--endpoint-url', edge.url, '--output', 'json', ...args],
        {
          env,
          timeout: 30_000,
        },
      );
      return JSON.parse(stdout);
    };

    const listed = (await aws('sqs', 'list-queues', '--queue-name-prefix', 'edge-cli')) as {
      QueueUrls: string[];
    };
    expect(listed.QueueUrls).toEqual([QueueUrl]);

    const sent = (await aws(
      'sqs',
      'send-message',
      '--queue-url',
      listed.QueueUrls[0] ?? '',
      '--message-body',
      'from the cli',
    )) as { MessageId: string };
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    expect(received.Messages?.map((message) => message.Body)).toEqual(['from the cli']);

    const entries = JSON.stringify([{ Source: 'cli.test', DetailType: 'CliTest', Detail: '{"from":"cli"}' }]);
    const put = (await aws('events', 'put-events', '--entries', entries)) as {
      FailedEntryCount: number;
      Entries: { EventId: string }[];
    };
    expect(put.FailedEntryCount).toBe(0);
    const cliEvent = emulator
      .published('default')
      .find((envelope) => envelope.id === put.Entries[0]?.EventId);
    expect(cliEvent).toMatchObject({ source: 'cli.test', 'detail-type': 'CliTest', detail: { from: 'cli' } });
  }, 60_000);

  it('routes unsigned requests by their protocol fingerprints', async () => {
    const unsigned = await fetch(edge.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSEvents.ListEventBuses', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(unsigned.status).toBe(200);
    expect(((await unsigned.json()) as { EventBuses: unknown[] }).EventBuses).toHaveLength(2);

    const esByPath = await fetch(`${edge.url}/2021-01-01/domain`);
    expect(esByPath.status).toBe(200);
  });

  it('routes a form-encoded query-protocol body to SQS and replays it unchanged', async () => {
    const seen: string[] = [];
    const sqsRecorder = startEdge({
      port: 0,
      routes: {
        sqs: async (req, res) => {
          let body = '';
          for await (const chunk of req) body += String(chunk);
          seen.push(body);
          res.writeHead(200).end();
        },
      },
    });
    const recorder = await sqsRecorder;
    try {
      const response = await fetch(recorder.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Action=ListQueues&Version=2012-11-05',
      });
      expect(response.status).toBe(200);
      expect(seen).toEqual(['Action=ListQueues&Version=2012-11-05']);
    } finally {
      await recorder.close();
    }
  });

  it('answers an unknown or unroutable service with a 400 JSON error naming it', async () => {
    const s3 = await fetch(`${edge.url}/bucket/key`, { headers: { authorization: authorizationFor('s3') } });
    expect(s3.status).toBe(400);
    expect(s3.headers.get('x-amzn-errortype')).toBe('EdgeUnknownService');
    expect(((await s3.json()) as { message: string }).message).toContain("Service 's3'");

    const anonymous = await fetch(`${edge.url}/somewhere`);
    expect(anonymous.status).toBe(400);
    expect(((await anonymous.json()) as { __type: string }).__type).toBe('EdgeUnknownService');
  });

  it('serves emulator admin paths by prefix and 404s unknown ones', async () => {
    const stats = await fetch(`${edge.url}/_emulator/events/stats`);
    expect(stats.status).toBe(200);
    expect(((await stats.json()) as { calls: number }).calls).toBeGreaterThan(0);
    expect((await fetch(`${edge.url}/_emulator/nothing/here`)).status).toBe(404);
  });

  it('answers 502 when an upstream is down', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const broken = await startEdge({ port: 0, routes: { dynamodb: `http://127.0.0.1:${deadPort}` } });
    try {
      const response = await fetch(broken.url, {
        method: 'POST',
        headers: { authorization: authorizationFor('dynamodb') },
        body: '{}',
      });
      expect(response.status).toBe(502);
      expect(((await response.json()) as { __type: string }).__type).toBe('EdgeUpstreamUnavailable');
    } finally {
      await broken.close();
    }
  });
});

describe('edge close()', () => {
  it('frees its port at once, even with a keep-alive client connection open', async () => {
    const edge = await startEdge({
      port: 0,
      routes: {
        es: async (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        },
      },
    });
    const agent = new HttpAgent({ keepAlive: true });
    try {
      const status = await new Promise<number | undefined>((resolve, reject) => {
        request(`${edge.url}/2021-01-01/domain`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(200);
      expect(Object.keys(agent.freeSockets)).toHaveLength(1);

      await edge.close();
      const again = createServer();
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.listen(edge.port, '127.0.0.1', resolve);
      });
      expect((again.address() as AddressInfo).port).toBe(edge.port);
      await new Promise<void>((resolve) => again.close(() => resolve()));
    } finally {
      agent.destroy();
    }
  });
});
