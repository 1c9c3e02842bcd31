/**
 * `npm run soak`: drives a few thousand requests through the local stack under injected faults, reconciles
 * what came out with what went in, prints the table, records it in docs/RELIABILITY.md and exits non-zero
 * when an invariant broke (a request lost, or announced twice).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { formatReport, withSoakSection } from './report.ts';
import { DEFAULT_FAULTS, runSoak, type SoakOptions, scaleFaults } from './run.ts';
import { PACKAGES_PER_DOMAIN } from './workload.ts';

const DOCUMENT = 'docs/RELIABILITY.md';

const integer = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('must be an integer');
  return parsed;
};
const factor = (value: string) => {
  const parsed = Number(value);
  if (!(parsed >= 0)) throw new InvalidArgumentError('must be a number >= 0');
  return parsed;
};
const rate = (value: string) => {
  const parsed = Number(value);
  if (!(parsed >= 0 && parsed < 0.5)) throw new InvalidArgumentError('must be a number from 0 to 0.5');
  return parsed;
};

const program = new Command('soak')
  .description('Soak test of the local stack under faults: no request lost, none announced twice.')
  .option('--requests <n>', 'messages to send, duplicates included', integer, 2000)
  .option('--seed <s>', 'seed of the workload and of every fault generator', integer, 1)
  .option('--duplicates <rate>', 'share of messages that resend an earlier request', rate, 0.2)
  .option('--invalid <rate>', 'share of messages with an invalid body', rate, 0.1)
  .option('--fault-scale <factor>', 'multiply every fault rate (each capped at 0.9)', factor, 1)
  .option('--rate <n>', 'messages sent per second', integer, 40)
  .option(
    '--packages-per-domain <n>',
    'valid requests per domain (up to 15): more make requests of one domain share operations',
    integer,
    PACKAGES_PER_DOMAIN,
  )
  .option(
    '--drain-timeout <seconds>',
    'how long to wait for the queues to drain after the last send',
    integer,
    300,
  )
  .option('--no-write', `print the report without writing ${DOCUMENT}`)
  .parse();

const flags = program.opts<{
  requests: number;
  seed: number;
  duplicates: number;
  invalid: number;
  rate: number;
  packagesPerDomain: number;
  faultScale: number;
  drainTimeout: number;
  write: boolean;
}>();

const options: SoakOptions = {
  messages: flags.requests,
  seed: flags.seed,
  duplicateRate: flags.duplicates,
  invalidRate: flags.invalid,
  packagesPerDomain: flags.packagesPerDomain,
  faults: scaleFaults(DEFAULT_FAULTS, flags.faultScale),
  sendRatePerSecond: flags.rate,
  drainTimeoutMs: flags.drainTimeout * 1000,
  onProgress: (progress) => {
    const queued = Object.entries(progress.queued)
      .filter(([, depth]) => depth > 0)
      .map(([name, depth]) => `${name.replace('package-associator-', '')} ${depth}`)
      .join(', ');
    console.error(
      `[soak ${(progress.elapsedMs / 1000).toFixed(0)} s] sent ${progress.sent}/${progress.toSend}, ended ${progress.ended}, queued: ${queued || 'none'}`,
    );
  },
};

console.error(`soak: ${options.messages} messages, seed ${options.seed}; this takes a few minutes`);
const result = await runSoak(options);
const report = formatReport(result, options);
console.log(report);
if (result.suspects.length > 0) {
  console.error('soak: the ledger records of the requests above', JSON.stringify(result.suspects, null, 2));
}
if (flags.write) {
  mkdirSync(dirname(DOCUMENT), { recursive: true });
  const existing = existsSync(DOCUMENT) ? readFileSync(DOCUMENT, 'utf8') : undefined;
  writeFileSync(DOCUMENT, withSoakSection(existing, report));
  console.error(`soak: written to ${DOCUMENT}`);
}
process.exitCode = result.reconciliation.violations.length === 0 ? 0 : 1;
