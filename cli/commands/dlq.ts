import { GetQueueAttributesCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { type DeadLetterView, deadLetterView, formatDeadLetter, formatReasonCounts } from '../format.ts';
import { EXIT, type ExitCode } from '../io.ts';
import { startProgress } from '../progress.ts';
import {
  deleteMessages,
  queueUrlFor,
  receiveMessages,
  releaseMessages,
  type SendResult,
  sendBatch,
} from '../queue-ops.ts';
import { planBatches } from '../requests.ts';
import type { QueueRole } from '../targets.ts';
import { type CommandContext, createSqsClient } from './context.ts';

interface DlqTargetOptions {
  /** The tracking queue's DLQ (status checks) instead of the requests DLQ. */
  tracking?: boolean | undefined;
  dlqUrl?: string | undefined;
  dlqName?: string | undefined;
  max?: number | undefined;
  wait: number;
}

export interface DlqListOptions extends DlqTargetOptions {
  json?: boolean | undefined;
}

export interface DlqRedriveOptions extends DlqTargetOptions {
  /** Only dead letters with one of these ReasonCode values move; the others stay. */
  reason?: string[] | undefined;
  queueUrl?: string | undefined;
  queueName?: string | undefined;
}

/**
 * Long enough to read the whole DLQ before the first message reappears, so a message is read once; reading
 * ends with the listed (or skipped) messages made visible again at once.
 */
const READ_VISIBILITY_SECONDS = 120;

function roles(options: DlqTargetOptions): { dlq: QueueRole; source: QueueRole } {
  return options.tracking === true
    ? { dlq: 'trackingDlq', source: 'tracking' }
    : { dlq: 'requestsDlq', source: 'requests' };
}

async function dlqUrlFor(
  sqs: SQSClient,
  options: DlqTargetOptions,
  context: CommandContext,
): Promise<string> {
  return queueUrlFor(sqs, context, roles(options).dlq, { url: options.dlqUrl, name: options.dlqName });
}

function readOptions(options: DlqTargetOptions) {
  return {
    follow: false,
    waitSeconds: options.wait,
    visibilityTimeout: READ_VISIBILITY_SECONDS,
    max: options.max,
  };
}

/** `associator dlq list`: every dead letter with its reason, left on the queue. */
export async function runDlqList(options: DlqListOptions, context: CommandContext): Promise<ExitCode> {
  const { io } = context;
  const sqs = createSqsClient(context.target);
  const read: Message[] = [];
  const views: DeadLetterView[] = [];
  let dlqUrl: string | undefined;
  try {
    dlqUrl = await dlqUrlFor(sqs, options, context);
    for await (const batch of receiveMessages(sqs, dlqUrl, readOptions(options))) {
      read.push(...batch);
      for (const message of batch) {
        const view = deadLetterView(message);
        views.push(view);
        if (options.json === true) io.out(JSON.stringify(view));
        else for (const line of formatDeadLetter(view)) io.out(line);
      }
    }
  } finally {
    try {
      if (dlqUrl !== undefined && read.length > 0) {
        const stuck = await releaseMessages(sqs, dlqUrl, read);
        if (stuck.length > 0)
          io.err(`${stuck.length} listed messages stay hidden for ${READ_VISIBILITY_SECONDS} s`);
      }
    } finally {
      sqs.destroy();
    }
  }
  io.err(
    views.length === 0
      ? `no dead letters on ${dlqUrl}`
      : `${views.length} dead letter${views.length === 1 ? '' : 's'} on ${dlqUrl}: ${formatReasonCounts(views)}`,
  );
  return EXIT.ok;
}

async function approximateDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  const depth = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  return Number.isFinite(depth) ? depth : 0;
}

/**
 * `associator dlq redrive`: sends each dead letter's original body, unchanged, back to its source queue and
 * then deletes it from the DLQ. Done by hand rather than with StartMessageMoveTask because that cannot pick
 * messages by reason. A message is deleted only after its copy was sent, so a failure can send a request twice
 * (the service then finds the package already associated) but never loses one.
 */
export async function runDlqRedrive(options: DlqRedriveOptions, context: CommandContext): Promise<ExitCode> {
  const { io } = context;
  const sqs = createSqsClient(context.target);
  const reasons =
    options.reason !== undefined && options.reason.length > 0 ? new Set(options.reason) : undefined;
  const leftBehind: Message[] = [];
  // Printed once the progress bar is gone, so they do not tear it.
  const problems: string[] = [];
  let dlqUrl: string | undefined;
  let targetUrl: string | undefined;
  let moved = 0;
  let skipped = 0;
  let failed = 0;
  try {
    dlqUrl = await dlqUrlFor(sqs, options, context);
    const { source } = roles(options);
    const destination = await queueUrlFor(sqs, context, source, {
      url: options.queueUrl,
      name: options.queueName,
    });
    targetUrl = destination;
    const depth = await approximateDepth(sqs, dlqUrl);
    const progress = startProgress(io.progressStream, 'redriving', Math.min(depth, options.max ?? depth));
    try {
      for await (const batch of receiveMessages(sqs, dlqUrl, readOptions(options))) {
        const chosen = batch.filter((message) => {
          const reason = deadLetterView(message).reasonCode;
          const matches = reasons === undefined || (reason !== undefined && reasons.has(reason));
          if (!matches) {
            skipped += 1;
            leftBehind.push(message);
          }
          return matches;
        });
        const entries = chosen.map((message, index) => ({ id: String(index), body: message.Body ?? '' }));
        const results = new Map<string, SendResult>();
        for (const group of planBatches(entries)) {
          for (const [id, result] of await sendBatch(sqs, destination, group)) results.set(id, result);
        }
        const sent: Message[] = [];
        chosen.forEach((message, index) => {
          const result = results.get(String(index));
          if (result?.ok === true) {
            sent.push(message);
            return;
          }
          failed += 1;
          leftBehind.push(message);
          problems.push(`message ${message.MessageId ?? '?'}: not moved: ${result?.error ?? 'no result'}`);
        });
        const undeleted = await deleteMessages(sqs, dlqUrl, sent);
        for (const id of undeleted) {
          problems.push(
            `message ${id}: sent to ${destination} but still on the DLQ; a redrive would send it again`,
          );
        }
        failed += undeleted.length;
        moved += sent.length - undeleted.length;
        progress.advance(batch.length);
      }
    } finally {
      progress.stop();
      for (const problem of problems) io.err(problem);
    }
  } finally {
    try {
      if (dlqUrl !== undefined && leftBehind.length > 0) await releaseMessages(sqs, dlqUrl, leftBehind);
    } finally {
      sqs.destroy();
    }
  }
  const skippedText = reasons === undefined ? '' : `, left ${skipped} with other reasons`;
  io.out(`moved ${moved} from ${dlqUrl} to ${targetUrl}${skippedText}, ${failed} failed`);
  return failed > 0 ? EXIT.failed : EXIT.ok;
}
