import * as z from 'zod/mini';
import { type DomainAllowList, parseAllowList } from './domain/allow-list.ts';
import type { BackoffPolicy } from './domain/backoff.ts';
import { isPluginType } from './domain/readiness.ts';

/** Decimal digits only: `Number()` would also read `0x8`, `1e3` or ` 8 ` as numbers nobody meant to write. */
const wholeNumber = (max: number, min = 1) =>
  z.pipe(
    z.string().check(z.regex(/^[0-9]+$/, { error: 'must be a whole number in decimal digits' })),
    z.pipe(
      z.transform(Number),
      z
        .number()
        .check(
          z.minimum(min, { error: `must be from ${min} to ${max}` }),
          z.maximum(max, { error: `must be from ${min} to ${max}` }),
        ),
    ),
  );
const seconds = (fallback: number, max: number) => z._default(wholeNumber(max), fallback);
const text = (min: number, max: number) =>
  z
    .string()
    .check(
      z.minLength(min, { error: `must be ${min} to ${max} characters` }),
      z.maxLength(max, { error: `must be ${min} to ${max} characters` }),
    );
/** The SQS hosts AWS answers on (https://docs.aws.amazon.com/general/latest/gr/sqs-service.html). */
const SQS_HOST = /^(sqs\.[a-z0-9-]+\.amazonaws\.com(\.cn)?|queue\.amazonaws\.com)$/;

/** The origins of the endpoints the SDK is pointed at (the local stack): their queue URLs are allowed too. */
function localEndpointOrigins(environment: NodeJS.ProcessEnv): string[] {
  return [environment.AWS_ENDPOINT_URL, environment.AWS_ENDPOINT_URL_SQS].flatMap((endpoint) => {
    if (endpoint === undefined) return [];
    try {
      return [new URL(endpoint).origin];
    } catch {
      return [];
    }
  });
}

/** A queue URL: https on an SQS host with an account and a queue name, or a queue of the configured endpoint. */
const queueUrl = (localOrigins: string[]) =>
  z.string().check(
    z.refine(
      (value) => {
        let url: URL;
        try {
          url = new URL(value);
        } catch {
          return false;
        }
        const path = /^\/[0-9]{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(url.pathname);
        if (localOrigins.includes(url.origin)) return path;
        return url.protocol === 'https:' && SQS_HOST.test(url.hostname) && path;
      },
      {
        error: `must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>${
          localOrigins.length === 0 ? '' : `, or a queue of ${localOrigins.join(' or ')}`
        })`,
      },
    ),
  );

const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}$/;
const splitList = (value: string) =>
  value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);

/**
 * A record's visibility can be set to at most 12 h from when it was received
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html); the
 * backoff is set up to a function timeout (15 min at most) after that, so it must stay 15 min under it.
 */
const MAX_BACKOFF_SECONDS = 43_200 - 900;

const environmentSchema = (localOrigins: string[]) =>
  z.object({
    // A bus name or ARN (PutEvents takes either; an ARN is up to 1,600 characters).
    EVENT_BUS_NAME: text(1, 1600),
    EVENT_SOURCE: z._default(text(1, 256), 'package-associator'),
    DLQ_URL: queueUrl(localOrigins),
    // A rollout sends its child requests to the queue the associate function reads.
    REQUESTS_QUEUE_URL: queueUrl(localOrigins),
    TRACKING_QUEUE_URL: queueUrl(localOrigins),
    TRACKING_DLQ_URL: queueUrl(localOrigins),
    LEDGER_TABLE: text(3, 255),
    // Required even when empty: a forgotten allow-list must fail at start, not allow nothing silently.
    ALLOWED_DOMAINS: z.string(),
    // The roles a request may name as its key-access role, and the only ones the function may pass to OpenSearch.
    KEY_ACCESS_ROLE_ARNS: z._default(
      z.string().check(
        z.refine((value) => splitList(value).every((arn) => IAM_ROLE_ARN.test(arn)), {
          error: 'must be IAM role ARNs (arn:aws:iam::<account>:role/<name>), comma-separated',
        }),
      ),
      '',
    ),
    // Below the queue's maxReceiveCount, so the last attempt is ours to dead-letter with a reason.
    MAX_ATTEMPTS: wholeNumber(1000),
    RETRY_BUDGET_SECONDS: seconds(3600, 7 * 86_400),
    IDEMPOTENCY_TTL_SECONDS: seconds(86_400, 365 * 86_400),
    BACKOFF_BASE_SECONDS: seconds(5, MAX_BACKOFF_SECONDS),
    BACKOFF_MAX_SECONDS: seconds(900, MAX_BACKOFF_SECONDS),
    TRACKING_FIRST_DELAY_SECONDS: seconds(15, 900),
    // SQS DelaySeconds stops at 15 minutes.
    TRACKING_MAX_DELAY_SECONDS: seconds(300, 900),
    TRACKING_DEADLINE_SECONDS: seconds(1800, 7 * 86_400),
    // Plugins install by a blue/green deployment; their checks are made visible again (up to 12 h), not delayed.
    PLUGIN_TRACKING_MAX_DELAY_SECONDS: seconds(900, 43_200),
    PLUGIN_TRACKING_DEADLINE_SECONDS: seconds(21_600, 7 * 86_400),
    // Milliseconds a package's state and a domain's processing flag are reused by one environment; 0: never.
    READ_REUSE_MS: z._default(wholeNumber(60_000, 0), 2000),
    // Requests of one domain in one invocation that share one AssociatePackages (AWS takes up to 20); 1: never.
    MAX_PACKAGES_PER_OPERATION: z._default(wholeNumber(20), 10),
  });

