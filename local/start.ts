#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { LOCAL_NAMES, LOCAL_REGION, startLocalStack } from './stack.ts';

const USAGE = `Usage: npm start -- [--port 4566] [--data-dir .local-data] [--quiet]
                 [--association-delay-ms 3000] [--plugin-association-delay-ms 30000]
                 [--package-copy-ms 1000] [--package-validation-ms 2000] [--rate-limit 10]
                 [--window-seconds 86400] [--retry-budget-seconds 3600] [--deadline-seconds 1800]
                 [--plugin-deadline-seconds 21600]

Runs the whole service on this machine: SQS, DynamoDB, the OpenSearch packages API and EventBridge behind one
endpoint, and the two Lambda handlers fed by their queues. Ctrl-C stops everything.
  --port                         edge port (default: $LOCAL_STACK_PORT or 4566)
  --data-dir                     keep queues and the request ledger in this folder instead of memory
  --association-delay-ms         how long a dictionary stays ASSOCIATING or DISSOCIATING (default 3000)
  --plugin-association-delay-ms  how long a plugin's blue/green deployment runs, the domain processing
                                 (default 30000; hours on AWS)
  --package-copy-ms              how long a created or updated package stays COPYING (default 1000)
  --package-validation-ms        and then VALIDATING (default 2000)
  --rate-limit                   throttle the OpenSearch API past this many calls/s for the account, answering
                                 ThrottlingException (HTTP 400) as AWS does (default: no limit)
  --window-seconds               how long a decided request stays a duplicate (IDEMPOTENCY_TTL_SECONDS, default 86400)
  --retry-budget-seconds         how long transient failures are retried (RETRY_BUDGET_SECONDS, default 3600)
  --deadline-seconds             how long a dictionary's operation may run (TRACKING_DEADLINE_SECONDS, default 1800)
  --plugin-deadline-seconds      how long a plugin's, licence's or plugin config's operation may run
                                 (PLUGIN_TRACKING_DEADLINE_SECONDS, default 21600)
  --quiet                        no line per Lambda invocation

Short settings let a run cross a window, a budget or a deadline in seconds.`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

let values: ReturnType<typeof parseArgs<{ options: typeof optionSpec }>>['values'];
const optionSpec = {
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  'association-delay-ms': { type: 'string' },
  'plugin-association-delay-ms': { type: 'string' },
  'package-copy-ms': { type: 'string' },
  'package-validation-ms': { type: 'string' },
  'rate-limit': { type: 'string' },
  'window-seconds': { type: 'string' },
  'retry-budget-seconds': { type: 'string' },
  'deadline-seconds': { type: 'string' },
  'plugin-deadline-seconds': { type: 'string' },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;
try {
  ({ values } = parseArgs({ options: optionSpec, strict: true }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const wholeNumber = (flag: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) fail(`--${flag} must be a whole number, got "${value}"`);
  return parsed;
};

/** The functions' settings a flag names, as the environment variables the handlers read. */
const FUNCTION_SETTINGS = {
  'window-seconds': 'IDEMPOTENCY_TTL_SECONDS',
  'retry-budget-seconds': 'RETRY_BUDGET_SECONDS',
  'deadline-seconds': 'TRACKING_DEADLINE_SECONDS',
  'plugin-deadline-seconds': 'PLUGIN_TRACKING_DEADLINE_SECONDS',
} as const;
const handlerEnvironment: Record<string, string> = {};
for (const [flag, variable] of Object.entries(FUNCTION_SETTINGS)) {
  const value = values[flag as keyof typeof FUNCTION_SETTINGS];
  if (value === undefined) continue;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1)
    fail(`--${flag} must be a whole number of seconds, got "${value}"`);
  handlerEnvironment[variable] = value;
}

/** The one-line reason a port cannot be listened on, or undefined for any other failure. */
function portProblem(error: unknown, port: number): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return `npm start: port ${port} is already in use (another npm start?); stop it or pick another with --port`;
  }
  if (code === 'EACCES') return `npm start: not allowed to listen on port ${port}; pick another with --port`;
  return undefined;
}

