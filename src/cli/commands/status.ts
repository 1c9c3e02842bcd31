import { type DomainPackageDetails, paginateListPackagesForDomain } from '@aws-sdk/client-opensearch';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { formatDomainPackage, formatRecord } from '../format.ts';
import { IDEMPOTENCY_STAGES, idempotencyRecordId, viewRecord } from '../idempotency.ts';
import { EXIT, type ExitCode, UsageError } from '../io.ts';
import { resolveTableName } from '../targets.ts';
import { type CommandContext, createDynamoDbClient, createOpenSearchClient } from './context.ts';

export interface StatusOptions {
  domain?: string | undefined;
  package?: string | undefined;
  key?: string | undefined;
  table?: string | undefined;
  json?: boolean | undefined;
}

/** Prints what the domain reports; false when a named package is not associated with it. */
async function showDomain(
  options: StatusOptions & { domain: string },
  context: CommandContext,
): Promise<boolean> {
  const { io } = context;
  const client = createOpenSearchClient(context.target);
  const found: DomainPackageDetails[] = [];
  try {
    // The API cannot filter by package: page through the domain's list.
    const pages = paginateListPackagesForDomain({ client, pageSize: 100 }, { DomainName: options.domain });
    for await (const page of pages) {
      for (const details of page.DomainPackageDetailsList ?? []) {
        if (options.package === undefined || details.PackageID === options.package) found.push(details);
      }
    }
  } finally {
    client.destroy();
  }
  for (const details of found)
    io.out(options.json === true ? JSON.stringify(details) : formatDomainPackage(details));
  if (found.length > 0) return true;
  io.err(
    options.package === undefined
      ? `no packages are associated with ${options.domain}`
      : `${options.package} is not associated with ${options.domain}`,
  );
  return options.package === undefined;
}

/** Prints the request's idempotency records; false when there is none. */
async function showKey(options: StatusOptions & { key: string }, context: CommandContext): Promise<boolean> {
  const { io } = context;
  const table = resolveTableName(context.target, options.table, io.env);
  const dynamo = createDynamoDbClient(context.target);
  const client = DynamoDBDocumentClient.from(dynamo);
  let foundAny = false;
  const now = new Date();
  try {
    if (options.json !== true) io.out(`idempotency key ${options.key}`);
    for (const { keyPrefix, stage } of IDEMPOTENCY_STAGES) {
      const recordId = idempotencyRecordId(keyPrefix, options.key);
      // Consistent: the record may have been written a moment ago by the invocation being watched.
      const { Item } = await client.send(
        new GetCommand({ TableName: table, Key: { id: recordId }, ConsistentRead: true }),
      );
      if (Item === undefined) {
        io.out(
          options.json === true
            ? JSON.stringify({ stage, recordId, state: 'absent' })
            : `${stage.padEnd(9)}  no record`,
        );
        continue;
      }
      foundAny = true;
      const view = viewRecord(stage, recordId, Item, now);
      io.out(options.json === true ? JSON.stringify(view) : formatRecord(view));
    }
  } finally {
    dynamo.destroy();
  }
  if (!foundAny) {
    io.err(`no idempotency record for ${options.key} in ${table}: not processed yet, or expired and removed`);
  }
  return foundAny;
}

/** `associator status`: what the domain reports for a package, and/or how far a request got. */
export async function runStatus(options: StatusOptions, context: CommandContext): Promise<ExitCode> {
  const { domain, key } = options;
  if (options.package !== undefined && domain === undefined) throw new UsageError('--package needs --domain');
  if (domain === undefined && key === undefined)
    throw new UsageError('give --key, or --domain (with --package)');
  let found = true;
  if (domain !== undefined) found = (await showDomain({ ...options, domain }, context)) && found;
  if (key !== undefined) found = (await showKey({ ...options, key }, context)) && found;
  return found ? EXIT.ok : EXIT.failed;
}
