import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createLedgerTable, startDynalite } from '../../local/dynamo.ts';

describe('the local DynamoDB (dynalite on a thread of its own)', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });

  it('keeps a table in its data folder across a restart, counts its CPU, and closes more than once', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'associator-dynamo-'));
    folders.push(folder);
    const first = await startDynalite(folder);
    await createLedgerTable(first.url, 'kept');
    expect(await first.cpuMicros()).toBeGreaterThan(0);
    await first.close();
    await first.close();

    const second = await startDynalite(folder);
    const client = new DynamoDBClient({
      endpoint: second.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: 'kept' }));
      expect(Table?.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    } finally {
      client.destroy();
      await second.close();
    }
  });
});
