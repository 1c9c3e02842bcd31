/**
 * Where the CLI sends its calls: AWS (the SDK's own credential and region chain) or the local stack, and which
 * queues and table it uses there. Every default lives here so the commands never guess a name themselves.
 */
import { UsageError } from './io.ts';

export const LOCAL_DEFAULT_ENDPOINT = 'http://127.0.0.1:4566';
export const LOCAL_DEFAULT_REGION = 'us-east-1';
/** The account id local SQS emulators put in queue URLs. */
export const LOCAL_ACCOUNT_ID = '000000000000';

export type QueueRole = 'requests' | 'requestsDlq' | 'tracking' | 'trackingDlq' | 'events';

/** The names the local stack creates (`npm start`). */
export const LOCAL_QUEUE_NAMES: Record<QueueRole, string> = {
  requests: 'package-associator-requests',
  requestsDlq: 'package-associator-requests-dlq',
  tracking: 'package-associator-tracking',
  trackingDlq: 'package-associator-tracking-dlq',
  events: 'package-association-events',
};
/** The request ledger's table in the local stack (local/stack.ts). */
export const LOCAL_TABLE_NAME = 'package-associator-ledger';

/** For AWS, where each queue URL comes from when no flag names it (the stack's Outputs, exported by the user). */
export const QUEUE_URL_ENV: Record<QueueRole, string> = {
  requests: 'ASSOCIATOR_QUEUE_URL',
  requestsDlq: 'ASSOCIATOR_DLQ_URL',
  tracking: 'ASSOCIATOR_TRACKING_QUEUE_URL',
  trackingDlq: 'ASSOCIATOR_TRACKING_DLQ_URL',
  events: 'ASSOCIATOR_EVENTS_QUEUE_URL',
};
export const TABLE_ENV = 'ASSOCIATOR_TABLE';

/** The flags that name a queue of each role, for messages telling the user what to pass. */
const QUEUE_FLAGS: Record<QueueRole, { url: string; name: string }> = {
  requests: { url: '--queue-url', name: '--queue-name' },
  requestsDlq: { url: '--dlq-url', name: '--dlq-name' },
  tracking: { url: '--queue-url', name: '--queue-name' },
  trackingDlq: { url: '--dlq-url', name: '--dlq-name' },
  events: { url: '--events-queue-url', name: '--events-queue-name' },
};

export type ServiceName = 'sqs' | 'dynamodb' | 'opensearch' | 'eventbridge';
const SERVICES: readonly ServiceName[] = ['sqs', 'dynamodb', 'opensearch', 'eventbridge'];

/**
 * The SDK's per-service endpoint variables (`AWS_ENDPOINT_URL_<serviceId>`, see @smithy/core endpoints). The
 * CLI reads them itself and passes every endpoint explicitly, so it can say where its calls go.
 */
const SERVICE_ENDPOINT_ENV: Record<ServiceName, string> = {
  sqs: 'AWS_ENDPOINT_URL_SQS',
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  opensearch: 'AWS_ENDPOINT_URL_OPENSEARCH',
  eventbridge: 'AWS_ENDPOINT_URL_EVENTBRIDGE',
};

/** A deployed stage's resources (`--stage`), by the names serverless.yml gives them (see ./stage.ts). */
export interface StageResources {
  stage: string;
  queues: Record<Exclude<QueueRole, 'events'>, string>;
  table: string;
  bus: string;
  /** The `Source` of the service's events in that stage. */
  eventSource: string;
}

