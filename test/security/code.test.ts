/**
 * Security properties of the associate-package handler as it runs in Lambda: the allow-list stops a request
 * before any AWS call, logs never carry a request body, and a dead letter carries the body byte for byte.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  AssociatePackageCommand,
  OpenSearchClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-opensearch';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearTable, createLedgerTable, type LocalDynamo, startDynalite } from '../helpers/dynalite.ts';
import { ACCOUNT, lambdaContext, REGION, sqsEvent, sqsRecord } from '../helpers/factories.ts';
import { acceptAllMessages, packagesAvailable } from '../helpers/handler-harness.ts';

const QUEUE_BASE = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}`;
const ENV = {
  EVENT_BUS_NAME: 'package-associator-security',
  EVENT_SOURCE: 'package-associator',
  DLQ_URL: `${QUEUE_BASE}/package-associator-requests-dlq`,
  REQUESTS_QUEUE_URL: `${QUEUE_BASE}/package-associator-requests`,
  READ_REUSE_MS: '0',
  TRACKING_QUEUE_URL: `${QUEUE_BASE}/package-associator-tracking`,
  TRACKING_DLQ_URL: `${QUEUE_BASE}/package-associator-tracking-dlq`,
  LEDGER_TABLE: `ledger-security-${randomUUID()}`,
  ALLOWED_DOMAINS: 'catalog-search,orders-*',
  MAX_ATTEMPTS: '5',
  // The level the stack deploys with (serverless.yml); vitest.config.ts silences the logger otherwise.
  POWERTOOLS_LOG_LEVEL: 'INFO',
};

/** Counts the requests that reach DynamoDB (dynalite), by operation, on their way through. */
interface DynamoSpy {
  endpoint: string;
  operations: string[];
  close(): Promise<void>;
}

