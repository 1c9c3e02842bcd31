/** The command line of `associator`: flags and subcommands only; the work is in ./commands. */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import type { CommandContext } from './commands/context.ts';
import { type CliIo, describeError, EXIT, type ExitCode, OperationError, UsageError } from './io.ts';
import {
  endpointNotice,
  LOCAL_DEFAULT_ENDPOINT,
  LOCAL_QUEUE_NAMES,
  LOCAL_TABLE_NAME,
  QUEUE_URL_ENV,
  resolveTarget,
  TABLE_ENV,
} from './targets.ts';

interface GlobalOptions {
  local?: boolean;
  region?: string;
  endpoint?: string;
  stage?: string;
}

const HELP_FOOTER = `
Targets:
  AWS by default (the SDK's credential and region chain). --local, --endpoint URL or AWS_ENDPOINT_URL means
  the local stack at that URL (default ${LOCAL_DEFAULT_ENDPOINT}; AWS_ENDPOINT_URL_SQS, _DYNAMODB,
  _OPENSEARCH and _EVENTBRIDGE override it per service), with the queues ${LOCAL_QUEUE_NAMES.requests}, ...
  and the table ${LOCAL_TABLE_NAME}; a line on stderr says so. On AWS, --stage S finds the queues, the
  table and the bus that \`osls deploy --stage S\` created, by the names serverless.yml gives them; flags,
  or ${QUEUE_URL_ENV.requests}, ${QUEUE_URL_ENV.requestsDlq}, ${QUEUE_URL_ENV.tracking},
  ${QUEUE_URL_ENV.trackingDlq}, ${QUEUE_URL_ENV.events} and ${TABLE_ENV}, name them one by one.
  \`events\` on AWS follows through a temporary queue and rule on the bus, removed when it exits.

Exit codes:
  0 done, 1 the operation failed (a request refused or not sent, an AWS error, nothing found), 2 usage error.

Examples:
  associator --stage prod --region eu-west-1 events
  associator --stage prod --region eu-west-1 dlq redrive --reason RetriesExhausted --as-new
  associator --local send --domain orders-logs --package F222222222 --idempotency-key demo-1
  associator --local send --jsonl requests.jsonl
  associator --local events --follow
  associator --local dlq list
  associator --local dlq redrive --reason RetriesExhausted
  associator --local status --key demo-1 --domain orders-logs --package F222222222
  associator --local send --dissociate --domain orders-logs --package F222222222
  associator --local packages
  associator --local rollout --package F111111111 --domains 'search-eu-*' --key eu-v3 --follow
  associator --local status --rollout eu-v3
  associator --local drift --package F111111111
`;

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError('must be a whole number above 0');
  return parsed;
}

/** SQS long polls wait 0 to 20 seconds. */
function waitSeconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 20) {
    throw new InvalidArgumentError('must be a whole number of seconds from 0 to 20');
  }
  return parsed;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The option attribute names of the flags that describe one request. */
const REQUEST_FIELD_OPTIONS = [
  'domain',
  'package',
  'dissociate',
  'packageVersion',
  'prerequisite',
  'idempotencyKey',
  'correlationId',
  'requestedBy',
];

function queueOptions(command: Command, urlFlag: string, nameFlag: string, what: string): Command {
  const nameAttribute = nameFlag
    .replace(/^--/, '')
    .replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
  return command
    .addOption(new Option(`${urlFlag} <url>`, `URL of the ${what} queue`).conflicts(nameAttribute))
    .option(`${nameFlag} <name>`, `name of the ${what} queue (looked up with GetQueueUrl)`);
}

function dlqOptions(command: Command): Command {
  queueOptions(command, '--dlq-url', '--dlq-name', 'dead-letter');
  return command
    .option('--tracking', "the tracking queue's DLQ (status checks) instead of the requests DLQ")
    .option('--max <n>', 'look at no more than n messages', positiveInteger)
    .option('--wait <seconds>', 'long-poll seconds per receive', waitSeconds, 1);
}

/**
 * Builds the program; `report` receives each command's exit code. Usage errors surface as CommanderError
 * (exitOverride), so nothing here ever calls process.exit.
 */
