/**
 * Following a rollout through the ledger: its record (`rollout#<key>`, consistent reads) every interval until it
 * is decided, and its children's records (`request#<childKey>`) for when each domain started and ended.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ledger } from '../src/adapters/ledger.ts';
import { isExpired, rejectionRecordId, requestRecordId } from '../src/domain/ledger.ts';
import { childKey, type RolloutRecord, rolloutRecordId } from '../src/domain/rollout.ts';
import { type DomainTimes, type RolloutSnapshot, rolloutSnapshot } from './rollout-view.ts';

export interface FollowTarget {
  rolloutId: string;
  /** The SQS message sent: a refused rollout leaves a rejection record under its id. */
  messageId: string;
  /** What the message asked for: a record under the same key with another one is someone else's rollout. */
  fingerprint: string;
}

export type FollowEnd =
  | { kind: 'decided'; snapshot: RolloutSnapshot }
  | { kind: 'rejected'; reason: string }
  | { kind: 'stopped'; snapshot: RolloutSnapshot | undefined };

export interface FollowOptions {
  ledger: Pick<Ledger, 'get'>;
  intervalMs: number;
  now: () => number;
  /** Aborted on Ctrl-C: the loop ends at once with what it has seen. */
  signal: AbortSignal;
  onSnapshot(snapshot: RolloutSnapshot, now: number): void;
  /** Called once when the first reading finds no record yet (the message waits on the queue). */
  onWaiting(): void;
}

interface Known extends DomainTimes {
  /** The start is the child's own `acceptedAt`, not when this loop first saw the domain running. */
  fromChild: boolean;
  final: boolean;
}

/** When each domain started and ended, read from its child's record once known, else as first seen. */
class ChildTimes {
  readonly #known = new Map<string, Known>();
  readonly #ledger: Pick<Ledger, 'get'>;

  constructor(ledger: Pick<Ledger, 'get'>) {
    this.#ledger = ledger;
  }

  get times(): ReadonlyMap<string, DomainTimes> {
    return this.#known;
  }

  async #child(rolloutId: string, domainName: string) {
    const record = await this.#ledger.get(requestRecordId(childKey(rolloutId, domainName)));
    return record?.kind === 'request' ? record : undefined;
  }

  /** Reads only the children whose times are still open: running without a known start, or newly decided. */
  async refresh(record: RolloutRecord, now: number): Promise<void> {
    for (const [domainName, progress] of Object.entries(record.progress)) {
      const known = this.#known.get(domainName);
      if (progress.state === 'PENDING' || known?.final === true) continue;
      if (progress.state === 'RUNNING' && known?.fromChild === true) continue;
      const child = await this.#child(record.rolloutId, domainName);
      const startedAt =
        child?.acceptedAt ?? known?.startedAt ?? (progress.state === 'RUNNING' ? now : undefined);
      if (progress.state === 'RUNNING') {
        this.#known.set(domainName, { startedAt, fromChild: child !== undefined, final: false });
        continue;
      }
      // Seen running by this loop: the decision is at most one interval old.
      const decidedAt = child?.decidedAt ?? (known === undefined ? undefined : now);
      this.#known.set(domainName, { startedAt, decidedAt, fromChild: child !== undefined, final: true });
    }
  }
}

/** The rollout's record, unless it is absent, expired, or another rollout's under the same key. */
async function readRollout(ledger: Pick<Ledger, 'get'>, target: FollowTarget, now: number) {
  const record = await ledger.get(rolloutRecordId(target.rolloutId));
  if (record?.kind !== 'rollout' || isExpired(record, new Date(now))) return undefined;
  return record.fingerprint === target.fingerprint ? record : undefined;
}

/** Reads until the rollout is COMPLETED or HALTED, its message is rejected, or the signal aborts. */
export async function followRollout(target: FollowTarget, options: FollowOptions): Promise<FollowEnd> {
  const { ledger, signal } = options;
  const times = new ChildTimes(ledger);
  let last: RolloutSnapshot | undefined;
  let waiting = false;
  while (!signal.aborted) {
    const now = options.now();
    const record = await readRollout(ledger, target, now);
    if (record === undefined) {
      const rejection = await ledger.get(rejectionRecordId(target.messageId));
      if (rejection?.kind === 'rejection') return { kind: 'rejected', reason: rejection.reason };
      if (!waiting) options.onWaiting();
      waiting = true;
    } else {
      await times.refresh(record, now);
      last = rolloutSnapshot(record, times.times);
      options.onSnapshot(last, now);
      if (last.state !== 'RUNNING') return { kind: 'decided', snapshot: last };
    }
    await sleep(options.intervalMs, undefined, { signal }).catch(() => undefined);
  }
  return { kind: 'stopped', snapshot: last };
}