export interface Config {
  eventBusName: string;
  eventSource: string;
  dlqUrl: string;
  requestsQueueUrl: string;
  trackingQueueUrl: string;
  trackingDlqUrl: string;
  ledgerTable: string;
  allowList: DomainAllowList;
  /** The key-access roles a request may name (`associationConfiguration.keyStoreAccessOption.keyAccessRoleArn`). */
  keyAccessRoleArns: ReadonlySet<string>;
  /** How long DescribePackages and DescribeDomain answers are reused (src/adapters/recent-reads.ts). */
  readReuseMs: number;
  /** How many requests of one domain one `AssociatePackages` may carry (docs/DESIGN.md, "Several packages in one operation"). */
  maxPackagesPerOperation: number;
  maxAttempts: number;
  retryBudgetSeconds: number;
  /** The idempotency window: how long a decided request stays a duplicate, counted from its decision. */
  idempotencyTtlSeconds: number;
  backoff: BackoffPolicy;
  /** For dictionaries; `plugin` for the package types installed by a blue/green deployment. */
  tracking: TrackingSettings & { plugin: Omit<TrackingSettings, 'firstDelaySeconds'> };
}

export interface TrackingSettings {
  firstDelaySeconds: number;
  maxDelaySeconds: number;
  deadlineSeconds: number;
}

/**
 * How long, and how often, a request on a package of this type is followed. A type not known (AWS did not say,
 * or a type newer than this code) gets the longer wait: ending a running blue/green early would free its domain.
 */
export function trackingFor(tracking: Config['tracking'], packageType: string | undefined): TrackingSettings {
  const dictionary = packageType !== undefined && !isPluginType(packageType) && KNOWN_TYPES.has(packageType);
  return dictionary ? tracking : { ...tracking, ...tracking.plugin };
}

/** AWS's PackageType values; the dictionaries among them are followed with the shorter deadline. */
const KNOWN_TYPES: ReadonlySet<string> = new Set([
  'TXT-DICTIONARY',
  'ZIP-PLUGIN',
  'PACKAGE-LICENSE',
  'PACKAGE-CONFIG',
]);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment once, at start: a missing or malformed setting stops the function, naming it. */
export function loadConfig(environment: NodeJS.ProcessEnv): Config {
  const result = environmentSchema(localEndpointOrigins(environment)).safeParse(environment);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.');
      return `${name}: ${environment[name] === undefined ? 'is required' : issue.message}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const env = result.data;
  let allowList: DomainAllowList;
  try {
    allowList = parseAllowList(env.ALLOWED_DOMAINS);
  } catch (error) {
    throw new ConfigError(`Invalid configuration: ALLOWED_DOMAINS: ${(error as Error).message}`);
  }
  return {
    eventBusName: env.EVENT_BUS_NAME,
    eventSource: env.EVENT_SOURCE,
    dlqUrl: env.DLQ_URL,
    requestsQueueUrl: env.REQUESTS_QUEUE_URL,
    trackingQueueUrl: env.TRACKING_QUEUE_URL,
    trackingDlqUrl: env.TRACKING_DLQ_URL,
    ledgerTable: env.LEDGER_TABLE,
    allowList,
    keyAccessRoleArns: new Set(splitList(env.KEY_ACCESS_ROLE_ARNS)),
    readReuseMs: env.READ_REUSE_MS,
    maxPackagesPerOperation: env.MAX_PACKAGES_PER_OPERATION,
    maxAttempts: env.MAX_ATTEMPTS,
    retryBudgetSeconds: env.RETRY_BUDGET_SECONDS,
    idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
    backoff: { baseSeconds: env.BACKOFF_BASE_SECONDS, maxSeconds: env.BACKOFF_MAX_SECONDS },
    tracking: {
      firstDelaySeconds: env.TRACKING_FIRST_DELAY_SECONDS,
      maxDelaySeconds: env.TRACKING_MAX_DELAY_SECONDS,
      deadlineSeconds: env.TRACKING_DEADLINE_SECONDS,
      plugin: {
        maxDelaySeconds: env.PLUGIN_TRACKING_MAX_DELAY_SECONDS,
        deadlineSeconds: env.PLUGIN_TRACKING_DEADLINE_SECONDS,
      },
    },
  };
}
