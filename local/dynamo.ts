import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface LocalDynamo {
  url: string;
  /** CPU time dynalite's thread has used so far. */
  cpuMicros(): Promise<number>;
  close(): Promise<void>;
}

/** Where an unexpected end of dynalite's thread is reported; the local stack's other parts keep running. */
function reportUnexpectedExit(error: Error): void {
  console.error(`local DynamoDB: ${error.message}`);
}

/**
 * dynalite on a free loopback port, in memory or kept in `path` (LevelDB) when one is given. It runs on a
 * worker thread: parsing the expressions of every conditional write, it was the largest consumer of the local
 * stack's main thread, which also serves SQS and both emulators.
 */
export async function startDynalite(
  path?: string,
  onUnexpectedExit: (error: Error) => void = reportUnexpectedExit,
): Promise<LocalDynamo> {
  if (path !== undefined) mkdirSync(path, { recursive: true });
  const worker = new Worker(new URL('./dynalite-worker.ts', import.meta.url), { workerData: { path } });
  let failure: Error | undefined;
  let closing = false;
  worker.on('error', (error) => {
    failure = error;
  });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  // Settling twice is a no-op: an exit after the port arrived is reported below, not here.
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: { port: number }) => resolve(message.port));
    void exited.then((code) =>
      reject(failure ?? new Error(`dynalite's thread ended with code ${code} before listening`)),
    );
  });
  const url = `http://127.0.0.1:${port}`;
  void exited.then((code) => {
    if (closing) return;
    const cause = failure ? `: ${failure.message}` : '';
    onUnexpectedExit(
      new Error(`dynalite's thread ended with code ${code}${cause}; calls to ${url} will fail`),
    );
  });
  let lastCpuMicros = 0;
  return {
    url,
    async cpuMicros() {
      try {
        const usage = await worker.cpuUsage();
        lastCpuMicros = usage.user + usage.system;
      } catch {
        // The thread has ended: its last reading is all there is.
      }
      return lastCpuMicros;
    },
    async close() {
      closing = true;
      const reply = new Promise<string | undefined>((resolve) =>
        worker.once('message', (message: { closeError?: string }) => resolve(message.closeError)),
      );
      // A thread that has already ended ignores the message; its exit settles the wait.
      worker.postMessage('close');
      const closeError = await Promise.race([reply, exited.then(() => undefined)]);
      await exited;
      if (closeError !== undefined) throw new Error(`dynalite did not close cleanly: ${closeError}`);
    },
  };
}

/** The ledger table as serverless.yml declares it (key `id`); kept if it exists. */
export async function createLedgerTable(endpoint: string, tableName: string): Promise<void> {
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
