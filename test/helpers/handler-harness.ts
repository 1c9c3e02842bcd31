import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  DescribeDomainCommand,
  DescribePackagesCommand,
  GetPackageVersionHistoryCommand,
  ListPackagesForDomainCommand,
  OpenSearchClient,
} from '@aws-sdk/client-opensearch';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, vi } from 'vitest';
import { clearTable, createLedgerTable, type LocalDynamo, startDynalite } from './dynalite.ts';
import { ACCOUNT, REGION } from './factories.ts';

export const QUEUE_BASE = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}`;
export const NOW = new Date('2026-11-28T10:00:00.000Z');

/** The environment serverless.yml gives both functions, with a fresh idempotency table name. */
export function handlerEnvironment() {
  return {
    EVENT_BUS_NAME: 'package-associator-test',
    EVENT_SOURCE: 'package-associator',
    DLQ_URL: `${QUEUE_BASE}/package-associator-requests-dlq`,
    REQUESTS_QUEUE_URL: `${QUEUE_BASE}/package-associator-requests`,
    // The tests change a package between deliveries that share one frozen clock: every read is fresh.
    READ_REUSE_MS: '0',
    TRACKING_QUEUE_URL: `${QUEUE_BASE}/package-associator-tracking`,
    TRACKING_DLQ_URL: `${QUEUE_BASE}/package-associator-tracking-dlq`,
    LEDGER_TABLE: `ledger-${randomUUID()}`,
    ALLOWED_DOMAINS: 'catalog-search,orders-*',
    KEY_ACCESS_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/keys`,
    MAX_ATTEMPTS: '5',
    BACKOFF_BASE_SECONDS: '10',
    BACKOFF_MAX_SECONDS: '600',
  };
}

/** PutEvents that accepts every entry. */
export function acceptAllEvents(eventBridge: AwsClientStub<EventBridgeClient>): void {
  eventBridge.on(PutEventsCommand).callsFake(({ Entries }: { Entries: PutEventsRequestEntry[] }) => ({
    FailedEntryCount: 0,
    Entries: Entries.map((_, index) => ({ EventId: `event-${index}` })),
  }));
}

/** Every PutEvents entry sent, with its Detail parsed, in the order sent. */
export function publishedEvents(eventBridge: AwsClientStub<EventBridgeClient>) {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => ({
      ...entry,
      Detail: JSON.parse(entry.Detail ?? 'null') as Record<string, unknown>,
    })),
  );
}

/** SendMessageBatch that accepts every entry. */
export function acceptAllMessages(sqs: AwsClientStub<SQSClient>): void {
  sqs.on(SendMessageBatchCommand).callsFake(({ Entries }: { Entries: SendMessageBatchRequestEntry[] }) => ({
    Successful: Entries.map((entry) => ({
      Id: entry.Id,
      MessageId: `message-${entry.Id}`,
      MD5OfMessageBody: 'not checked by the mock',
    })),
    Failed: [],
  }));
}

/** Every message sent to `queueUrl`, alone or in a batch, as SendMessage input, in the order sent. */
export function sentTo(sqs: AwsClientStub<SQSClient>, queueUrl: string) {
  const single = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
  const batched = sqs.commandCalls(SendMessageBatchCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => ({
      QueueUrl: call.args[0].input.QueueUrl,
      MessageBody: entry.MessageBody,
      DelaySeconds: entry.DelaySeconds,
      MessageAttributes: entry.MessageAttributes,
    })),
  );
  return [...single, ...batched].filter((input) => input.QueueUrl === queueUrl);
}

export function deadLetterAttributes(
  reasonCode: string,
  errorMessage: string,
  sourceMessageId: string,
  attempt = 1,
) {
  return {
    ReasonCode: { DataType: 'String', StringValue: reasonCode },
    ErrorMessage: { DataType: 'String', StringValue: errorMessage },
    Attempt: { DataType: 'Number', StringValue: String(attempt) },
    SourceMessageId: { DataType: 'String', StringValue: sourceMessageId },
    FailedAt: { DataType: 'String', StringValue: NOW.toISOString() },
  };
}

/** The version every package is available at unless a test says otherwise. */
export const AVAILABLE_VERSION = 'v1';

/**
 * Every package exists, AVAILABLE at `AVAILABLE_VERSION` (a dictionary), every domain is idle and lists
 * nothing: a test states only what differs.
 */
export function packagesAvailable(
  openSearch: AwsClientStub<OpenSearchClient>,
  packageType = 'TXT-DICTIONARY',
) {
  openSearch.on(DescribePackagesCommand).callsFake((input: { Filters?: { Value?: string[] }[] }) => ({
    PackageDetailsList: (input.Filters?.[0]?.Value ?? []).map((packageId) => ({
      PackageID: packageId,
      PackageName: `package-${packageId}`,
      PackageType: packageType,
      PackageStatus: 'AVAILABLE',
      AvailablePackageVersion: AVAILABLE_VERSION,
    })),
  }));
  openSearch.on(GetPackageVersionHistoryCommand).resolves({
    PackageVersionHistoryList: [{ PackageVersion: AVAILABLE_VERSION }],
  });
  openSearch.on(DescribeDomainCommand).resolves({ DomainStatus: { Processing: false } as never });
  openSearch.on(ListPackagesForDomainCommand).resolves({ DomainPackageDetailsList: [] });
}

export function awsError(name: string, message: string, status: number) {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

/**
 * Wires a handler test file: mocked OpenSearch, SQS and EventBridge clients (SQS accepts everything,
 * PutEvents accepts every entry), a real idempotency table in an in-test dynalite, a fixed clock and
 * `Math.random() = 0.5`. The handler module is imported after the environment is set, as Lambda would.
 */
export function handlerUnderTest<Module>(load: () => Promise<Module>) {
  const env = handlerEnvironment();
  const openSearch = mockClient(OpenSearchClient);
  const sqs = mockClient(SQSClient);
  const eventBridge = mockClient(EventBridgeClient);
  let dynamo: LocalDynamo | undefined;
  let loaded: Module | undefined;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await createLedgerTable(dynamo.endpoint, env.LEDGER_TABLE);
    Object.assign(process.env, env, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint });
    loaded = await load();
  });

  afterAll(async () => {
    await dynamo?.close();
  });

  beforeEach(async () => {
    if (dynamo !== undefined) await clearTable(dynamo.endpoint, env.LEDGER_TABLE);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    openSearch.reset();
    sqs.reset();
    eventBridge.reset();
    sqs.onAnyCommand().resolves({});
    acceptAllMessages(sqs);
    acceptAllEvents(eventBridge);
    packagesAvailable(openSearch);
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  return {
    env,
    openSearch,
    sqs,
    eventBridge,
    module(): Module {
      if (loaded === undefined) throw new Error('the handler module loads in beforeAll');
      return loaded;
    },
  };
}
