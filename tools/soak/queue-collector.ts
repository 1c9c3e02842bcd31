import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * Drains a queue in the background and keeps every message it read, as a subscriber would. A message is
 * kept before it is deleted, so "the queue is empty" means "the collector has it".
 */
export class QueueCollector {
  readonly messages: Message[] = [];
  /** A message whose delete failed comes back; it is still one message, not a second event. */
  readonly #seen = new Set<string>();
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #abort = new AbortController();
  readonly #loop: Promise<void>;
  #lastError: unknown;

  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
    this.#loop = this.#poll();
  }

  /** The last receive or delete error, if any; the loop keeps going, as a subscriber must. */
  get lastError(): unknown {
    return this.#lastError;
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
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: this.#abort.signal },
        );
        if (Messages.length === 0) continue;
        for (const message of Messages) {
          const id = message.MessageId ?? '';
          if (this.#seen.has(id)) continue;
          this.#seen.add(id);
          this.messages.push(message);
        }
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
        this.#lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** Resolves with what `read` finds once it finds something; polls, since the collector fills in the background. */
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
