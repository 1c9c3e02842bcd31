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
