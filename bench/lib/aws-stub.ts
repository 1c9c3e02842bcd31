/**
 * A minimal AWS endpoint for the handler bundle with its real SDK clients: it answers the success path of the
 * associate handler (DynamoDB items, AssociatePackage, SendMessage and SendMessageBatch, PutEvents) at once and counts each call.
 * Only the shapes the SDK needs to accept the answers; nothing is stored.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const ASSOCIATE_PATH = /^\/2021-01-01\/packages\/associate\/([^/]+)\/([^/?]+)/;

export interface AwsStub {
  endpoint: string;
  /** Calls by operation, e.g. `DynamoDB_20120810.PutItem`, `AssociatePackage`. */
  calls: Map<string, number>;
  close(): Promise<void>;
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

function answer(operation: string, input: Record<string, unknown>, url: string) {
  if (operation.startsWith('DynamoDB_20120810.')) return { type: 'application/x-amz-json-1.0', body: {} };
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
    const answered = answer(operation, input, url);
    if (answered === undefined) {
      reply(res, 400, 'application/json', { __type: 'UnknownOperationException', message: operation });
      return;
    }
    reply(res, 200, answered.type, answered.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
