/**
 * A minimal AWS endpoint for the handler bundle with its real SDK clients: it answers the success path of the
 * associate handler (the ledger's GetItem and PutItem, AssociatePackage, SendMessage and SendMessageBatch,
 * PutEvents) at once and counts each call. Only the shapes the SDK needs to accept the answers, except for the
 * ledger table: its items are kept, PutItem's two conditions (`attribute_not_exists(id)`, `version = :version`)
 * are checked as DynamoDB checks them, and the capacity units each call would consume are added up by
 * DynamoDB's item-size rules, for the cost estimate.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const ASSOCIATE_PATH = /^\/2021-01-01\/packages\/associate\/([^/]+)\/([^/?]+)/;

export interface AwsStub {
  endpoint: string;
  /** Calls by operation, e.g. `DynamoDB_20120810.PutItem`, `AssociatePackage`. */
  calls: Map<string, number>;
  /** What the DynamoDB calls would have consumed on demand, and the largest item written. */
  capacity: DynamoDbCapacity;
  close(): Promise<void>;
}

export interface DynamoDbCapacity {
  /** Strongly consistent reads: one unit per 4 KB of the item read, at least one (a miss too). */
  readUnits: number;
  /** Writes: one unit per 1 KB of the larger of the old and the new item, at least one (a refused write too). */
  writeUnits: number;
  conditionalCheckFailed: number;
  largestItemBytes: number;
}

/** A DynamoDB attribute value as the JSON protocol carries it. */
type AttributeValue = { [type: string]: unknown };
type Item = Record<string, AttributeValue>;

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html */
function valueBytes(value: AttributeValue): number {
  const [type, content] = Object.entries(value)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return utf8(String(content));
    case 'N': {
      // Significant digits: no sign, exponent or point, leading and trailing zeros trimmed.
      const digits =
        String(content)
          .replace(/[eE].*$/, '')
          .replace(/[-+.]/g, '')
          .replace(/^0+|0+$/g, '').length || 1;
      return Math.ceil(digits / 2) + 1;
    }
    case 'B':
      return Buffer.from(String(content), 'base64').length;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'L': {
      const list = content as AttributeValue[];
      return 3 + list.reduce((total, element) => total + 1 + valueBytes(element), 0);
    }
    case 'M':
      return 3 + itemBytes(content as Item) + Object.keys(content as Item).length;
    case 'SS':
      return (content as string[]).reduce((total, element) => total + utf8(element), 0);
    default:
      return utf8(JSON.stringify(content));
  }
}

function itemBytes(item: Item): number {
  return Object.entries(item).reduce((total, [name, value]) => total + utf8(name) + valueBytes(value), 0);
}

/** The ledger table: one item per `id`, PutItem conditional on the two forms `dynamoDbLedger` writes. */
class LedgerTable {
  readonly #items = new Map<string, Item>();
  readonly capacity: DynamoDbCapacity = {
    readUnits: 0,
    writeUnits: 0,
    conditionalCheckFailed: 0,
    largestItemBytes: 0,
  };

  getItem(input: Record<string, unknown>) {
    const key = (input.Key as Item | undefined)?.id?.S;
    const item = typeof key === 'string' ? this.#items.get(key) : undefined;
    const size = item === undefined ? 0 : itemBytes(item);
    this.capacity.readUnits +=
      Math.max(1, Math.ceil(size / 4096)) * (input.ConsistentRead === true ? 1 : 0.5);
    return { status: 200, body: item === undefined ? {} : { Item: item } };
  }

