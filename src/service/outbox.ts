import type { BatchedEventPublisher } from '../adapters/event-publisher.ts';
import type { Ledger } from '../adapters/ledger.ts';
import type { BatchedQueueSender } from '../adapters/queue-sender.ts';
import type { Queues } from '../adapters/queues.ts';
import {
  isSameEntry,
  type LedgerRecord,
  type OutboxChildRequests,
  type OutboxEntry,
  type OutboxEvent,
  type OutboxRolloutOutcome,
  type OutboxSlot,
  type OutboxTrackingMessage,
  pendingEntries,
} from '../domain/ledger.ts';
import { cleared, deadLetterOf } from '../domain/transitions.ts';
import { type LedgerStep, runStep, type StepHook } from './ledger-steps.ts';

/** Where one invocation's outbox entries go. */
export interface OutboxTargets {
  ledger: Ledger;
  publisher: BatchedEventPublisher;
  /** Absent for the tracker, which never sends tracking messages: it holds the one it follows. */
  tracking?: BatchedQueueSender;
  /** Absent for the tracker: its decisions are not dead-lettered, and it leaves the requests' own alone. */
  deadLetters?: { queues: Queues; url: string };
  /** The requests queue: a rollout's child requests go there. */
  requests?: BatchedQueueSender;
  /** Applies a rollout child's outcome to its rollout (src/service/rollout.ts). */
  advanceRollout?: (entry: OutboxRolloutOutcome) => Promise<void>;
  /** The body of the message being handled: a dead letter that kept none is this message's. */
  messageBody: string;
  hook?: StepHook | undefined;
  /** A fresh id for each ledger write (see writeIdsFrom). */
  writeId(): string;
}

export type EntryKinds = ReadonlySet<OutboxEntry['kind']>;
export const ALL_ENTRIES: EntryKinds = new Set([
  'dead-letter',
  'event',
  'tracking',
  'rollout-outcome',
  'children',
]);
/** What the tracker sends of a decided record: its events, and what a rollout's child owes its rollout. */
export const EVENTS_ONLY: EntryKinds = new Set(['event', 'rollout-outcome', 'children']);
/** What the tracker drops unsent: the message it holds proves its tracking message was sent. */
export const TRACKING_ONLY: EntryKinds = new Set(['tracking']);
const NONE: EntryKinds = new Set();

type Entry = [OutboxSlot, OutboxEntry];

/** Runs every send, then reports the entries sent and the first failure (the others are sent again later). */
async function sendAll(entries: Entry[], send: (entry: Entry) => Promise<void>) {
  const results = await Promise.allSettled(entries.map(send));
  const sent = entries.filter((_, index) => results[index]?.status === 'fulfilled');
  const failure = results.find((result) => result.status === 'rejected');
  return { sent, failure: failure?.status === 'rejected' ? (failure.reason as unknown) : undefined };
}

/**
 * `send-dead-letter`, `publish`, `send-tracking`, then `clear`: sends what the record's outbox holds, in the
 * slots' order, and removes what was sent. A failed send throws after the others' removal: each entry is sent
 * again later under its own id, so a subscriber or operator sees it at least once and can de-duplicate it.
 * Only the kinds in `send` are sent; those in `drop` are removed unsent (the tracker holds the message that
 * proves its tracking message was sent); any other entry stays for another reader.
 */
export async function flushOutbox<R extends LedgerRecord>(
  targets: OutboxTargets,
  record: R,
  send: EntryKinds = ALL_ENTRIES,
  drop: EntryKinds = NONE,
): Promise<R> {
  const entries = pendingEntries(record.outbox);
  const dropped = entries.filter(([, entry]) => drop.has(entry.kind));
  const toSend = entries.filter(([, entry]) => send.has(entry.kind) && !drop.has(entry.kind));
  if (dropped.length === 0 && toSend.length === 0) return record;
  const sent: Entry[] = [];
  let failure: unknown;
  const stage = async (
    step: LedgerStep,
    kind: OutboxEntry['kind'],
    deliver: (entry: Entry) => Promise<void>,
  ) => {
    const pending = toSend.filter(([, entry]) => entry.kind === kind);
    if (failure !== undefined || pending.length === 0) return;
    await runStep(targets.hook, step, async () => {
      const result = await sendAll(pending, deliver);
      sent.push(...result.sent);
      failure = result.failure;
    });
  };
  await stage('send-dead-letter', 'dead-letter', async ([, entry]) => {
    if (entry.kind !== 'dead-letter') return;
    if (targets.deadLetters === undefined) throw new Error('this function sends no dead letters');
    await targets.deadLetters.queues.sendDeadLetter(
      targets.deadLetters.url,
      deadLetterOf(entry, targets.messageBody),
    );
  });
  await stage('publish', 'event', ([, entry]) => targets.publisher.publish(entry as OutboxEvent));
  await stage('advance-rollout', 'rollout-outcome', async ([, entry]) => {
    if (targets.advanceRollout === undefined) throw new Error('this function does not advance rollouts');
    await targets.advanceRollout(entry as OutboxRolloutOutcome);
  });
  await stage('send-children', 'children', async ([, entry]) => {
    if (targets.requests === undefined) throw new Error('this function does not send requests');
    const { bodies } = entry as OutboxChildRequests;
    const requests = targets.requests;
    await Promise.all(bodies.map((body) => requests.send(body, 0)));
  });
  await stage('send-tracking', 'tracking', async ([, entry]) => {
    const message = entry as OutboxTrackingMessage;
    if (targets.tracking === undefined) throw new Error('this function does not send tracking messages');
    await targets.tracking.send(message.body, message.delaySeconds);
  });
  const after = await clear(targets, record, [...sent, ...dropped]);
  if (failure !== undefined) throw failure;
  return after;
}

/** `clear`: removes the sent entries, re-reading when someone else wrote in between (they may have added some). */
async function clear<R extends LedgerRecord>(
  targets: OutboxTargets,
  record: R,
  entries: Entry[],
): Promise<R> {
  if (entries.length === 0) return record;
  let current: LedgerRecord = record;
  for (let round = 0; round < 3; round += 1) {
    const remaining = entries.filter(([slot, entry]) => isSameEntry(current.outbox[slot], entry));
    if (remaining.length === 0) return current as R;
    const read = current;
    const result = await runStep(targets.hook, 'clear', () =>
      targets.ledger.write(cleared(read, remaining), read, targets.writeId()),
    );
    if (result.written) return result.record as R;
    if (result.current === undefined) return record;
    current = result.current;
  }
  // Contended three times: the entries stay listed and are sent again, under the same ids, by the next reader.
  return current as R;
}
