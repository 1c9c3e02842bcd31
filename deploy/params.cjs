'use strict';

// Validates the deploy-time `params` of serverless.yml, so a typo in `--param` fails `osls package` instead of
// deploying an IAM policy, a redrive policy or an environment the functions refuse at start.
// osls loads this file for `${file(./deploy/params.cjs):<export>.<key>}` and calls the export with
// `{ options, resolveConfigurationProperty, resolveVariable }` (the "file" variable source of osls).

// Domain names: 3-28 chars, lowercase letter first (the OpenSearch Service rule).
const DOMAIN_NAME = /^[a-z][a-z0-9-]{2,27}$/;
// A prefix pattern keeps the same alphabet and ends in one `*`, which is also what the IAM ARN wildcard means.
const DOMAIN_PREFIX_PATTERN = /^[a-z][a-z0-9-]{0,26}\*$/;
// SQS allows maxReceiveCount 1-1000; the contract asks for at least 5 attempts before the handler decides.
const MIN_ATTEMPTS = 5;
const MAX_RECEIVE_COUNT = 1000;

class InvalidParameterError extends Error {
  /**
   * @param {string} parameter
   * @param {string} message
   */
  constructor(parameter, message) {
    super(`Invalid param "${parameter}": ${message}`);
    this.name = 'InvalidParameterError';
  }
}

/**
 * @param {unknown} raw
 * @returns {string[]}
 */
function splitList(raw) {
  return String(raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/**
 * Parses the comma-separated allow-list of exact domain names, `prefix*` patterns and `*`.
 * @param {unknown} raw
 * @returns {string[]} unique entries in their given order
 */
function parseAllowedDomains(raw) {
  const entries = splitList(raw);
  if (entries.length === 0) {
    // No default on purpose: a stage must say which domains it may change.
    throw new InvalidParameterError(
      'allowedDomains',
      'is required and has no default: pass --param="allowedDomains=<domain>,<prefix>*" (exact domain names, prefix* patterns, or * for every domain)',
    );
  }
  for (const entry of entries) {
    if (entry !== '*' && !DOMAIN_NAME.test(entry) && !DOMAIN_PREFIX_PATTERN.test(entry)) {
      throw new InvalidParameterError(
        'allowedDomains',
        `"${entry}" is neither a domain name (${DOMAIN_NAME}) nor a prefix pattern (${DOMAIN_PREFIX_PATTERN})`,
      );
    }
  }
  return [...new Set(entries)];
}

/**
 * @param {string} parameter
 * @param {unknown} raw
 * @param {number} min
 * @param {number} max
 * @returns {number}
 */
function parseInteger(parameter, raw, min, max) {
  const text = String(raw ?? '').trim();
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new InvalidParameterError(parameter, `"${text}" is not an integer between ${min} and ${max}`);
  }
  return value;
}

// The same limits the functions apply when they read their environment (src/config.ts), checked earlier.
const MAX_IDEMPOTENCY_TTL_SECONDS = 365 * 86_400;
const MAX_TRACKING_DEADLINE_SECONDS = 7 * 86_400;
const MAX_RETRY_BUDGET_SECONDS = 7 * 86_400;

/**
 * The handler's attempts and the queue's redrive count: the queue must leave room above the handler's
 * budget, or SQS could dead-letter a message the handler has not decided, without its reason.
 * @param {unknown} rawAttempts
 * @param {unknown} rawReceiveCount
 */
function parseAttempts(rawAttempts, rawReceiveCount) {
  const maxReceiveCount = parseInteger(
    'maxReceiveCount',
    rawReceiveCount,
    MIN_ATTEMPTS + 1,
    MAX_RECEIVE_COUNT,
  );
  const maxAttempts = parseInteger('maxAttempts', rawAttempts, MIN_ATTEMPTS, MAX_RECEIVE_COUNT);
  if (maxReceiveCount <= maxAttempts) {
    throw new InvalidParameterError(
      'maxReceiveCount',
      `${maxReceiveCount} must be larger than maxAttempts (${maxAttempts}), so the handler decides every dead letter`,
    );
  }
  return { maxAttempts, maxReceiveCount };
}

// ARNs of what the template points at but does not create; empty means "none" (see serverless.yml).
const EVENT_BUS_ARN = /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[\w./-]{1,256}$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}(\.fifo)?$/;

/**
 * An optional ARN: empty, or one that matches. Blanks are not trimmed away: " " is a typo, not "none".
 * @param {string} parameter
 * @param {unknown} raw
 * @param {RegExp} pattern
 * @param {string} what
 * @returns {string}
 */
