import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import type { AssociationEvent } from '../domain/events.ts';

/** PutEvents takes at most 10 entries per call (EventBridge quotas). */
const MAX_ENTRIES_PER_CALL = 10;

/**
 * PutEvents refuses a whole call over 256 KiB
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html); an entry that alone is
 * near it must fail by itself, not take its batch-mates down with it.
 */
const MAX_ENTRY_BYTES = 256 * 1024;
/** Entries are packed into one call only while their sizes add up to less than the limit. */
const MAX_CALL_BYTES = MAX_ENTRY_BYTES;

/**
 * Entry error codes worth retrying: the service was busy, not the entry wrong
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
 */
const RETRYABLE_ENTRY_ERRORS = new Set(['InternalFailure', 'ThrottlingException', 'ServiceUnavailable']);

export class EventPublishError extends Error {
  override name = 'EventPublishError';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface EventTarget {
  client: EventBridgeClient;
  busName: string;
  source: string;
  /** The ARNs an event is about (the domain's), when the account and region are known. */
  resourcesFor(domainName: string | null): string[];
}

interface PendingEntry {
  entry: PutEventsRequestEntry;
  bytes: number;
  resolve(): void;
  reject(error: EventPublishError): void;
}

export interface EventPublisherOptions {
  entryRetries?: number;
  retryDelayMs?: number;
}

/**
 * Publishes the events of one Lambda invocation, coalescing the records' events into as few PutEvents calls
 * as possible: entries wait until every record still running is waiting to publish too (or ten are
 * waiting), then go out together. A record that cannot get its event out gets its own rejection, never its
 * batch-mates'.
 */
export class BatchedEventPublisher {
  readonly #target: EventTarget;
  readonly #entryRetries: number;
  readonly #retryDelayMs: number;
  #waiting: PendingEntry[] = [];
  #running = 0;

  constructor(target: EventTarget, options: EventPublisherOptions = {}) {
    this.#target = target;
    this.#entryRetries = options.entryRetries ?? 2;
    this.#retryDelayMs = options.retryDelayMs ?? 50;
  }

  /** Runs one record's work; while it runs, the publisher waits for its event before sending a call. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.#running += 1;
    try {
      return await work();
    } finally {
      this.#running -= 1;
      this.#flushIfReady();
    }
  }

  publish(event: AssociationEvent): Promise<void> {
    const entry: PutEventsRequestEntry = {
      EventBusName: this.#target.busName,
      Source: this.#target.source,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
      Resources: this.#target.resourcesFor(event.domainName),
      Time: new Date(event.detail.occurredAt),
    };
    const bytes = entrySize(entry);
    if (bytes > MAX_ENTRY_BYTES) {
      return Promise.reject(
        new EventPublishError('EntryTooLarge', `the event is ${bytes} bytes, over 256 KiB`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ entry, bytes, resolve, reject });
      this.#flushIfReady();
    });
  }

  #flushIfReady(): void {
    while (this.#waiting.length >= MAX_ENTRIES_PER_CALL) this.#sendNextCall();
    // Publishing from outside track() (running 0) must still go out at once.
    while (this.#waiting.length > 0 && this.#waiting.length >= this.#running) this.#sendNextCall();
  }

  #sendNextCall(): void {
    let count = 0;
    let bytes = 0;
    for (const pending of this.#waiting) {
      if (count === MAX_ENTRIES_PER_CALL || (count > 0 && bytes + pending.bytes > MAX_CALL_BYTES)) break;
      count += 1;
      bytes += pending.bytes;
    }
    void this.#send(this.#waiting.splice(0, count), 0);
  }

  async #send(batch: PendingEntry[], retry: number): Promise<void> {
    let results: PutEventsResultEntry[];
    try {
      const response = await this.#target.client.send(
        new PutEventsCommand({ Entries: batch.map((p) => p.entry) }),
      );
      results = response.Entries ?? [];
    } catch (error) {
      // The SDK already retried throttling and 5xx with its own backoff; the records retry later.
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      for (const pending of batch) pending.reject(new EventPublishError(name, message));
      return;
    }
    const retryable: PendingEntry[] = [];
    batch.forEach((pending, index) => {
      const result = results[index];
      if (result?.EventId !== undefined && result.ErrorCode === undefined) {
        pending.resolve();
        return;
      }
      const code = result?.ErrorCode ?? 'MissingResult';
      if (RETRYABLE_ENTRY_ERRORS.has(code) && retry < this.#entryRetries) {
        retryable.push(pending);
      } else {
        pending.reject(new EventPublishError(code, result?.ErrorMessage ?? 'PutEvents returned no result'));
      }
    });
    if (retryable.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.#retryDelayMs * 2 ** retry));
      await this.#send(retryable, retry + 1);
    }
  }
}

/** The size AWS counts for an entry: Time (14 bytes when set) plus the UTF-8 text of its other fields. */
function entrySize(entry: PutEventsRequestEntry): number {
  const text = [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])].join('');
  return (entry.Time ? 14 : 0) + Buffer.byteLength(text, 'utf8');
}
