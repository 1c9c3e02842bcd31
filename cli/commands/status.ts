import type { DomainPackageDetails } from '@aws-sdk/client-opensearch';
import { dynamoDbLedger } from '../../src/adapters/ledger.ts';
import { formatDomainPackage, formatRecordView } from '../format.ts';
import { EXIT, type ExitCode, UsageError } from '../io.ts';
import { type RecordLookup, readRecordView } from '../ledger.ts';
import { packagesOfDomain } from '../opensearch-listing.ts';
import { resolveTableName } from '../targets.ts';
import { type CommandContext, createDynamoDbClient, createOpenSearchClient } from './context.ts';

export interface StatusOptions {
  domain?: string | undefined;
  package?: string | undefined;
  /** A request's idempotency key: its record in the ledger. */
  key?: string | undefined;
  /** A rejected message's SQS message id: its rejection record in the ledger. */
  message?: string | undefined;
  /** A rollout's key: its record in the ledger. */
  rollout?: string | undefined;
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
  let found: DomainPackageDetails[];
  try {
    found = (await packagesOfDomain(client, options.domain)).filter(
      (details) => options.package === undefined || details.PackageID === options.package,
    );
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

function notFound(lookup: RecordLookup): string {
  switch (lookup.kind) {
    case 'request':
      return `no request ${lookup.idempotencyKey}: not received yet, or its window ended and the record was removed`;
    case 'rejection':
      return `no rejection of message ${lookup.messageId}: not rejected (yet), or its window ended and the record was removed`;
    case 'rollout':
      return `no rollout ${lookup.rolloutId}: not accepted yet (or rejected: status --message <message id>), or its window ended and the record was removed`;
  }
}

/** Prints the ledger records asked for; false when one of them is not in the ledger, or expired. */
async function showRecords(
  lookups: readonly RecordLookup[],
  options: StatusOptions,
  context: CommandContext,
): Promise<boolean> {
  const { io } = context;
  const table = resolveTableName(context.target, options.table, io.env);
  const dynamo = createDynamoDbClient(context.target);
  const ledger = dynamoDbLedger(dynamo, table);
  const now = new Date();
  let foundAll = true;
  try {
    for (const lookup of lookups) {
      const view = await readRecordView(ledger, lookup, now);
      if (view === undefined) {
        foundAll = false;
        io.err(`the ledger ${table} has ${notFound(lookup)}`);
        continue;
      }
      if (options.json === true) io.out(JSON.stringify(view));
      else for (const line of formatRecordView(view)) io.out(line);
      if (view.expired) {
        // Shown for the record's story, but the service no longer acts on it: as good as not found.
        foundAll = false;
        io.err(
          `${view.id}: its window ended at ${view.expiresAt.toISOString()}; the service treats it as absent`,
        );
      }
    }
  } finally {
    dynamo.destroy();
  }
  return foundAll;
}

/** `associator status`: what the domain reports for a package, and/or how far a request (or rejection) got. */
export async function runStatus(options: StatusOptions, context: CommandContext): Promise<ExitCode> {
  const { domain, key } = options;
  if (options.package !== undefined && domain === undefined) throw new UsageError('--package needs --domain');
  const lookups: RecordLookup[] = [];
  if (key !== undefined) lookups.push({ kind: 'request', idempotencyKey: key });
  if (options.message !== undefined) lookups.push({ kind: 'rejection', messageId: options.message });
  if (options.rollout !== undefined) lookups.push({ kind: 'rollout', rolloutId: options.rollout });
  if (domain === undefined && lookups.length === 0) {
    throw new UsageError('give --key, --message, --rollout, or --domain (with --package)');
  }
  let found = true;
  if (domain !== undefined) found = (await showDomain({ ...options, domain }, context)) && found;
  if (lookups.length > 0) found = (await showRecords(lookups, options, context)) && found;
  return found ? EXIT.ok : EXIT.failed;
}
