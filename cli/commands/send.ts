import { readFile } from 'node:fs/promises';
import { describeError, EXIT, type ExitCode, OperationError, UsageError } from '../io.ts';
import { startProgress } from '../progress.ts';
import { queueUrlFor, type SendResult, sendBatch } from '../queue-ops.ts';
import {
  checkRequestBody,
  declaredIdempotencyKey,
  planBatches,
  type RequestFlags,
  readJsonLines,
  requestFromFlags,
  withFlagNames,
} from '../requests.ts';
import { type CommandContext, createSqsClient } from './context.ts';

export interface SendOptions extends RequestFlags {
  file?: string | undefined;
  jsonl?: string | undefined;
  /** False with `--no-validate`: send bodies as they are, to see how the service handles bad ones. */
  validate: boolean;
  json?: boolean | undefined;
  queueUrl?: string | undefined;
  queueName?: string | undefined;
}

interface Outgoing {
  /** Where the body came from, for messages: `line 3` or a file name or `flags`. */
  origin: string;
  line?: number;
  body: string;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new OperationError(`cannot read ${path}: ${describeError(error)}`);
  }
}

function reportSent(context: CommandContext, json: boolean, item: Outgoing, messageId: string): void {
  const declared = declaredIdempotencyKey(item.body);
  const idempotencyKey = declared ?? messageId;
  if (json) {
    context.io.out(
      JSON.stringify({ ...(item.line !== undefined && { line: item.line }), messageId, idempotencyKey }),
    );
    return;
  }
  const keyText =
    declared !== undefined ? idempotencyKey : `${idempotencyKey} (the message id: none in the request)`;
  const prefix = item.line !== undefined ? `line ${item.line}  ` : '';
  context.io.out(`${prefix}sent ${messageId}  idempotency key ${keyText}`);
}

/** `associator send`: one request from flags or a file, or many from a JSON-lines file. */
export async function runSend(options: SendOptions, context: CommandContext): Promise<ExitCode> {
  const { io } = context;
  const json = options.json === true;
  let outgoing: Outgoing[];
  let fromFlags = false;
  if (options.jsonl !== undefined) {
    const lines = readJsonLines(await readText(options.jsonl));
    if (lines.length === 0) {
      io.err(`no requests in ${options.jsonl}`);
      return EXIT.failed;
    }
    outgoing = lines.map(({ line, body }) => ({ origin: `line ${line}`, line, body }));
  } else if (options.file !== undefined) {
    outgoing = [{ origin: options.file, body: (await readText(options.file)).trim() }];
  } else {
    if (options.domain === undefined || options.package === undefined) {
      throw new UsageError('give --domain and --package, or --file, or --jsonl');
    }
    fromFlags = true;
    outgoing = [{ origin: 'flags', body: JSON.stringify(requestFromFlags(options)) }];
  }

  // Checked before any AWS call: a refused request never costs a queue lookup.
  let refused = 0;
  if (options.validate) {
    outgoing = outgoing.filter((item) => {
      const checked = checkRequestBody(item.body);
      if (checked.ok) return true;
      refused += 1;
      io.err(`${item.origin}: refused: ${fromFlags ? withFlagNames(checked.problem) : checked.problem}`);
      return false;
    });
  }
  if (outgoing.length === 0) return EXIT.failed;

  const sqs = createSqsClient(context.target);
  try {
    const queueUrl = await queueUrlFor(sqs, context, 'requests', {
      url: options.queueUrl,
      name: options.queueName,
    });
    const entries = outgoing.map((item, index) => ({ ...item, id: `m${index}` }));
    const results = new Map<string, SendResult>();
    const progress =
      options.jsonl !== undefined ? startProgress(io.progressStream, 'sending', entries.length) : undefined;
    try {
      for (const batch of planBatches(entries)) {
        for (const [id, result] of await sendBatch(sqs, queueUrl, batch)) results.set(id, result);
        progress?.advance(batch.length);
      }
    } finally {
      progress?.stop();
    }

    let failed = 0;
    for (const entry of entries) {
      const result = results.get(entry.id) ?? { ok: false, error: 'no result' };
      if (result.ok) {
        reportSent(context, json, entry, result.messageId);
      } else {
        failed += 1;
        io.err(`${entry.origin}: not sent: ${result.error}`);
      }
    }
    if (options.jsonl !== undefined) {
      const total = entries.length + refused;
      io.err(
        `sent ${entries.length - failed} of ${total} requests to ${queueUrl} (${refused} refused, ${failed} failed)`,
      );
    }
    return refused + failed > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    sqs.destroy();
  }
}
