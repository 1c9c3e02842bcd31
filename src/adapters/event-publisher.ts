import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import type { OutboxEvent } from '../domain/ledger.ts';
import {
  BatchingOutbox,
  type EntryFailure,
  type EntryRetryOptions,
  type InvocationBatcher,
} from './invocation-batcher.ts';

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

/**
 * Publishes the events of one Lambda invocation in as few PutEvents calls as its batcher allows (see
 * InvocationBatcher). A record that cannot get its event out gets its own rejection, never its batch-mates'.
 */
export class BatchedEventPublisher extends BatchingOutbox<PutEventsRequestEntry> {
  readonly #target: EventTarget;

  constructor(target: EventTarget, batcher: InvocationBatcher, options: EntryRetryOptions = {}) {
    super(batcher, { maxEntriesPerCall: MAX_ENTRIES_PER_CALL, maxCallBytes: MAX_CALL_BYTES }, options);
    this.#target = target;
  }

  /** Publishes an event as the ledger keeps it: its detail text goes out byte for byte, every time. */
  publish(event: Pick<OutboxEvent, 'detailType' | 'domainName' | 'detail' | 'occurredAt'>): Promise<void> {
    const entry: PutEventsRequestEntry = {
      EventBusName: this.#target.busName,
      Source: this.#target.source,
      DetailType: event.detailType,
      Detail: event.detail,
      Resources: this.#target.resourcesFor(event.domainName),
      Time: new Date(event.occurredAt),
    };
    const bytes = entrySize(entry);
    if (bytes > MAX_ENTRY_BYTES) {
      return Promise.reject(
        new EventPublishError('EntryTooLarge', `the event is ${bytes} bytes, over 256 KiB`),
      );
    }
    return this.enqueue(entry, bytes);
  }

  protected override async sendCall(entries: PutEventsRequestEntry[]): Promise<(EntryFailure | undefined)[]> {
    const response = await this.#target.client.send(new PutEventsCommand({ Entries: entries }));
    const results: PutEventsResultEntry[] = response.Entries ?? [];
    return entries.map((_, index) => {
      const result = results[index];
      if (result?.EventId !== undefined && result.ErrorCode === undefined) return undefined;
      const code = result?.ErrorCode ?? 'MissingResult';
      return {
        error: new EventPublishError(code, result?.ErrorMessage ?? 'PutEvents returned no result'),
        retryable: RETRYABLE_ENTRY_ERRORS.has(code),
      };
    });
  }

  protected override callFailed(error: unknown): Error {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    return new EventPublishError(name, message);
  }
}

/** The size AWS counts for an entry: Time (14 bytes when set) plus the UTF-8 text of its other fields. */
function entrySize(entry: PutEventsRequestEntry): number {
  const text = [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])].join('');
  return (entry.Time ? 14 : 0) + Buffer.byteLength(text, 'utf8');
}
