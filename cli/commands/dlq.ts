import { GetQueueAttributesCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { DEAD_LETTER_REASON_CODES, isDeadLetterReasonCode } from '../../src/domain/dlq.ts';
import { type DeadLetterView, deadLetterView, formatDeadLetter, formatReasonCounts } from '../format.ts';
import { EXIT, type ExitCode, UsageError } from '../io.ts';
import { startProgress } from '../progress.ts';
import {
  deleteMessages,
  queueUrlFor,
  receiveMessages,
  releaseMessages,
  type SendResult,
  sendBatch,
} from '../queue-ops.ts';
import { asNewRequest } from '../redrive.ts';
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
  /** Each request goes back under a new key derived from its old one, so it runs again. */
  asNew?: boolean | undefined;
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

/** Refuses a `--reason` no dead letter carries: a typo would otherwise move nothing, and say nothing of it. */
function reasonFilter(codes: readonly string[] | undefined): Set<string> | undefined {
  const unknown = (codes ?? []).filter((code) => !isDeadLetterReasonCode(code));
  if (unknown.length > 0) {
    throw new UsageError(
      `--reason: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not a reason code' : 'are not reason codes'}; ` +
        `dead letters carry ${DEAD_LETTER_REASON_CODES.join(', ')}, or the name of another AWS error (…Exception)`,
    );
  }
  return codes !== undefined && codes.length > 0 ? new Set(codes) : undefined;
}

interface Tally {
  moved: number;
  skipped: number;
  failed: number;
  /** Printed once the progress bar is gone, so they do not tear it. */
  problems: string[];
  /** `--as-new`: which key each request went back under. */
  renamed: string[];
  /** Made visible again at the end. */
  leftBehind: Message[];
}

interface Redrive {
  sqs: SQSClient;
  dlqUrl: string;
  destination: string;
  reasons: Set<string> | undefined;
  asNew: boolean;
  tally: Tally;
}

/** The body that goes back: the original, byte for byte, or with `--as-new` the request under a new key. */
function outgoingBody(redrive: Redrive, message: Message): string | undefined {
  const body = message.Body ?? '';
  if (!redrive.asNew) return body;
  const view = deadLetterView(message);
  const asNew = asNewRequest(body, view.sourceMessageId ?? view.messageId);
  if (!asNew.ok) {
    redrive.tally.problems.push(`message ${view.messageId}: left on the DLQ: ${asNew.problem}`);
    return undefined;
  }
  redrive.tally.renamed.push(`key ${asNew.oldKey} redriven as ${asNew.newKey}`);
  return asNew.body;
}

/** Moves the batch's chosen dead letters: each is deleted from the DLQ only once its copy was sent. */
async function redriveBatch(redrive: Redrive, batch: readonly Message[]): Promise<void> {
  const { sqs, tally, reasons } = redrive;
  const entries: { id: string; body: string; message: Message }[] = [];
  for (const message of batch) {
    const reason = deadLetterView(message).reasonCode;
    if (reasons !== undefined && (reason === undefined || !reasons.has(reason))) {
      tally.skipped += 1;
      tally.leftBehind.push(message);
      continue;
    }
    const body = outgoingBody(redrive, message);
    if (body === undefined) {
      tally.failed += 1;
      tally.leftBehind.push(message);
      continue;
    }
    entries.push({ id: String(entries.length), body, message });
  }
  const results = new Map<string, SendResult>();
  for (const group of planBatches(entries)) {
    for (const [id, result] of await sendBatch(sqs, redrive.destination, group)) results.set(id, result);
  }
  const sent: Message[] = [];
  for (const { id, message } of entries) {
    const result = results.get(id);
    if (result?.ok === true) {
      sent.push(message);
      continue;
    }
    tally.failed += 1;
    tally.leftBehind.push(message);
    tally.problems.push(`message ${message.MessageId ?? '?'}: not moved: ${result?.error ?? 'no result'}`);
  }
  const undeleted = await deleteMessages(sqs, redrive.dlqUrl, sent);
  for (const id of undeleted) {
    tally.problems.push(
      `message ${id}: sent to ${redrive.destination} but still on the DLQ; a redrive would send it again`,
    );
  }
  tally.failed += undeleted.length;
  tally.moved += sent.length - undeleted.length;
}

/**
 * `associator dlq redrive`: sends each dead letter's original body, unchanged (or with `--as-new`, under a new
 * key), back to its source queue and then deletes it from the DLQ. Done by hand rather than with
 * StartMessageMoveTask because that cannot pick messages by reason. A message is deleted only after its copy
 * was sent, so a failure can send a request twice (the service then finds the package already associated, or
 * with `--as-new` the same new key) but never loses one.
 */
export async function runDlqRedrive(options: DlqRedriveOptions, context: CommandContext): Promise<ExitCode> {
  const { io } = context;
  const reasons = reasonFilter(options.reason);
  if (options.asNew === true && options.tracking === true) {
    throw new UsageError('--as-new: the tracking DLQ holds status checks, not requests with keys');
  }
  const sqs = createSqsClient(context.target);
  const tally: Tally = { moved: 0, skipped: 0, failed: 0, problems: [], renamed: [], leftBehind: [] };
  let dlqUrl: string | undefined;
  let destination: string | undefined;
  try {
    dlqUrl = await dlqUrlFor(sqs, options, context);
    destination = await queueUrlFor(sqs, context, roles(options).source, {
      url: options.queueUrl,
      name: options.queueName,
    });
    const redrive: Redrive = { sqs, dlqUrl, destination, reasons, asNew: options.asNew === true, tally };
    const depth = await approximateDepth(sqs, dlqUrl);
    const progress = startProgress(io.progressStream, 'redriving', Math.min(depth, options.max ?? depth));
    try {
      for await (const batch of receiveMessages(sqs, dlqUrl, readOptions(options))) {
        await redriveBatch(redrive, batch);
        progress.advance(batch.length);
      }
    } finally {
      progress.stop();
      for (const problem of tally.problems) io.err(problem);
    }
  } finally {
    try {
      if (dlqUrl !== undefined && tally.leftBehind.length > 0) {
        await releaseMessages(sqs, dlqUrl, tally.leftBehind);
      }
    } finally {
      sqs.destroy();
    }
  }
  for (const line of tally.renamed) io.out(line);
  const skippedText = reasons === undefined ? '' : `, left ${tally.skipped} with other reasons`;
  const asNewText = options.asNew === true ? ' as new requests' : '';
  io.out(
    `moved ${tally.moved} from ${dlqUrl} to ${destination}${asNewText}${skippedText}, ${tally.failed} failed`,
  );
  return tally.failed > 0 ? EXIT.failed : EXIT.ok;
}
