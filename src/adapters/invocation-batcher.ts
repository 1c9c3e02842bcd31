/** Something records hand entries to, which goes out in calls of several entries. */
export interface Outbox {
  /** Entries handed over and not yet in a call. */
  readonly waiting: number;
  readonly maxEntriesPerCall: number;
  /** Puts the next call's worth of waiting entries on the wire. */
  sendNextCall(): void;
}

/**
 * Coalesces what the records of one Lambda invocation send into as few calls as possible: entries wait until
 * every record still running is waiting on one of the outboxes (or a call is full), then go out together.
 * A record waits on one entry at a time, so once the waiting entries number the running records, nothing more
 * will join them and holding them back would only deadlock the batch.
 *
 * Outboxes register in the order a record uses them (the tracking message, then the event). When every record
 * waits, only the first outbox holding entries sends: the records it releases go on to the later outboxes,
 * where the records already waiting there are joined instead of sent ahead in a call of their own.
 */
export class InvocationBatcher {
  readonly #outboxes: Outbox[] = [];
  #running = 0;

  register(outbox: Outbox): void {
    this.#outboxes.push(outbox);
  }

  /** Runs one record's work; while it runs, the outboxes wait for its entries before sending a call. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.#running += 1;
    try {
      return await work();
    } finally {
      this.#running -= 1;
      this.flushIfReady();
    }
  }

  /** Called by an outbox whenever an entry joins it. */
  flushIfReady(): void {
    for (const outbox of this.#outboxes) {
      while (outbox.waiting >= outbox.maxEntriesPerCall) outbox.sendNextCall();
    }
    const waiting = this.#outboxes.reduce((total, outbox) => total + outbox.waiting, 0);
    // Entries handed over outside track() (running 0) still go out at once.
    if (waiting === 0 || waiting < this.#running) return;
    const first = this.#outboxes.find((outbox) => outbox.waiting > 0);
    while (first !== undefined && first.waiting > 0) first.sendNextCall();
  }
}

/** Why one entry of a call failed, and whether sending it again may work. */
export interface EntryFailure {
  error: Error;
  retryable: boolean;
}

export interface BatchLimits {
  maxEntriesPerCall: number;
  /** Entries share a call only while their sizes add up to no more than this. */
  maxCallBytes: number;
}

export interface EntryRetryOptions {
  entryRetries?: number;
  retryDelayMs?: number;
}

interface PendingEntry<Entry> {
  entry: Entry;
  bytes: number;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * An outbox whose calls can fail entry by entry: each entry settles its own promise, retryable failures are sent
 * again (after the SDK's own retries of the whole call), and a whole call failing fails each of its entries.
 */
export abstract class BatchingOutbox<Entry> implements Outbox {
  readonly maxEntriesPerCall: number;
  readonly #maxCallBytes: number;
  readonly #batcher: InvocationBatcher;
  readonly #entryRetries: number;
  readonly #retryDelayMs: number;
  #waiting: PendingEntry<Entry>[] = [];

  constructor(batcher: InvocationBatcher, limits: BatchLimits, options: EntryRetryOptions = {}) {
    this.maxEntriesPerCall = limits.maxEntriesPerCall;
    this.#maxCallBytes = limits.maxCallBytes;
    this.#batcher = batcher;
    this.#entryRetries = options.entryRetries ?? 2;
    this.#retryDelayMs = options.retryDelayMs ?? 50;
    batcher.register(this);
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Sends `entries` in one call; the result holds, at each entry's index, its failure if it failed. */
  protected abstract sendCall(entries: Entry[]): Promise<(EntryFailure | undefined)[]>;

  /** What each entry of a call that failed as a whole is rejected with. */
  protected abstract callFailed(error: unknown): Error;

  protected enqueue(entry: Entry, bytes: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ entry, bytes, resolve, reject });
      this.#batcher.flushIfReady();
    });
  }

  sendNextCall(): void {
    let count = 0;
    let bytes = 0;
    for (const pending of this.#waiting) {
      if (count === this.maxEntriesPerCall || (count > 0 && bytes + pending.bytes > this.#maxCallBytes))
        break;
      count += 1;
      bytes += pending.bytes;
    }
    void this.#send(this.#waiting.splice(0, count), 0);
  }

  async #send(batch: PendingEntry<Entry>[], retry: number): Promise<void> {
    let failures: (EntryFailure | undefined)[];
    try {
      failures = await this.sendCall(batch.map((pending) => pending.entry));
    } catch (error) {
      // The SDK already retried throttling and 5xx with its own backoff; the records retry later.
      const failure = this.callFailed(error);
      for (const pending of batch) pending.reject(failure);
      return;
    }
    const retryable: PendingEntry<Entry>[] = [];
    batch.forEach((pending, index) => {
      // An entry the call said nothing about is not known to be sent.
      const failure =
        index < failures.length
          ? failures[index]
          : {
              error: this.callFailed(new Error('the call returned no result for this entry')),
              retryable: true,
            };
      if (failure === undefined) pending.resolve();
      else if (failure.retryable && retry < this.#entryRetries) retryable.push(pending);
      else pending.reject(failure.error);
    });
    if (retryable.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.#retryDelayMs * 2 ** retry));
      await this.#send(retryable, retry + 1);
    }
  }
}
