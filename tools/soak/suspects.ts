/**
 * What the ledger holds for the requests a soak found broken (lost, or their pair operated on twice), read
 * once the run is over: the state, attempts, last reason and lease a request stopped at say which path it took.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../local/stack.ts';
import type { Reconciliation } from './reconcile.ts';
import type { PlannedRequest } from './workload.ts';

/** The idempotency keys behind the lost requests and the pairs operated on more than once. */
export function suspectKeys(reconciliation: Reconciliation, requests: readonly PlannedRequest[]): string[] {
  const lost = (reconciliation.examples.lost ?? []).flatMap(({ idempotencyKey }) =>
    idempotencyKey === undefined ? [] : [idempotencyKey],
  );
  const twice = new Set(Object.keys(reconciliation.associatePackage.pairsOperatedTwice));
  const operated = requests.flatMap((request) =>
    twice.has(`${request.domainName}/${request.packageId}`) && request.idempotencyKey !== undefined
      ? [request.idempotencyKey]
      : [],
  );
  return [...new Set([...lost, ...operated])];
}

/** The request records (and their domains' lock records) of these keys, without injected faults. */
export async function ledgerRecordsOf(stack: LocalStack, keys: readonly string[]): Promise<unknown[]> {
  if (keys.length === 0) return [];
  stack.dynamoDb.setFaults([]);
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.endpoint,
      region: stack.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );
  try {
    const read = async (id: string) =>
      (await client.send(new GetCommand({ TableName: stack.tableName, Key: { id } }))).Item;
    const records = await Promise.all(keys.map((key) => read(`request#${key}`)));
    const domains = new Set(records.flatMap((record) => domainOf(record)));
    const locks = await Promise.all([...domains].map((domain) => read(`domain#${domain}`)));
    return [...records, ...locks].map((record) => withoutBody(record));
  } finally {
    client.destroy();
  }
}

function domainOf(record: Record<string, unknown> | undefined): string[] {
  const request = record?.request as { domainName?: unknown } | undefined;
  return typeof request?.domainName === 'string' ? [request.domainName] : [];
}

/** A record as logged: the request's body is left out, as everywhere else in the service. */
function withoutBody(record: Record<string, unknown> | undefined): unknown {
  if (record === undefined) return undefined;
  const { body: _body, ...rest } = record;
  return rest;
}
