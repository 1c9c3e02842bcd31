// A subscriber's de-duplication. The service delivers every event at least once: after a crash or a retry the
// same event is published again, with the same detail.eventId (and a new EventBridge id). Acting once per
// eventId makes the subscriber's effect happen once.
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';

/** The fields of the event this consumer reads (schema/events/<DetailType>.schema.json has them all). */
export interface AssociationEvent {
  id: string;
  'detail-type': string;
  source: string;
  detail: { eventId: string; domainName: string | null; packageId: string | null; [field: string]: unknown };
}

/** Which events were already taken on. */
export interface SeenEvents {
  /** True for the first caller with this eventId, false for every later one. */
  claim(eventId: string): Promise<boolean>;
  /** Forgets a claim whose action failed, so the redelivered event is acted on. */
  release(eventId: string): Promise<void>;
}

/**
 * For the demo and tests only: a Lambda has many execution environments and each starts empty, so in
 * production copies land in different sets. Use DynamoDbSeenEvents (or any store with a conditional write).
 */
export class InMemorySeenEvents implements SeenEvents {
  readonly #seen = new Set<string>();
  async claim(eventId: string): Promise<boolean> {
    if (this.#seen.has(eventId)) return false;
    this.#seen.add(eventId);
    return true;
  }
  async release(eventId: string): Promise<void> {
    this.#seen.delete(eventId);
  }
}

/**
 * One item per eventId, written only if absent. The table has the partition key `eventId` (string) and TTL
 * on `expiresAt`: keep claims past the time copies can arrive, the service's idempotency window (24 hours by
 * default) and more; a week here.
 */
export class DynamoDbSeenEvents implements SeenEvents {
  readonly #dynamo: DynamoDBClient;
  readonly #tableName: string;
  readonly #keepSeconds: number;

  constructor(dynamo: DynamoDBClient, tableName: string, keepSeconds = 7 * 24 * 3600) {
    this.#dynamo = dynamo;
    this.#tableName = tableName;
    this.#keepSeconds = keepSeconds;
  }

  async claim(eventId: string): Promise<boolean> {
    try {
      await this.#dynamo.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: {
            eventId: { S: eventId },
            expiresAt: { N: String(Math.floor(Date.now() / 1000) + this.#keepSeconds) },
          },
          ConditionExpression: 'attribute_not_exists(eventId)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async release(eventId: string): Promise<void> {
    await this.#dynamo.send(
      new DeleteItemCommand({ TableName: this.#tableName, Key: { eventId: { S: eventId } } }),
    );
  }
}

export type Outcome = 'acted' | 'duplicate';

/**
 * Acts on an event unless its eventId was claimed before. A failed action releases the claim and rethrows,
 * so the event comes back and is tried again. A crash between the claim and the end of the action leaves
 * the claim: that event is then skipped. Where skipping is worse than doing twice, make the action itself
 * idempotent and claim after it instead.
 */
export async function actOnce(
  event: AssociationEvent,
  seen: SeenEvents,
  act: (event: AssociationEvent) => Promise<void>,
): Promise<Outcome> {
  const { eventId } = event.detail;
  if (!(await seen.claim(eventId))) return 'duplicate';
  try {
    await act(event);
  } catch (error) {
    await seen.release(eventId);
    throw error;
  }
  return 'acted';
}
