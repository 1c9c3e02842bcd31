import { randomUUID } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack.ts';
import { QueueCollector } from '../../tools/soak/queue-collector.ts';
import { syntheticSeed } from '../../tools/soak/workload.ts';

/** Short backoffs and checks so a test sees retries and tracking within seconds, not minutes. */
export const FAST_HANDLER_ENVIRONMENT = {
  BACKOFF_BASE_SECONDS: '1',
  BACKOFF_MAX_SECONDS: '2',
  TRACKING_FIRST_DELAY_SECONDS: '1',
  TRACKING_MAX_DELAY_SECONDS: '2',
  PLUGIN_TRACKING_MAX_DELAY_SECONDS: '2',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

/** Domains `orders-1…`, dictionaries `F9001…`, and the plugin `pkg-5f6e7d8c9b` that fails on association. */
export const testSeed = syntheticSeed;

export interface ReceivedEvent {
  'detail-type': string;
  detail: Record<string, unknown> & { idempotencyKey: string; error?: { code: string } };
}

/** The EventBridge envelopes a collector on the subscriber queue has read. */
export function eventsIn(collector: QueueCollector): ReceivedEvent[] {
  return collector.messages.map((message) => JSON.parse(message.Body ?? '{}') as ReceivedEvent);
}

/** The events of a request (by its key) or of a rejected message (by its message id). */
export function eventsFor(collector: QueueCollector, idempotencyKeyOrMessageId: string): ReceivedEvent[] {
  return eventsIn(collector).filter(
    (event) =>
      event.detail.idempotencyKey === idempotencyKeyOrMessageId ||
      event.detail.messageId === idempotencyKeyOrMessageId,
  );
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
