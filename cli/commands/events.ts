import type { Message } from '@aws-sdk/client-sqs';
import { formatEventLine, parseEnvelope, summarizeBody } from '../format.ts';
import { EXIT, type ExitCode } from '../io.ts';
import { deleteMessages, queueUrlFor, receiveMessages, releaseMessages } from '../queue-ops.ts';
import { type CommandContext, createSqsClient } from './context.ts';

export interface EventsOptions {
  json?: boolean | undefined;
  follow?: boolean | undefined;
  /** Leave the events on the queue: they are made visible again when the command ends. */
  peek?: boolean | undefined;
  max?: number | undefined;
  /** Long-poll seconds per receive when draining; following always waits the SQS maximum. */
  wait: number;
  eventsQueueUrl?: string | undefined;
  eventsQueueName?: string | undefined;
}

/** Hides what a peek has read for long enough to finish reading the rest, so nothing is printed twice. */
const PEEK_VISIBILITY_SECONDS = 120;
const FOLLOW_WAIT_SECONDS = 20;

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** `associator events`: prints what the subscriber queue holds, then deletes it (unless `--peek`). */
export async function runEvents(options: EventsOptions, context: CommandContext): Promise<ExitCode> {
  const { io } = context;
  const sqs = createSqsClient(context.target);
  const interrupted = new AbortController();
  const restoreInterrupt = options.follow === true ? io.onInterrupt(() => interrupted.abort()) : () => {};
  // Foreign messages are never deleted: the queue may have other subscribers' rules delivering to it.
  const toRelease: Message[] = [];
  let queueUrl: string | undefined;
  let printed = 0;
  try {
    queueUrl = await queueUrlFor(sqs, context, 'events', {
      url: options.eventsQueueUrl,
      name: options.eventsQueueName,
    });
    const batches = receiveMessages(sqs, queueUrl, {
      follow: options.follow === true,
      waitSeconds: options.follow === true ? FOLLOW_WAIT_SECONDS : options.wait,
      visibilityTimeout: options.peek === true ? PEEK_VISIBILITY_SECONDS : undefined,
      max: options.max,
      signal: interrupted.signal,
    });
    for await (const batch of batches) {
      const handled: Message[] = [];
      for (const message of batch) {
        const body = message.Body ?? '';
        const envelope = parseEnvelope(body);
        if (envelope === undefined) {
          io.err(
            `skipped message ${message.MessageId ?? '?'}: not an EventBridge event (${summarizeBody(body)})`,
          );
          toRelease.push(message);
          continue;
        }
        // The body re-serialised, not the parsed envelope, so machines get every field in EventBridge's order.
        io.out(options.json === true ? JSON.stringify(JSON.parse(body)) : formatEventLine(envelope));
        printed += 1;
        handled.push(message);
      }
      if (options.peek === true) {
        toRelease.push(...handled);
      } else {
        const undeleted = await deleteMessages(sqs, queueUrl, handled);
        for (const id of undeleted) io.err(`could not delete message ${id}: it will be delivered again`);
      }
    }
  } catch (error) {
    if (!isAbort(error) || !interrupted.signal.aborted) throw error;
  } finally {
    restoreInterrupt();
    try {
      if (queueUrl !== undefined && toRelease.length > 0) await releaseMessages(sqs, queueUrl, toRelease);
    } finally {
      sqs.destroy();
    }
  }
  io.err(
    printed === 0
      ? `no events waiting on ${queueUrl}`
      : `${printed} event${printed === 1 ? '' : 's'} from ${queueUrl}`,
  );
  return EXIT.ok;
}
