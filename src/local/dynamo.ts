import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface LocalDynamo {
  url: string;
  /** CPU time dynalite's thread has used so far. */
  cpuMicros(): Promise<number>;
  close(): Promise<void>;
}

/**
 * dynalite on a free loopback port, in memory or kept in `path` (LevelDB) when one is given. It runs on a
 * worker thread: parsing the expressions of every conditional write, it was the largest consumer of the local
 * stack's main thread, which also serves SQS and both emulators.
 */
export async function startDynalite(path?: string): Promise<LocalDynamo> {
  if (path !== undefined) mkdirSync(path, { recursive: true });
  const worker = new Worker(new URL('./dynalite-worker.ts', import.meta.url), { workerData: { path } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: { port: number }) => resolve(message.port));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`dynalite's thread ended with code ${code} before listening`)),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async cpuMicros() {
      const usage = await worker.cpuUsage();
      return usage.user + usage.system;
    },
    close: async () => {
      const exited = once(worker, 'exit');
      worker.postMessage('close');
      await exited;
    },
  };
}

/** The idempotency table as serverless.yml declares it (key `id`, the Powertools default); kept if it exists. */
export async function createIdempotencyTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    // A kept data folder already has it.
    if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
  } finally {
    client.destroy();
  }
}
