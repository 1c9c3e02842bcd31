import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { type EventEnvelope, formatEventLine, inTimeOrder, parseEnvelope, summarizeBody } from '../format.ts';
import { type CliIo, EXIT, type ExitCode, UsageError } from '../io.ts';
import { deleteMessages, queueUrlFor, receiveMessages, releaseMessages } from '../queue-ops.ts';
import { QUEUE_URL_ENV } from '../targets.ts';
import { type CommandContext, createSqsClient } from './context.ts';

export interface EventsOptions {
  json?: boolean | undefined;
  follow?: boolean | undefined;
  /** Leave the events on the queue: they are made visible again when the command ends. */
  peek?: boolean | undefined;
  max?: number | undefined;
  /** Long-poll seconds per receive when draining; following waits FOLLOW_WAIT_SECONDS. */
  wait: number;
  eventsQueueUrl?: string | undefined;
  eventsQueueName?: string | undefined;
  /** Follow this bus through a temporary queue and rule instead of reading a queue. */
  eventBus?: string | undefined;
  eventSource?: string | undefined;
}

/** Hides what a peek has read for long enough to finish reading the rest, so nothing is printed twice. */
const PEEK_VISIBILITY_SECONDS = 120;
/** Enough to print and delete a batch; short, so what a receive cut off by a kill took is back soon. */
const READ_VISIBILITY_SECONDS = 10;
/**
 * Following waits this long per receive, which is also how long a Ctrl-C may wait for the receive in flight:
 * SQS still hands messages to a receive whose connection was closed, and they would stay hidden, so the
 * command lets it return and gives back what it took.
 */
const FOLLOW_WAIT_SECONDS = 5;
/** After a Ctrl-C, the receive in flight is cut off if it has not returned by then (a hung connection). */
const STOP_GRACE_MS = (FOLLOW_WAIT_SECONDS + 10) * 1000;

interface Stop {
  /** The first Ctrl-C or SIGTERM: start no new receive. */
  requested: AbortSignal;
  /** The second, or the grace spent: abort the receive in flight. */
  now: AbortSignal;
  /** Whether a receive is in flight, for the message the first Ctrl-C prints. */
  receiving: boolean;
  restore(): void;
}

