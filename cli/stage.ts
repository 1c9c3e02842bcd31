/**
 * A deployed stage's resource names, read from serverless.yml itself (the copy the package ships), so they are
 * written in one place: `associator --stage prod` finds what `osls deploy --stage prod` created.
 */
import { fileURLToPath } from 'node:url';
import { loadServerlessConfig } from '../local/serverless-config.ts';
import { OperationError, UsageError } from './io.ts';
import type { StageResources } from './targets.ts';

/** Beside cli/ in the checkout, and beside dist/cli/ in the package (scripts/build-cli.ts copies it). */
const SERVERLESS_YML = fileURLToPath(new URL('../serverless.yml', import.meta.url));

/** The characters the Serverless Framework allows in a stage name. */
const STAGE_PATTERN = /^[A-Za-z0-9-]+$/;

function valueAt(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function reader(path: string, stage: string | undefined) {
  const config = loadServerlessConfig(path, stage === undefined ? {} : { stage });
  return (...keys: string[]): string => {
    const value = valueAt(config, keys);
    // A variable left unresolved would be looked up as a literal name and found nowhere.
    if (typeof value !== 'string' || value === '' || value.includes('${')) {
      throw new OperationError(`${path}: ${keys.join('.')} is not a name (${JSON.stringify(value)})`);
    }
    return value;
  };
}

/** What the functions publish with: `${param:eventSource}` as resolved for the stage. */
const EVENT_SOURCE = ['provider', 'environment', 'EVENT_SOURCE'];

/** The events' `Source` where no stage is named: the params' default. */
export function defaultEventSource(path = SERVERLESS_YML): string {
  return reader(path, undefined)(...EVENT_SOURCE);
}

export function stageResources(stage: string, path = SERVERLESS_YML): StageResources {
  if (!STAGE_PATTERN.test(stage)) {
    throw new UsageError(
      `--stage: must contain only letters, digits and hyphens, got ${JSON.stringify(stage)}`,
    );
  }
  const read = reader(path, stage);
  const resource = (logicalId: string, property: string) =>
    read('resources', 'Resources', logicalId, 'Properties', property);
  return {
    stage,
    queues: {
      requests: resource('RequestsQueue', 'QueueName'),
      requestsDlq: resource('RequestsDlq', 'QueueName'),
      tracking: resource('TrackingQueue', 'QueueName'),
      trackingDlq: resource('TrackingDlq', 'QueueName'),
    },
    table: resource('LedgerTable', 'TableName'),
    bus: resource('EventBus', 'Name'),
    eventSource: read(...EVENT_SOURCE),
  };
}