export interface Target {
  mode: 'aws' | 'local';
  /** Undefined on AWS without `--region`: the SDK's region chain decides. */
  region: string | undefined;
  /** Undefined where the SDK resolves the endpoint: AWS, unless an endpoint is configured. */
  endpoints: Record<ServiceName, string | undefined>;
  /** Only set for the local stack when no credentials are configured; it accepts any. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  stage: StageResources | undefined;
}

export interface TargetOptions {
  local?: boolean | undefined;
  region?: string | undefined;
  /** `--endpoint`: every service at this URL, as AWS_ENDPOINT_URL does. */
  endpoint?: string | undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function endpointFlag(value: string | undefined): string | undefined {
  const endpoint = nonEmpty(value);
  if (endpoint === undefined) return undefined;
  let protocol: string;
  try {
    protocol = new URL(endpoint).protocol;
  } catch {
    protocol = '';
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new UsageError(`--endpoint: must be an http:// or https:// URL, got ${JSON.stringify(endpoint)}`);
  }
  return endpoint;
}

/**
 * AWS unless `--local`, `--endpoint` or AWS_ENDPOINT_URL says otherwise; then the local stack's defaults (names,
 * region, dummy credentials) apply. The per-service variables redirect one service in either mode, as in the SDK,
 * and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true turns the variables off, as in the SDK.
 */
export function resolveTarget(
  options: TargetOptions,
  env: NodeJS.ProcessEnv,
  stage?: StageResources,
): Target {
  const configured = (name: string) =>
    env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true' ? undefined : nonEmpty(env[name]);
  const sharedEndpoint = endpointFlag(options.endpoint) ?? configured('AWS_ENDPOINT_URL');
  const local = options.local === true || sharedEndpoint !== undefined;
  const fallback = local ? (sharedEndpoint ?? LOCAL_DEFAULT_ENDPOINT) : undefined;
  const endpoints = Object.fromEntries(
    SERVICES.map((service) => [service, configured(SERVICE_ENDPOINT_ENV[service]) ?? fallback]),
  ) as Record<ServiceName, string | undefined>;
  if (!local) return { mode: 'aws', region: options.region, endpoints, credentials: undefined, stage };
  return {
    mode: 'local',
    region:
      options.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? LOCAL_DEFAULT_REGION,
    endpoints,
    credentials:
      nonEmpty(env.AWS_ACCESS_KEY_ID) === undefined
        ? { accessKeyId: 'test', secretAccessKey: 'test' }
        : undefined,
    stage,
  };
}

/**
 * The line that says the calls do not go to AWS, or undefined when they all do; so a shell left with
 * AWS_ENDPOINT_URL from the quick start cannot pass for the real thing.
 */
export function endpointNotice(target: Target): string | undefined {
  const redirected = SERVICES.filter((service) => target.endpoints[service] !== undefined);
  if (redirected.length === 0) return undefined;
  const distinct = new Set(redirected.map((service) => target.endpoints[service]));
  if (distinct.size === 1 && redirected.length === SERVICES.length) {
    return `associator: using endpoint ${[...distinct][0]} (not AWS)`;
  }
  const each = redirected.map((service) => `${service} ${target.endpoints[service]}`).join(', ');
  const rest = redirected.length < SERVICES.length ? '; the other services are AWS' : '';
  return `associator: using endpoints ${each} (not AWS)${rest}`;
}

export interface ClientSettings {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Settings for `new XClient(...)`; only what is set, so the SDK's own chain fills in the rest. */
export function clientSettings(target: Target, service: ServiceName): ClientSettings {
  const settings: ClientSettings = {};
  if (target.region !== undefined) settings.region = target.region;
  const endpoint = target.endpoints[service];
  if (endpoint !== undefined) settings.endpoint = endpoint;
  if (target.credentials !== undefined) settings.credentials = target.credentials;
  return settings;
}

/** `<endpoint>/<account>/<name>`: the SQS client sends to its explicit endpoint, the URL only names the queue. */
export function localQueueUrl(target: Target, name: string): string {
  const endpoint = target.endpoints.sqs ?? LOCAL_DEFAULT_ENDPOINT;
  return `${endpoint.replace(/\/+$/, '')}/${LOCAL_ACCOUNT_ID}/${name}`;
}

export interface QueueFlags {
  url?: string | undefined;
  name?: string | undefined;
}

/**
 * A queue's URL: the URL flag, else the name flag or the `--stage`'s queue (looked up with `lookupByName`,
 * GetQueueUrl), else the environment, else the local stack's name (local). Throws a usage error naming what
 * to pass when none is.
 */
export async function resolveQueueUrl(
  target: Target,
  role: QueueRole,
  flags: QueueFlags,
  env: NodeJS.ProcessEnv,
  lookupByName: (name: string) => Promise<string>,
): Promise<string> {
  const flagUrl = nonEmpty(flags.url);
  if (flagUrl !== undefined) return flagUrl;
  const name = nonEmpty(flags.name) ?? (role === 'events' ? undefined : target.stage?.queues[role]);
  if (name !== undefined) return lookupByName(name);
  const envUrl = nonEmpty(env[QUEUE_URL_ENV[role]]);
  if (envUrl !== undefined) return envUrl;
  if (target.mode === 'local') return localQueueUrl(target, LOCAL_QUEUE_NAMES[role]);
  const { url, name: nameFlag } = QUEUE_FLAGS[role];
  throw new UsageError(
    `no ${describeRole(role)} queue given: pass --stage, ${url} or ${nameFlag}, set ${QUEUE_URL_ENV[role]}, or use --local`,
  );
}

export function resolveTableName(target: Target, flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const table = nonEmpty(flag) ?? target.stage?.table ?? nonEmpty(env[TABLE_ENV]);
  if (table !== undefined) return table;
  if (target.mode === 'local') return LOCAL_TABLE_NAME;
  throw new UsageError(`no ledger table given: pass --stage or --table, set ${TABLE_ENV}, or use --local`);
}

function describeRole(role: QueueRole): string {
  switch (role) {
    case 'requests':
      return 'requests';
    case 'requestsDlq':
      return 'requests dead-letter';
    case 'tracking':
      return 'tracking';
    case 'trackingDlq':
      return 'tracking dead-letter';
    case 'events':
      return 'events subscriber';
  }
}