function stopOnInterrupt(io: CliIo): Stop {
  const requested = new AbortController();
  const now = new AbortController();
  const stop: Stop = { requested: requested.signal, now: now.signal, receiving: false, restore: () => {} };
  stop.restore = io.onInterrupt(() => {
    if (requested.signal.aborted) {
      now.abort();
      return;
    }
    requested.abort();
    if (stop.receiving) {
      io.err(
        `stopping: giving back what the receive in flight takes (up to ${FOLLOW_WAIT_SECONDS} s; Ctrl-C again to quit now)`,
      );
    }
    setTimeout(() => now.abort(), STOP_GRACE_MS).unref();
  });
  return stop;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

interface Reading {
  queueUrl: string;
  follow: boolean;
  /** Ends the temporary subscription, if any; returns what could not be removed. */
  close(): Promise<string[]>;
}

/** A queue named by a flag or ASSOCIATOR_EVENTS_QUEUE_URL, else the local stack's, else (AWS) a subscription. */
function needsSubscription(options: EventsOptions, context: CommandContext): boolean {
  const named = [options.eventsQueueUrl, options.eventsQueueName, context.io.env[QUEUE_URL_ENV.events]];
  if (named.some((value) => value !== undefined && value.trim() !== '')) return false;
  const { target } = context;
  return target.mode === 'aws' || target.stage !== undefined || options.eventBus !== undefined;
}

async function subscribeToBus(
  sqs: SQSClient,
  options: EventsOptions,
  context: CommandContext,
): Promise<Reading> {
  const { io, target } = context;
  const bus = options.eventBus ?? target.stage?.bus;
  if (bus === undefined) {
    throw new UsageError(
      'no events queue given: pass --stage or --event-bus (followed through a temporary rule), or --events-queue-url',
    );
  }
  const source =
    options.eventSource ?? target.stage?.eventSource ?? (await import('../stage.ts')).defaultEventSource();
  const { createEventBridgeClient, subscribe, unsubscribe } = await import('../subscription.ts');
  const events = createEventBridgeClient(target);
  try {
    const subscription = await subscribe(sqs, events, { bus, source });
    const { name } = subscription;
    io.err(
      `following source ${source} on bus ${bus} from now on, through the temporary queue and rule ${name} (removed on exit); Ctrl-C to stop`,
    );
    return {
      queueUrl: subscription.queueUrl,
      follow: true,
      async close() {
        try {
          const problems = await unsubscribe(sqs, events, subscription);
          if (problems.length === 0) io.err(`removed the temporary queue and rule ${name}`);
          return problems;
        } finally {
          events.destroy();
        }
      },
    };
  } catch (error) {
    events.destroy();
    throw error;
  }
}

/** `associator events`: prints what the subscriber queue holds, then deletes it (unless `--peek`). */
export async function runEvents(options: EventsOptions, context: CommandContext): Promise<ExitCode> {
  const { io } = context;
  const sqs = createSqsClient(context.target);
  const stop = stopOnInterrupt(io);
  let reading: Reading | undefined;
  let code: ExitCode = EXIT.ok;
  try {
    const subscribed = needsSubscription(options, context);
    reading = subscribed
      ? await subscribeToBus(sqs, options, context)
      : {
          queueUrl: await queueUrlFor(sqs, context, 'events', {
            url: options.eventsQueueUrl,
            name: options.eventsQueueName,
          }),
          follow: options.follow === true,
          close: async () => [],
        };
    const { queueUrl, follow } = reading;
    if (follow && !subscribed) io.err(`following ${queueUrl} (Ctrl-C to stop)`);
    const printed = await printEvents(sqs, queueUrl, { ...options, follow }, io, stop);
    io.err(
      printed === 0
        ? `no events waiting on ${queueUrl}`
        : `${printed} event${printed === 1 ? '' : 's'} from ${queueUrl}`,
    );
  } finally {
    try {
      const leftovers = (await reading?.close()) ?? [];
      for (const problem of leftovers) io.err(`${problem}; remove it by hand`);
      if (leftovers.length > 0) code = EXIT.failed;
    } finally {
      stop.restore();
      sqs.destroy();
    }
  }
  return code;
}

interface Received {
  message: Message;
  envelope: EventEnvelope;
}

/** Splits a batch into events, in time order, and messages that are not events (left on the queue). */
function sortBatch(batch: readonly Message[], io: CliIo): { events: Received[]; foreign: Message[] } {
  const events: Received[] = [];
  const foreign: Message[] = [];
  for (const message of batch) {
    const body = message.Body ?? '';
    const envelope = parseEnvelope(body);
    if (envelope === undefined) {
      io.err(
        `skipped message ${message.MessageId ?? '?'}: not an EventBridge event (${summarizeBody(body)})`,
      );
      foreign.push(message);
    } else {
      events.push({ message, envelope });
    }
  }
  return { events: inTimeOrder(events), foreign };
}

/**
 * Prints the events as they come, deleting each batch once printed (unless `--peek`), until the queue is
 * empty, or with `follow` until stopped. Whatever was received and not printed (a receive that returned after
 * the stop, a peek, a foreign message) is made visible again before it returns: nothing hides for others.
 */
async function printEvents(
  sqs: SQSClient,
  queueUrl: string,
  options: EventsOptions & { follow: boolean },
  io: CliIo,
  stop: Stop,
): Promise<number> {
  // Foreign messages are never deleted: the queue may have other subscribers' rules delivering to it.
  const toRelease: Message[] = [];
  let printed = 0;
  try {
    const batches = receiveMessages(sqs, queueUrl, {
      follow: options.follow,
      waitSeconds: options.follow ? FOLLOW_WAIT_SECONDS : options.wait,
      visibilityTimeout: options.peek === true ? PEEK_VISIBILITY_SECONDS : READ_VISIBILITY_SECONDS,
      max: options.max,
      stop: stop.requested,
      signal: stop.now,
    });
    for (;;) {
      stop.receiving = true;
      const next = await batches.next();
      stop.receiving = false;
      if (next.done === true) break;
      if (stop.requested.aborted) {
        toRelease.push(...next.value);
        break;
      }
      const { events, foreign } = sortBatch(next.value, io);
      toRelease.push(...foreign);
      for (const { message, envelope } of events) {
        // The body re-serialised, not the parsed envelope, so machines get every field in EventBridge's order.
        io.out(
          options.json === true ? JSON.stringify(JSON.parse(message.Body ?? '')) : formatEventLine(envelope),
        );
      }
      printed += events.length;
      const handled = events.map(({ message }) => message);
      if (options.peek === true) {
        toRelease.push(...handled);
      } else {
        const undeleted = await deleteMessages(sqs, queueUrl, handled);
        for (const id of undeleted) io.err(`could not delete message ${id}: it will be delivered again`);
      }
    }
  } catch (error) {
    if (!isAbort(error) || !stop.now.aborted) throw error;
  } finally {
    if (toRelease.length > 0) {
      const stuck = await releaseMessages(sqs, queueUrl, toRelease);
      if (stuck.length > 0)
        io.err(`${stuck.length} received messages stay hidden until their visibility ends`);
    }
  }
  return printed;
}
