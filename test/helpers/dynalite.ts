import { DeleteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { createLedgerTable, startDynalite as startLocalDynamo } from '../../local/dynamo.ts';

export { createLedgerTable };

export interface LocalDynamo {
  endpoint: string;
  close(): Promise<void>;
}

/** An in-memory dynalite on a free loopback port, as the local stack runs it. */
export async function startDynalite(): Promise<LocalDynamo> {
  const { url, close } = await startLocalDynamo();
  return { endpoint: url, close };
}

/** Empties a ledger table between tests: each starts with no requests and no domain locks. */
export async function clearTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'eu-west-1' });
  try {
    const { Items = [] } = await client.send(
      new ScanCommand({ TableName: tableName, ProjectionExpression: 'id' }),
    );
    for (const item of Items) {
      if (item.id !== undefined)
        await client.send(new DeleteItemCommand({ TableName: tableName, Key: { id: item.id } }));
    }
  } finally {
    client.destroy();
  }
}
