import * as z from 'zod/mini';
import { type DomainAllowList, parseAllowList } from './domain/allow-list.ts';
import type { BackoffPolicy } from './domain/backoff.ts';

const wholeNumber = (max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .check(
      z.refine(Number.isInteger, { error: 'must be a whole number' }),
      z.minimum(1, { error: `must be from 1 to ${max}` }),
      z.maximum(max, { error: `must be from 1 to ${max}` }),
    );
const seconds = (fallback: number, max: number) => z._default(wholeNumber(max), fallback);
const text = (min: number, max: number) =>
  z
    .string()
    .check(
      z.minLength(min, { error: `must be ${min} to ${max} characters` }),
      z.maxLength(max, { error: `must be ${min} to ${max} characters` }),
    );
const url = () => z.url({ error: 'must be a URL' });

const environmentSchema = z.object({
  // A bus name or ARN (PutEvents takes either; an ARN is up to 1,600 characters).
  EVENT_BUS_NAME: text(1, 1600),
  EVENT_SOURCE: z._default(text(1, 256), 'package-associator'),
  DLQ_URL: url(),
  TRACKING_QUEUE_URL: url(),
  TRACKING_DLQ_URL: url(),
  LEDGER_TABLE: text(3, 255),
  // Required even when empty: a forgotten allow-list must fail at start, not allow nothing silently.
  ALLOWED_DOMAINS: z.string(),
  // Below the queue's maxReceiveCount, so the last attempt is ours to dead-letter with a reason.
  MAX_ATTEMPTS: wholeNumber(1000),
  RETRY_BUDGET_SECONDS: seconds(3600, 7 * 86_400),
  IDEMPOTENCY_TTL_SECONDS: seconds(86_400, 365 * 86_400),
  BACKOFF_BASE_SECONDS: seconds(5, 43_200),
  BACKOFF_MAX_SECONDS: seconds(900, 43_200),
  TRACKING_FIRST_DELAY_SECONDS: seconds(15, 900),
  // SQS DelaySeconds stops at 15 minutes.
  TRACKING_MAX_DELAY_SECONDS: seconds(300, 900),
  TRACKING_DEADLINE_SECONDS: seconds(1800, 7 * 86_400),
});

export interface Config {
  eventBusName: string;
  eventSource: string;
  dlqUrl: string;
  trackingQueueUrl: string;
  trackingDlqUrl: string;
  ledgerTable: string;
  allowList: DomainAllowList;
  maxAttempts: number;
  retryBudgetSeconds: number;
  /** The idempotency window: how long a decided request stays a duplicate, counted from its decision. */
  idempotencyTtlSeconds: number;
  backoff: BackoffPolicy;
  tracking: { firstDelaySeconds: number; maxDelaySeconds: number; deadlineSeconds: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment once, at start: a missing or malformed setting stops the function, naming it. */
export function loadConfig(environment: NodeJS.ProcessEnv): Config {
  const result = environmentSchema.safeParse(environment);
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
    trackingQueueUrl: env.TRACKING_QUEUE_URL,
    trackingDlqUrl: env.TRACKING_DLQ_URL,
    ledgerTable: env.LEDGER_TABLE,
    allowList,
    maxAttempts: env.MAX_ATTEMPTS,
    retryBudgetSeconds: env.RETRY_BUDGET_SECONDS,
    idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
    backoff: { baseSeconds: env.BACKOFF_BASE_SECONDS, maxSeconds: env.BACKOFF_MAX_SECONDS },
    tracking: {
      firstDelaySeconds: env.TRACKING_FIRST_DELAY_SECONDS,
      maxDelaySeconds: env.TRACKING_MAX_DELAY_SECONDS,
      deadlineSeconds: env.TRACKING_DEADLINE_SECONDS,
    },
  };
}