export function buildProgram(io: CliIo, report: (code: ExitCode) => void): Command {
  const program = new Command('associator')
    .description('Send package association requests, watch their events, and look after their dead letters.')
    .version(packageJson.version)
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
    })
    .option('--local', 'use the local stack (implied when AWS_ENDPOINT_URL is set)')
    .option('--endpoint <url>', 'send every call to this URL (a local stack), as AWS_ENDPOINT_URL does')
    .option(
      '--stage <stage>',
      "the deployed stage whose queues, table and bus to use (serverless.yml's names)",
    )
    .option('--region <region>', 'AWS region (default: the SDK chain; us-east-1 locally)')
    .addHelpText('after', HELP_FOOTER);

  type Run<T> = (options: T, context: CommandContext) => Promise<ExitCode>;

  /** Commands load on use, so `--help` and usage errors answer without loading every AWS client. */
  function action<T>(load: () => Promise<Run<T>>) {
    return async (options: T, command: Command) => {
      try {
        const globals = command.optsWithGlobals<GlobalOptions>();
        const stage =
          globals.stage === undefined
            ? undefined
            : (await import('./stage.ts')).stageResources(globals.stage);
        const context: CommandContext = { io, target: resolveTarget(globals, io.env, stage) };
        const notice = endpointNotice(context.target);
        if (notice !== undefined) io.err(notice);
        const run = await load();
        report(await run(options, context));
      } catch (error) {
        if (error instanceof UsageError) {
          command.error(`error: ${error.message}`, { exitCode: EXIT.usage, code: 'associator.usage' });
        }
        throw error;
      }
    };
  }

  const send = program
    .command('send')
    .description('send one request (from flags or --file) or many (--jsonl), each checked first')
    .option('--domain <name>', 'the domain to associate the package with (or dissociate it from)')
    .option('--package <id>', 'the package id (F123…, G123… or pkg-…)')
    .addOption(
      new Option('--dissociate', 'ask for the package to be dissociated from the domain instead').conflicts([
        'packageVersion',
        'prerequisite',
      ]),
    )
    // Not `--version`: Commander reads the program's own options after the subcommand too (that is what lets
    // `send --local` work), so `send --version` would print the CLI's version.
    .option('--package-version <version>', 'associate this version (e.g. v7; default: the available one)')
    .option('--prerequisite <id>', 'a prerequisite package id (repeat for more)', collect)
    .option('--idempotency-key <key>', 'the request key (default: the SQS message id)')
    .option('--correlation-id <id>', 'carried into every log line and event (default: the key)')
    .option('--requested-by <who>', 'who asked, for the audit trail')
    .addOption(
      new Option('--file <path>', 'send the JSON request in this file').conflicts([
        ...REQUEST_FIELD_OPTIONS,
        'jsonl',
      ]),
    )
    .addOption(
      new Option('--jsonl <path>', 'send every line of this JSON-lines file, 10 per batch').conflicts(
        REQUEST_FIELD_OPTIONS,
      ),
    )
    .option('--no-validate', 'send as is, without checking (to watch the service dead-letter bad requests)')
    .option('--json', 'print one JSON line per sent message');
  queueOptions(send, '--queue-url', '--queue-name', 'requests').action(
    action(async () => (await import('./commands/send.ts')).runSend),
  );

  const events = program
    .command('events')
    .description('print the events on the subscriber queue, then delete them (unless --peek)')
    .option('--json', 'print each EventBridge envelope as one JSON line')
    .option('-f, --follow', 'keep waiting for new events until Ctrl-C')
    .option('--peek', 'leave the events on the queue')
    .option('--max <n>', 'stop after n events', positiveInteger)
    .option('--wait <seconds>', 'long-poll seconds per receive while draining', waitSeconds, 1)
    .option(
      '--event-bus <name-or-arn>',
      "follow this bus through a temporary rule (default: the --stage's bus)",
    )
    .option('--event-source <source>', "the events' Source the rule matches (default: the stage's)");
  queueOptions(events, '--events-queue-url', '--events-queue-name', 'events subscriber').action(
    action(async () => (await import('./commands/events.ts')).runEvents),
  );

  const dlq = program.command('dlq').description('list or redrive dead letters');
  const list = dlq
    .command('list')
    .description('show the dead letters with their reasons, leaving them on the queue')
    .option('--json', 'print one JSON object per dead letter');
  dlqOptions(list).action(action(async () => (await import('./commands/dlq.ts')).runDlqList));
  const redrive = dlq
    .command('redrive')
    .description('send dead letters, body unchanged, back to their source queue and delete them from the DLQ')
    .option('--reason <code>', 'only dead letters with this ReasonCode (repeat for more)', collect)
    .option('--as-new', 'give each request a new idempotency key, <old key>:redrive-<n>, so it runs again')
    .addHelpText(
      'after',
      '\nA request that was decided (its failure included) stays a silent duplicate until its idempotency window\n' +
        'ends; `associator status --key <key>` shows when. --as-new sends it as a new request instead: its key\n' +
        'becomes <key>:redrive-1 (the same however often that dead letter is redriven), its correlation id stays.',
    );
  dlqOptions(redrive);
  queueOptions(redrive, '--queue-url', '--queue-name', 'source').action(
    action(async () => (await import('./commands/dlq.ts')).runDlqRedrive),
  );

  program
    .command('packages')
    .description(
      'the packages, their available version and status, and the domains holding each at which version',
    )
    .option('--package <id>', 'only this package (repeat for more)', collect)
    .option('--json', 'print one JSON object per package')
    .action(action(async () => (await import('./commands/packages.ts')).runPackages));

  const rollout = program
    .command('rollout')
    .description('put one package version on many domains, in waves that stop on failure; --follow to watch')
    .requiredOption('--package <id>', 'the package id (F123…, G123… or pkg-…)')
    // Not `--version`, as for send: the program's own --version would answer it.
    .option('--package-version <version>', 'this version (e.g. v7; default: the available one at acceptance)')
    .requiredOption(
      '--domains <names>',
      'domain names and prefix* patterns, comma-separated (repeat for more)',
      collect,
    )
    .option('--canary <n>', 'domains in the first wave, alone (default 1)')
    .option('--wave-size <n>', 'domains per later wave (default 5)')
    .option('--max-failures <n>', 'failed domains tolerated before the rollout halts (default 0)')
    .option('--key <key>', "the rollout's idempotency key (default: the SQS message id)")
    .option('--correlation-id <id>', 'carried into every child request and event (default: the key)')
    .option('--requested-by <who>', 'who asked, for the audit trail')
    .option('-f, --follow', 'watch its waves and domains until it is COMPLETED (exit 0) or HALTED (exit 1)')
    .option('--json', 'print one JSON object per change')
    .option('--table <name>', 'the ledger table (for --follow)');
  queueOptions(rollout, '--queue-url', '--queue-name', 'requests').action(
    action(async () => (await import('./commands/rollout.ts')).runRollout),
  );

  program
    .command('drift')
    .description(
      "every domain holding a package, at the package's available version (current), an older one (behind) or neither",
    )
    .requiredOption('--package <id>', 'the package (repeat for more)', collect)
    .option('--json', 'print one JSON object per package')
    .action(action(async () => (await import('./commands/drift.ts')).runDrift));

  program
    .command('status')
    .description('what a domain reports for a package, and how far a request got (its record in the ledger)')
    .option('--domain <name>', 'list the packages on this domain (ListPackagesForDomain)')
    .option('--package <id>', 'only this package (needs --domain)')
    .option(
      '--key <idempotency-key>',
      "the request's record in the ledger: state, lease, decision, pending sends",
    )
    .option('--message <message-id>', "a rejected message's record in the ledger (by its SQS message id)")
    .option(
      '--rollout <key>',
      "a rollout's record in the ledger: state, target, strategy, waves and domains, pending sends",
    )
    .option('--table <name>', 'the ledger table')
    .option('--json', 'print JSON lines')
    .action(action(async () => (await import('./commands/status.ts')).runStatus));

  return program;
}

/** Runs one command line (without the `node main.ts` part) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    // Commander has already printed the problem and the usage; --help and --version exit with 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    io.err(`error: ${error instanceof OperationError ? error.message : describeError(error)}`);
    return EXIT.failed;
  }
}