/** Calls per second, fractions allowed (0.5: one call every two seconds). */
function rateLimit(value: string | undefined): { callsPerSecond: number } | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || parsed <= 0 || parsed > 10_000)
    fail(`--rate-limit must be a number of calls per second above 0 and at most 10000, got "${value}"`);
  return { callsPerSecond: parsed };
}
const openSearchRateLimit = rateLimit(values['rate-limit']);

const port = wholeNumber('port', values.port ?? process.env.LOCAL_STACK_PORT, 4566);
const started = performance.now();
const stack = await startLocalStack({
  port,
  associationDelayMs: wholeNumber('association-delay-ms', values['association-delay-ms'], 3000),
  pluginAssociationDelayMs: wholeNumber(
    'plugin-association-delay-ms',
    values['plugin-association-delay-ms'],
    30_000,
  ),
  packageCopyMs: wholeNumber('package-copy-ms', values['package-copy-ms'], 1000),
  packageValidationMs: wholeNumber('package-validation-ms', values['package-validation-ms'], 2000),
  // The handlers' DynamoDB calls take the fault route, so rules set at /_emulator/dynamodb/faults reach them.
  dynamoDbFaults: [],
  handlerEnvironment,
  // Without this a rule pointing at a queue that does not exist would drop events without a word.
  onEventDeliveryError: (error, target, envelope) =>
    console.error(
      `event ${envelope.id} not delivered: rule ${target.rule} target ${target.targetId} (${target.queueArn}): ${error instanceof Error ? error.message : String(error)}`,
    ),
  ...(values['data-dir'] !== undefined && { dataDir: values['data-dir'] }),
  ...(openSearchRateLimit !== undefined && { openSearchRateLimit }),
  ...(!values.quiet && {
    onInvoke: (report) => {
      const failed = report.failedMessageIds.length > 0 ? `, ${report.failedMessageIds.length} to retry` : '';
      const cold = report.coldStart ? ` (cold start ${Math.round(report.initDurationMs ?? 0)} ms)` : '';
      console.log(
        `λ ${report.functionName.replace('package-associator-local-', '')}: ${report.batchSize} record(s), ` +
          `${report.outcome}${failed}, ${Math.round(report.durationMs)} ms${cold}`,
      );
    },
  }),
}).catch((error: unknown) => {
  // startLocalStack has stopped what it started; a busy port is the user's to fix, not a crash to debug.
  const problem = portProblem(error, port);
  if (problem === undefined) throw error;
  console.error(problem);
  process.exit(1);
});

const cli = `AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=${LOCAL_REGION} aws --endpoint-url ${stack.endpoint}`;
const sample = JSON.stringify({ domainName: 'catalog-search', packageId: 'F111111111', requestedBy: 'me' });
console.log(`
opensearch-package-associator local stack ready in ${((performance.now() - started) / 1000).toFixed(1)} s

  endpoint        ${stack.endpoint}   (the AWS CLI needs --endpoint-url; SDKs read AWS_ENDPOINT_URL too)
  requests queue  ${stack.queueUrls.requests}
  requests DLQ    ${stack.queueUrls.requestsDlq}
  tracking queue  ${stack.queueUrls.tracking}
  events queue    ${stack.queueUrls.events}   (rule ${LOCAL_NAMES.eventsRule}: every event of the service on bus ${stack.busName})
  ledger          ${stack.tableName}
  allowed domains catalog-search, orders-*  (hr-private is seeded but not allowed)${
    openSearchRateLimit === undefined
      ? ''
      : `\n  rate limit      ${openSearchRateLimit.callsPerSecond} OpenSearch calls/s (curl ${stack.endpoint}/_emulator/opensearch/call-counts)`
  }

Send a request:
  ${cli} sqs send-message --queue-url ${stack.queueUrls.requests} --message-body '${sample}'
Read the events:
  ${cli} sqs receive-message --queue-url ${stack.queueUrls.events} --max-number-of-messages 10 --wait-time-seconds 20

Inject faults (README, "Fault injection"):
  curl ${stack.endpoint}/_emulator/{opensearch,events,dynamodb,lambda}/faults

Ctrl-C stops everything.
`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the local stack…`);
  await stack.stop();
  console.log('stopped; every port is free again.');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
