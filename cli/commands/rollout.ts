import { dynamoDbLedger } from '../../src/adapters/ledger.ts';
import { EXIT, type ExitCode, OperationError } from '../io.ts';
import { queueUrlFor, sendBatch } from '../queue-ops.ts';
import { type FollowTarget, followRollout } from '../rollout-follow.ts';
import { checkRollout, type RolloutFlags, rolloutFromFlags } from '../rollout-message.ts';
import { rolloutPrinter } from '../rollout-printer.ts';
import { resolveTableName } from '../targets.ts';
import { type CommandContext, createDynamoDbClient, createSqsClient } from './context.ts';

export interface RolloutOptions extends RolloutFlags {
  /** Required options: Commander refuses the command line without them. */
  package: string;
  domains: string[];
  follow?: boolean | undefined;
  json?: boolean | undefined;
  queueUrl?: string | undefined;
  queueName?: string | undefined;
  table?: string | undefined;
}

/** How often the record is read while following: often enough for a live view, cheap on a consistent read. */
const FOLLOW_INTERVAL_MS = 500;

async function send(context: CommandContext, options: RolloutOptions, body: string): Promise<string> {
  const sqs = createSqsClient(context.target);
  try {
    const queueUrl = await queueUrlFor(sqs, context, 'requests', {
      url: options.queueUrl,
      name: options.queueName,
    });
    const result = (await sendBatch(sqs, queueUrl, [{ id: 'rollout', body }])).get('rollout');
    if (result?.ok !== true) throw new OperationError(`rollout not sent: ${result?.error ?? 'no result'}`);
    return result.messageId;
  } finally {
    sqs.destroy();
  }
}

async function follow(
  context: CommandContext,
  options: RolloutOptions,
  target: FollowTarget,
): Promise<ExitCode> {
  const { io } = context;
  const table = resolveTableName(context.target, options.table, io.env);
  const dynamo = createDynamoDbClient(context.target);
  const stop = new AbortController();
  const restore = io.onInterrupt(() => stop.abort());
  const printer = rolloutPrinter(io, options.json === true, target.rolloutId);
  try {
    const end = await followRollout(target, {
      ledger: dynamoDbLedger(dynamo, table),
      intervalMs: FOLLOW_INTERVAL_MS,
      now: Date.now,
      signal: stop.signal,
      onSnapshot: (snapshot, now) => printer.snapshot(snapshot, now),
      onWaiting: () => io.err(`waiting for the service to take up rollout ${target.rolloutId}…`),
    });
    printer.end(end, Date.now());
    return end.kind === 'decided' && end.snapshot.state === 'COMPLETED' ? EXIT.ok : EXIT.failed;
  } finally {
    restore();
    dynamo.destroy();
  }
}

/**
 * `associator rollout`: one rollout message, checked as the service checks it, on the requests queue; with
 * `--follow`, its progress until it is COMPLETED (exit 0) or HALTED (exit 1).
 */
export async function runRollout(options: RolloutOptions, context: CommandContext): Promise<ExitCode> {
  const { io } = context;
  const checked = checkRollout(rolloutFromFlags(options));
  if (!checked.ok) {
    io.err(`refused: ${checked.problem}`);
    return EXIT.failed;
  }
  const messageId = await send(context, options, checked.body);
  const rolloutId = checked.declaredKey ?? messageId;
  if (options.json === true) {
    io.out(JSON.stringify({ change: 'sent', rolloutId, messageId, at: new Date().toISOString() }));
  } else {
    const keyText = checked.declaredKey === undefined ? `${rolloutId} (the message id: no --key)` : rolloutId;
    io.out(`sent ${messageId}  rollout key ${keyText}`);
  }
  if (options.follow !== true) return EXIT.ok;
  return follow(context, options, { rolloutId, messageId, fingerprint: checked.fingerprint });
}