  putItem(input: Record<string, unknown>) {
    const item = input.Item as Item;
    const key = item.id?.S;
    if (typeof key !== 'string') return validation('the ledger item has no string id');
    const existing = this.#items.get(key);
    const size = itemBytes(item);
    this.capacity.largestItemBytes = Math.max(this.capacity.largestItemBytes, size);
    this.capacity.writeUnits += Math.max(
      1,
      Math.ceil(Math.max(size, existing ? itemBytes(existing) : 0) / 1024),
    );
    const condition = input.ConditionExpression;
    const values = (input.ExpressionAttributeValues ?? {}) as Item;
    let holds: boolean;
    if (condition === undefined) holds = true;
    else if (condition === 'attribute_not_exists(id)') holds = existing === undefined;
    else if (condition === 'version = :version')
      holds = existing?.version?.N !== undefined && existing.version.N === values[':version']?.N;
    else return validation(`the stub does not evaluate the condition ${String(condition)}`);
    if (!holds) {
      this.capacity.conditionalCheckFailed += 1;
      return {
        status: 400,
        body: {
          __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
          message: 'The conditional request failed',
        },
      };
    }
    this.#items.set(key, item);
    return { status: 200, body: {} };
  }
}

function validation(message: string) {
  return { status: 400, body: { __type: 'com.amazon.coral.validate#ValidationException', message } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function reply(res: ServerResponse, status: number, contentType: string, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

function answer(operation: string, input: Record<string, unknown>, url: string, table: LedgerTable) {
  if (operation === 'DynamoDB_20120810.GetItem') {
    return { type: 'application/x-amz-json-1.0', ...table.getItem(input) };
  }
  if (operation === 'DynamoDB_20120810.PutItem') {
    return { type: 'application/x-amz-json-1.0', ...table.putItem(input) };
  }
  // The SDK checks the MD5 of each body it sent against the one SQS reports.
  const md5 = (body: unknown) =>
    createHash('md5')
      .update(String(body ?? ''))
      .digest('hex');
  if (operation === 'AmazonSQS.SendMessage') {
    return {
      type: 'application/x-amz-json-1.0',
      body: { MessageId: randomUUID(), MD5OfMessageBody: md5(input.MessageBody) },
    };
  }
  if (operation === 'AmazonSQS.SendMessageBatch') {
    const entries = (Array.isArray(input.Entries) ? input.Entries : []) as {
      Id: string;
      MessageBody: string;
    }[];
    const successful = entries.map((entry) => ({
      Id: entry.Id,
      MessageId: randomUUID(),
      MD5OfMessageBody: md5(entry.MessageBody),
    }));
    return { type: 'application/x-amz-json-1.0', body: { Successful: successful, Failed: [] } };
  }
  if (operation === 'AWSEvents.PutEvents') {
    const entries = Array.isArray(input.Entries) ? input.Entries : [];
    return {
      type: 'application/x-amz-json-1.1',
      body: { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) },
    };
  }
  const associate = ASSOCIATE_PATH.exec(url);
  if (operation === 'AssociatePackage' && associate) {
    const [, packageId = '', domainName = ''] = associate.map(decodeURIComponent);
    return {
      type: 'application/json',
      body: {
        DomainPackageDetails: {
          DomainName: domainName,
          PackageID: packageId,
          PackageName: `dictionary-${packageId.toLowerCase()}`,
          PackageType: 'TXT-DICTIONARY',
          PackageVersion: 'v1',
          DomainPackageStatus: 'ASSOCIATING',
          LastUpdated: Date.now() / 1000,
        },
      },
    };
  }
  return undefined;
}

export async function startAwsStub(): Promise<AwsStub> {
  const calls = new Map<string, number>();
  const table = new LedgerTable();
  const server = createServer(async (req, res) => {
    const url = req.url ?? '/';
    const target = req.headers['x-amz-target'];
    const operation =
      typeof target === 'string'
        ? target
        : ASSOCIATE_PATH.test(url)
          ? 'AssociatePackage'
          : `${req.method} ${url}`;
    calls.set(operation, (calls.get(operation) ?? 0) + 1);
    const text = await readBody(req);
    const input = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    const answered = answer(operation, input, url, table);
    if (answered === undefined) {
      reply(res, 400, 'application/json', { __type: 'UnknownOperationException', message: operation });
      return;
    }
    reply(res, 'status' in answered ? answered.status : 200, answered.type, answered.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    capacity: table.capacity,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
