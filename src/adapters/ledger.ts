import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LedgerRecord } from '../domain/ledger.ts';

/** What a conditional write came to: written, or the record as someone else left it (undefined: none). */
export type WriteResult<R extends LedgerRecord> =
  | { written: true; record: R }
  | { written: false; current: LedgerRecord | undefined };

export interface Ledger {
  /** The record as last written (a consistent read: a record written a moment ago must be seen). */
  get(id: string): Promise<LedgerRecord | undefined>;
  /**
   * Writes `next` if the record is still at the version of `read` (or, with `read` undefined, does not exist),
   * giving it the next version and a fresh `lastWrite`.
   */
  write<R extends LedgerRecord>(
    next: R,
    read: LedgerRecord | undefined,
    writeId: string,
  ): Promise<WriteResult<R>>;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * The ledger on DynamoDB through the plain DocumentClient: one item per record, each write a whole-item
 * PutItem conditional on the version read (docs/DESIGN.md explains why no modelling library).
 */
export function dynamoDbLedger(client: DynamoDBClient, tableName: string): Ledger {
  const documents = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const get = async (id: string) => {
    const { Item } = await documents.send(
      new GetCommand({ TableName: tableName, Key: { id }, ConsistentRead: true }),
    );
    return Item as LedgerRecord | undefined;
  };
  return {
    get,
    async write(next, read, writeId) {
      const record = { ...next, version: (read?.version ?? 0) + 1, lastWrite: writeId };
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: record,
            ...(read === undefined
              ? { ConditionExpression: 'attribute_not_exists(id)' }
              : {
                  ConditionExpression: 'version = :version',
                  ExpressionAttributeValues: { ':version': read.version },
                }),
          }),
        );
        return { written: true, record };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // The SDK retries a write whose answer was lost; its retry then fails this condition. Ours if the id is.
        const current = await get(next.id);
        if (current?.lastWrite === writeId) return { written: true, record: current as typeof record };
        return { written: false, current };
      }
    },
  };
}
