import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SeedData } from '../../src/local/opensearch/index.ts';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../src/local/stack.ts';

/** Short backoffs and checks so a test sees retries and tracking within seconds, not minutes. */
export const FAST_HANDLER_ENVIRONMENT = {
  BACKOFF_BASE_SECONDS: '1',
  BACKOFF_MAX_SECONDS: '2',
  TRACKING_FIRST_DELAY_SECONDS: '1',
  TRACKING_MAX_DELAY_SECONDS: '2',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

/** Domains `orders-1…` and AVAILABLE dictionary packages `F9001…`, plus the failing plugin of the demo seed. */
export function testSeed(domainCount: number, packageCount: number): SeedData {
  const seed: SeedData = {
    domains: Array.from({ length: domainCount }, (_, index) => ({
      DomainName: `orders-${index + 1}`,
      EngineType: 'OpenSearch' as const,
      EngineVersion: 'OpenSearch_2.17',
    })),
    packages: [
      ...Array.from({ length: packageCount }, (_, index) => ({
        PackageID: `F${9001 + index}`,
        PackageName: `dictionary-${9001 + index}`,
        PackageType: 'TXT-DICTIONARY' as const,
        PackageStatus: 'AVAILABLE' as const,
        AvailablePackageVersion: 'v1',
        CreatedAt: '2026-01-01T00:00:00Z',
      })),
      {
        PackageID: 'pkg-5f6e7d8c9b',
        PackageName: 'legacy-tokenizer-plugin',
        PackageType: 'ZIP-PLUGIN' as const,
        PackageStatus: 'AVAILABLE' as const,
        AvailablePackageVersion: '2023.11.0',
        CreatedAt: '2026-01-01T00:00:00Z',
        EngineVersion: 'OpenSearch_2.17',
        failOnAssociate: { ErrorType: 'PluginInstallationFailed', ErrorMessage: 'Plugin is not compatible' },
      },
    ],
    associations: [],
  };
  return seed;
}

export interface ReceivedEvent {
  'detail-type': string;
  detail: Record<string, unknown> & { idempotencyKey: string; error?: { code: string } };
}

/** Drains a queue in the background and keeps what it read, so tests wait on conditions, not sleeps. */
export class QueueCollector {
  readonly messages: Message[] = [];
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #abort = new AbortController();
  readonly #loop: Promise<void>;

  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
    this.#loop = this.#poll();
  }

  async #poll(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      try {
        const { Messages = [] } = await this.#client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.#queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: this.#abort.signal },
        );
        if (Messages.length === 0) continue;
        this.messages.push(...Messages);
        await this.#client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.#queueUrl,
            Entries: Messages.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        throw error;
      }
    }
  }

  events(): ReceivedEvent[] {
    return this.messages.map((message) => JSON.parse(message.Body ?? '{}') as ReceivedEvent);
  }

  eventsFor(idempotencyKey: string): ReceivedEvent[] {
    return this.events().filter((event) => event.detail.idempotencyKey === idempotencyKey);
  }

  async waitFor<T>(read: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = read();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }
}

export interface TestStack {
  stack: LocalStack;
  client: SQSClient;
  events: QueueCollector;
  deadLetters: QueueCollector;
  send(body: unknown): Promise<string>;
  stop(): Promise<void>;
}

/** A local stack on free ports with collectors on the subscriber queue and the DLQ. */
export async function startTestStack(options: LocalStackOptions = {}): Promise<TestStack> {
  const stack = await startLocalStack({
    port: 0,
    visibilityTimeoutSeconds: 3,
    ...options,
    handlerEnvironment: { ...FAST_HANDLER_ENVIRONMENT, ...options.handlerEnvironment },
  });
  const client = new SQSClient({
    endpoint: stack.endpoint,
    region: stack.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const events = new QueueCollector(client, stack.queueUrls.events);
  const deadLetters = new QueueCollector(client, stack.queueUrls.requestsDlq);
  return {
    stack,
    client,
    events,
    deadLetters,
    async send(body) {
      const { MessageId } = await client.send(
        new SendMessageCommand({
          QueueUrl: stack.queueUrls.requests,
          MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
        }),
      );
      return MessageId ?? randomUUID();
    },
    async stop() {
      await events.stop();
      await deadLetters.stop();
      client.destroy();
      await stack.stop();
    },
  };
}
