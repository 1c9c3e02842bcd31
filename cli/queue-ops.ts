/** The SQS calls the commands share: batched sends with retries, draining reads, deletes and releases. */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { CommandContext } from './commands/context.ts';
import { describeError, OperationError } from './io.ts';
import { type QueueFlags, type QueueRole, resolveQueueUrl } from './targets.ts';

/** A queue's URL from flags, environment or local defaults (see resolveQueueUrl), names looked up in SQS. */
export function queueUrlFor(sqs: SQSClient, context: CommandContext, role: QueueRole, flags: QueueFlags) {
  return resolveQueueUrl(context.target, role, flags, context.io.env, async (name) => {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (QueueUrl === undefined) throw new OperationError(`GetQueueUrl returned no URL for queue ${name}`);
    return QueueUrl;
  });
}

export interface SendEntry {
  /** Unique within one call; SQS allows letters, digits, `-` and `_`, up to 80 characters. */
  id: string;
  body: string;
}

export type SendResult = { ok: true; messageId: string } | { ok: false; error: string };

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200 };

/**
 * Sends one batch (see planBatches for its limits). Entries SQS reports as `Failed` are retried unless SQS
 * blames the sender (`SenderFault`: retrying the same entry cannot help); what is still failing after the last
 * attempt comes back with its error. Never throws for an AWS error: every entry gets a result.
 */
export async function sendBatch(
  sqs: SQSClient,
  queueUrl: string,
  entries: readonly SendEntry[],
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<Map<string, SendResult>> {
  const results = new Map<string, SendResult>();
  let pending = [...entries];
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    const lastAttempt = attempt >= retry.attempts;
    try {
      const response = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: pending.map((entry) => ({ Id: entry.id, MessageBody: entry.body })),
        }),
      );
      for (const success of response.Successful ?? []) {
        if (success.Id !== undefined && success.MessageId !== undefined) {
          results.set(success.Id, { ok: true, messageId: success.MessageId });
        }
      }
      for (const failure of response.Failed ?? []) {
        if (failure.Id === undefined) continue;
        const error = `${failure.Code ?? 'Failed'}: ${failure.Message ?? 'no message'}`;
        if (failure.SenderFault === true || lastAttempt) results.set(failure.Id, { ok: false, error });
      }
      // Retryable failures, and entries listed neither as sent nor as failed, go again.
      pending = pending.filter((entry) => !results.has(entry.id));
      if (lastAttempt) {
        for (const entry of pending) results.set(entry.id, { ok: false, error: 'not acknowledged by SQS' });
        pending = [];
      }
    } catch (error) {
      if (lastAttempt) {
        for (const entry of pending) results.set(entry.id, { ok: false, error: describeError(error) });
        pending = [];
      }
    }
    if (pending.length > 0) await sleep(retry.baseDelayMs * 2 ** (attempt - 1));
  }
  return results;
}

export interface ReceiveOptions {
  /** Seconds each received message stays hidden; unset uses the queue's own. */
  visibilityTimeout?: number | undefined;
  /** Long-poll wait per receive. */
  waitSeconds: number;
  /** Keep polling after an empty receive (until `signal` aborts); otherwise stop there. */
  follow: boolean;
  /** Stop after this many messages. */
  max?: number | undefined;
  /** Once aborted, no new receive starts; the one in flight still returns what it took. */
  stop?: AbortSignal | undefined;
  /** Aborts the receive in flight (what SQS hands it after that is hidden for its visibility timeout). */
  signal?: AbortSignal | undefined;
}

/**
 * Receives batches until the queue is empty (or forever with `follow`), each message once: a message seen
 * again, because its visibility ran out while the caller was still going, is skipped.
 */
export async function* receiveMessages(
  sqs: SQSClient,
  queueUrl: string,
  options: ReceiveOptions,
): AsyncGenerator<Message[]> {
  const seen = new Set<string>();
  const limit = options.max ?? Number.POSITIVE_INFINITY;
  const stopped = () => options.stop?.aborted === true || options.signal?.aborted === true;
  while (seen.size < limit && !stopped()) {
    const response = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, limit - seen.size),
        WaitTimeSeconds: options.waitSeconds,
        VisibilityTimeout: options.visibilityTimeout,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
      { abortSignal: options.signal },
    );
    const fresh = (response.Messages ?? []).filter((message) => {
      const id = message.MessageId ?? message.ReceiptHandle ?? '';
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    if (fresh.length > 0) yield fresh;
    else if ((response.Messages ?? []).length === 0 && !options.follow) return;
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

/**
 * Runs a batch operation over the messages ten at a time (each entry's Id its index in its group); returns the
 * message ids SQS reported failed.
 */
async function inBatches(
  messages: readonly Message[],
  send: (group: readonly Message[]) => Promise<{ Failed?: { Id?: string }[] }>,
): Promise<string[]> {
  const failed: string[] = [];
  for (const group of chunks(messages, 10)) {
    const response = await send(group);
    for (const failure of response.Failed ?? []) {
      failed.push(group[Number(failure.Id)]?.MessageId ?? failure.Id ?? '?');
    }
  }
  return failed;
}

/** Deletes the messages; returns the ids SQS could not delete (they will be delivered again). */
export function deleteMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly Message[],
): Promise<string[]> {
  return inBatches(messages, (group) =>
    sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: group.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    ),
  );
}

/** Makes received messages visible again at once, so reading them for a listing leaves them where they were. */
export function releaseMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly Message[],
): Promise<string[]> {
  return inBatches(messages, (group) =>
    sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: group.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    ),
  );
}