function parseOptionalArn(parameter, raw, pattern, what) {
  const text = String(raw ?? '');
  if (text === '' || pattern.test(text)) return text;
  throw new InvalidParameterError(parameter, `"${text}" is not ${what} (${pattern})`);
}

/**
 * A param that is not set at all reads as "", so the message names it (osls's own "Value not found at param
 * source" names only the place that used it).
 * @param {{ resolveVariable: (variable: string) => Promise<unknown> }} context
 */
const paramsOf =
  ({ resolveVariable }) =>
  /** @param {string} name */
  (name) =>
    resolveVariable(`param:${name}, ''`);

/**
 * Alarm thresholds: how much of a metric is still normal. Integers, so a typo cannot become NaN. Apart from
 * the other settings, so that the alarms report only their own params' mistakes.
 * @param {{ resolveVariable: (variable: string) => Promise<unknown> }} context
 */
async function resolveAlarmThresholds(context) {
  const param = paramsOf(context);
  /**
   * @param {string} name
   * @param {number} min
   * @param {number} max
   */
  const threshold = async (name, min, max) => parseInteger(name, await param(name), min, max);
  return {
    lambdaErrorsAlarmThreshold: await threshold('lambdaErrorsAlarmThreshold', 0, 100_000),
    lambdaThrottlesAlarmThreshold: await threshold('lambdaThrottlesAlarmThreshold', 0, 100_000),
    // p99 duration as a share of the function's timeout; 100 would only fire on timeouts themselves.
    lambdaDurationAlarmPercent: await threshold('lambdaDurationAlarmPercent', 1, 100),
    requestsQueueMaxAgeSeconds: await threshold('requestsQueueMaxAgeSeconds', 60, 1_209_600),
    trackingQueueMaxAgeSeconds: await threshold('trackingQueueMaxAgeSeconds', 60, 1_209_600),
    deadLettersAlarmThreshold: await threshold('deadLettersAlarmThreshold', 0, 100_000),
    failedDecisionsAlarmThreshold: await threshold('failedDecisionsAlarmThreshold', 0, 100_000),
    anyFailedDecisionsAlarmThreshold: await threshold('anyFailedDecisionsAlarmThreshold', 0, 100_000),
  };
}

/**
 * @param {{ resolveVariable: (variable: string) => Promise<unknown> }} context
 */
async function resolveSettings(context) {
  const param = paramsOf(context);
  return {
    allowedDomains: parseAllowedDomains(await param('allowedDomains')),
    ...parseAttempts(await param('maxAttempts'), await param('maxReceiveCount')),
    retryBudgetSeconds: parseInteger(
      'retryBudgetSeconds',
      await param('retryBudgetSeconds'),
      60,
      MAX_RETRY_BUDGET_SECONDS,
    ),
    idempotencyTtlSeconds: parseInteger(
      'idempotencyTtlSeconds',
      await param('idempotencyTtlSeconds'),
      1,
      MAX_IDEMPOTENCY_TTL_SECONDS,
    ),
    trackingDeadlineSeconds: parseInteger(
      'trackingDeadlineSeconds',
      await param('trackingDeadlineSeconds'),
      1,
      MAX_TRACKING_DEADLINE_SECONDS,
    ),
    pluginTrackingDeadlineSeconds: parseInteger(
      'pluginTrackingDeadlineSeconds',
      await param('pluginTrackingDeadlineSeconds'),
      1,
      MAX_TRACKING_DEADLINE_SECONDS,
    ),
    // osls checks this against the retention periods CloudWatch Logs accepts, but only as a number.
    logRetentionInDays: parseInteger('logRetentionInDays', await param('logRetentionInDays'), 1, 3653),
    existingEventBusArn: parseOptionalArn(
      'existingEventBusArn',
      await param('existingEventBusArn'),
      EVENT_BUS_ARN,
      'an EventBridge event bus ARN',
    ),
    alarmTopicArn: parseOptionalArn(
      'alarmTopicArn',
      await param('alarmTopicArn'),
      SNS_TOPIC_ARN,
      'an SNS topic ARN',
    ),
    ...(await resolveAlarmThresholds(context)),
  };
}

module.exports = {
  settings: resolveSettings,
  alarmThresholds: resolveAlarmThresholds,
  parseAllowedDomains,
  parseInteger,
  parseAttempts,
  parseOptionalArn,
  splitList,
  InvalidParameterError,
};
