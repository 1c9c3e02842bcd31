import {
  BatchingOutbox,
  type EntryFailure,
  type EntryRetryOptions,
  type InvocationBatcher,
} from './invocation-batcher.ts';
import type { OutgoingMessage, Queues } from './queues.ts';

/** SendMessageBatch takes at most 10 entries per call (SQS quotas). */
const MAX_ENTRIES_PER_CALL = 10;
/** The whole call's payload limit; kept at the long-standing 256 KiB, under what SQS allows today. */
const MAX_CALL_BYTES = 256 * 1024;

export class QueueSendError extends Error {
  override name = 'QueueSendError';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Sends one invocation's messages to one queue in as few SendMessageBatch calls as its batcher allows (see
 * InvocationBatcher). A message SQS refuses fails its own record only; one refused for a reason on SQS's side
 * is sent again, one refused for what it is (a sender fault) is not.
 */
export class BatchedQueueSender extends BatchingOutbox<OutgoingMessage> {
  readonly #queues: Queues;
  readonly #queueUrl: string;

  constructor(queues: Queues, queueUrl: string, batcher: InvocationBatcher, options: EntryRetryOptions = {}) {
    super(batcher, { maxEntriesPerCall: MAX_ENTRIES_PER_CALL, maxCallBytes: MAX_CALL_BYTES }, options);
    this.#queues = queues;
    this.#queueUrl = queueUrl;
  }

  send(body: string, delaySeconds: number): Promise<void> {
    return this.enqueue({ body, delaySeconds }, Buffer.byteLength(body, 'utf8'));
  }

  protected override async sendCall(messages: OutgoingMessage[]): Promise<(EntryFailure | undefined)[]> {
    const refusals = await this.#queues.sendBatch(this.#queueUrl, messages);
    return refusals.map((refusal) =>
      refusal === undefined
        ? undefined
        : { error: new QueueSendError(refusal.code, refusal.message), retryable: !refusal.senderFault },
    );
  }

  protected override callFailed(error: unknown): Error {
    return error instanceof Error ? error : new Error(String(error));
  }
}