async function startDynamoSpy(target: string): Promise<DynamoSpy> {
  const operations: string[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    operations.push(String(incoming.headers['x-amz-target'] ?? 'unknown').replace(/^DynamoDB_\d+\./, ''));
    const forwarded = httpRequest(
      `${target}${incoming.url ?? '/'}`,
      { method: incoming.method, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    operations,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

let dynamo: LocalDynamo;
let dynamoSpy: DynamoSpy;
let handler: typeof import('../../src/handlers/associate-package.ts')['handler'];
const openSearch = mockClient(OpenSearchClient);
const sqs = mockClient(SQSClient);
const eventBridge = mockClient(EventBridgeClient);

beforeAll(async () => {
  dynamo = await startDynalite();
  await createLedgerTable(dynamo.endpoint, ENV.LEDGER_TABLE);
  dynamoSpy = await startDynamoSpy(dynamo.endpoint);
  // The logger and clients read these at import: set them first, and keep the event itself out of the logs.
  delete process.env.POWERTOOLS_LOGGER_LOG_EVENT;
  delete process.env.AWS_LAMBDA_LOG_LEVEL;
  Object.assign(process.env, ENV, { AWS_ENDPOINT_URL_DYNAMODB: dynamoSpy.endpoint });
  ({ handler } = await import('../../src/handlers/associate-package.ts'));
});

afterAll(async () => {
  await dynamoSpy.close();
  await dynamo.close();
});

beforeEach(async () => {
  // Each test starts with no requests and no domain locks.
  await clearTable(dynamo.endpoint, ENV.LEDGER_TABLE);
  openSearch.reset();
  sqs.reset();
  eventBridge.reset();
  dynamoSpy.operations.length = 0;
  packagesAvailable(openSearch);
  sqs.onAnyCommand().resolves({});
  acceptAllMessages(sqs);
  openSearch.on(AssociatePackageCommand).callsFake((input: { DomainName: string; PackageID: string }) => ({
    DomainPackageDetails: {
      DomainName: input.DomainName,
      PackageID: input.PackageID,
      DomainPackageStatus: 'ASSOCIATING',
    },
  }));
  eventBridge.on(PutEventsCommand).callsFake(({ Entries }: { Entries: PutEventsRequestEntry[] }) => ({
    FailedEntryCount: 0,
    Entries: Entries.map((_, index) => ({ EventId: `event-${index}` })),
  }));
});

let written: string[] = [];

beforeEach(() => {
  // INFO logging is on for this file: keep it out of the test output, and keep it for the log assertions.
  written = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const invoke = (...records: SQSRecord[]) =>
  handler(sqsEvent(records), lambdaContext()) as Promise<SQSBatchResponse>;

function deadLetters() {
  return sqs
    .commandCalls(SendMessageCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.QueueUrl === ENV.DLQ_URL);
}

function publishedEvents() {
  return eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => ({ detailType: entry.DetailType, detail: JSON.parse(entry.Detail ?? 'null') }));
}

/** The lines the function wrote to stdout and stderr (the logger writes JSON lines through its own Console). */
function outputLines(): string[] {
  return written
    .join('')
    .split('\n')
    .filter((line) => line.trim().length > 0);
}

describe('the domain allow-list', () => {
  const outsiders = [
    { domainName: 'hr-private', packageId: 'F1' },
    { domainName: 'hr-private', packageId: 'F2', idempotencyKey: `order-${randomUUID()}` },
    // Near misses: `orders-*` is a prefix with its hyphen, `catalog-search` an exact name.
    { domainName: 'orders', packageId: 'F3' },
    { domainName: 'ordersx', packageId: 'F4' },
    { domainName: 'xorders-a', packageId: 'F5' },
    { domainName: 'catalog-search-2', packageId: 'F6' },
    { domainName: 'catalog-searc', packageId: 'pkg-0a', prerequisitePackageIds: ['F7'] },
  ];

  it('rejects a domain off the list before any OpenSearch call, recording only the rejection', async () => {
    const records = outsiders.map((body) => sqsRecord(body));

    const response = await invoke(...records);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(openSearch.calls()).toHaveLength(0);
    // Per message: is there a request under its key (no), the rejection, and its outbox cleared.
    expect([...dynamoSpy.operations].sort()).toEqual(
      records.flatMap(() => ['GetItem', 'PutItem', 'PutItem']).sort(),
    );
    // Only the dead letters and the Failed events leave the function.
    expect(sqs.calls()).toHaveLength(records.length);
    expect(sqs.calls().every((call) => call.args[0] instanceof SendMessageCommand)).toBe(true);
    expect(eventBridge.calls().every((call) => call.args[0] instanceof PutEventsCommand)).toBe(true);
    expect(
      deadLetters()
        .map((input) => [input.MessageBody, input.MessageAttributes?.ReasonCode?.StringValue])
        .sort(),
    ).toEqual(records.map((record) => [record.body, 'DomainNotAllowed']).sort());
    expect(publishedEvents().map((event) => [event.detailType, event.detail.error.code])).toEqual(
      records.map(() => ['PackageRequestRejected', 'DomainNotAllowed']),
    );
  });

  it('lets an allowed domain through to the ledger and OpenSearch (the spies see real calls)', async () => {
    const response = await invoke(sqsRecord({ domainName: 'orders-eu', packageId: 'F8' }));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(openSearch.commandCalls(AssociatePackageCommand)).toHaveLength(1);
    // Claim (no read: the key is new), the domain lock (a read, a write), pin before AssociatePackage, follow
    // after it, clear once all is sent.
    expect(dynamoSpy.operations).toEqual(['PutItem', 'GetItem', 'PutItem', 'PutItem', 'PutItem', 'PutItem']);
  });
});

describe('the logs', () => {
  const requestedBy = `requested-by-${randomUUID()}`;
  const unknownValue = `unknown-field-value-${randomUUID()}`;
  const notJsonMarker = `not-json-${randomUUID()}`;

  it('hold one decision line per request and never a body, nor a value the service does not audit', async () => {
    const records = [
      sqsRecord({ domainName: 'orders-logs', packageId: 'F10', requestedBy, correlationId: 'corr-started' }),
      sqsRecord({ domainName: 'orders-logs', packageId: 'F11', requestedBy, apiToken: unknownValue }),
      sqsRecord({
        domainName: 'hr-private',
        packageId: 'F12',
        requestedBy,
        associationConfiguration: {
          keyStoreAccessOption: { keyStoreAccessEnabled: false, note: unknownValue },
        },
      }),
      sqsRecord({ domainName: 'hr-private', packageId: 'F13', requestedBy }),
      sqsRecord(`{"domainName":"orders-logs","packageId":"F14","requestedBy":"${notJsonMarker}",`),
    ];

    await invoke(...records);

    const lines = outputLines();
    const decisions = lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.message === 'package association decision');
    expect(decisions.map((entry) => [entry.messageId, entry.decision, entry.reason]).sort()).toEqual(
      [
        [records[0]?.messageId, 'started', undefined],
        [records[1]?.messageId, 'rejected', 'InvalidRequest'],
        [records[2]?.messageId, 'rejected', 'InvalidRequest'],
        [records[3]?.messageId, 'rejected', 'DomainNotAllowed'],
        [records[4]?.messageId, 'rejected', 'InvalidRequest'],
      ].sort(),
    );
    expect(decisions[0]).toMatchObject({ level: 'INFO', service: expect.any(String) });
    expect(decisions.find((entry) => entry.decision === 'started')).toMatchObject({
      idempotencyKey: records[0]?.messageId,
      correlationId: 'corr-started',
      domainName: 'orders-logs',
      packageId: 'F10',
      requestedBy,
      attempt: 1,
    });

    const output = lines.join('\n');
    for (const record of records) {
      expect(output).not.toContain(record.body);
      // A JSON log line would hold the body escaped, as a string value.
      expect(output).not.toContain(JSON.stringify(record.body).slice(1, -1));
    }
    expect(output).not.toContain(unknownValue);
    expect(output).not.toContain(notJsonMarker);
    // The Lambda event itself (its Records, receipt handles) is not logged at INFO.
    expect(output).not.toContain('receiptHandle');
    expect(output).not.toContain(records[0]?.receiptHandle);
  });
});

describe('a dead letter', () => {
  const exactBodies = [
    '{ "packageId":"F1" ,"domainName":"hr-private"}',
    '{\n\t"domainName" : "hr-private",\r\n  "packageId": "F2",\n  "requestedBy": "Zoë 🚀 日本語 \\u00e9 \\ud83d\\ude80"\n}\n',
    '\uFEFF{"domainName":"catalog-search","packageId":"F3"}',
    '{"domainName":"catalog-search","packageId":"F4",}',
    '   {"domainName":"catalog-search","packageId":"F5","extra":"🙂 \\" \\\\ /"}   ',
    '{"domainName":"catalog-search","packageId":"F6","packageId":"F404"}',
    '1e999',
    ' ',
    'plain text,\r\nnot JSON at all: \u00a0\u2028\u2029 ﷽ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    `{"domainName":"hr-private","packageId":"F8","requestedBy":"${'é'.repeat(200)}"}`,
    `{"domainName":"hr-private","packageId":"F9"}${' '.repeat(200 * 1024)}`,
  ];

  it('carries the original body byte for byte, whatever its spacing, key order, escapes or encoding', async () => {
    openSearch
      .on(AssociatePackageCommand, { PackageID: 'F404' })
      .rejects(new ResourceNotFoundException({ message: 'Package F404 not found', $metadata: {} }));
    const records = exactBodies.map((body) => sqsRecord(body));

    const response = await invoke(...records.slice(0, 10));
    const lastResponse = await invoke(...records.slice(10));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(lastResponse).toEqual({ batchItemFailures: [] });
    const letters = deadLetters();
    expect(letters).toHaveLength(records.length);
    for (const record of records) {
      const letter = letters.find(
        (input) => input.MessageAttributes?.SourceMessageId?.StringValue === record.messageId,
      );
      expect(letter?.MessageBody).toBe(record.body);
      expect(Buffer.from(letter?.MessageBody ?? '', 'utf8').equals(Buffer.from(record.body, 'utf8'))).toBe(
        true,
      );
    }
  });

  it('carries any body SQS can deliver unchanged', async () => {
    // The characters SQS accepts in a message body (SendMessage API reference).
    const sqsCharacter = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 1 })
      .filter((char) => /^[\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]$/u.test(char));
    const body = fc.oneof(
      fc.string({ unit: sqsCharacter, minLength: 1, maxLength: 300 }),
      fc.json().map((text) => ` ${text}\n`),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 10 }), async (bodies) => {
        sqs.resetHistory();
        const records = bodies.map((text) => sqsRecord(text));
        const response = await invoke(...records);
        expect(response).toEqual({ batchItemFailures: [] });
        const letters = deadLetters();
        expect(letters.map((input) => input.MessageAttributes?.SourceMessageId?.StringValue).sort()).toEqual(
          records.map((record) => record.messageId).sort(),
        );
        for (const record of records) {
          const letter = letters.find(
            (input) => input.MessageAttributes?.SourceMessageId?.StringValue === record.messageId,
          );
          expect(letter?.MessageBody).toBe(record.body);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('keeps its reason attributes within the characters SQS accepts, whatever field names the body used', async () => {
    const body = '{"domainName":"catalog-search","packageId":"F1","\\u0000\\u001b[31m\\ud800":1,"a\\nb":2}';

    await invoke(sqsRecord(body));

    const [letter] = deadLetters();
    expect(letter?.MessageBody).toBe(body);
    for (const attribute of Object.values(letter?.MessageAttributes ?? {})) {
      expect(attribute.StringValue).toMatch(/^[\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]+$/u);
    }
    expect(letter?.MessageAttributes?.ErrorMessage?.StringValue).toBe(
      '\uFFFD\uFFFD[31m\uFFFD: is not a known field; a\nb: is not a known field',
    );
  });
});
