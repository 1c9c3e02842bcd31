import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeedData } from '../../local/opensearch/index.ts';
import { startTestStack, type TestStack, testSeed } from '../helpers/local-stack.ts';

// `associator rollout --follow --json` and `status --rollout` against a running local stack: the service takes
// the rollout up, its children run wave by wave, and the CLI follows the ledger to the end.

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Domains orders-1…4 and dictionaries F9001 and F9002; F9001 fails on orders-1 alone. */
function seed(): SeedData {
  const base = testSeed(4, 2);
  return {
    ...base,
    failures: [
      {
        DomainName: 'orders-1',
        PackageID: 'F9001',
        failAssociation: { ErrorType: 'AssociationFailed', ErrorMessage: 'the analyzer rejects it' },
      },
    ],
  };
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Change {
  change: string;
  [field: string]: unknown;
}

let test: TestStack;

beforeAll(async () => {
  test = await startTestStack({ seed: seed(), associationDelayMs: 300 });
});

afterAll(async () => {
  await test?.stop();
});

/** The CLI in a child Node 24, as a user runs it against `npm start`: one endpoint, nothing else named. */
function cli(...args: string[]): Promise<CliResult> {
  const env = {
    PATH: process.env.PATH ?? '',
    AWS_ENDPOINT_URL: test.stack.endpoint,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'cli/main.ts'), ...args],
      { cwd: repoRoot, env, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const changesOf = (stdout: string): Change[] =>
  stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Change);

/** The wave changes, `RUNNING 0`, `COMPLETED 0`, …: the same sequence however the readings fall. */
const waveSteps = (changes: Change[]) =>
  changes.filter((change) => change.change === 'wave').map((change) => `${change.state} ${change.wave}`);

/** Each domain's last reported change. */
function outcomes(changes: Change[]): Map<unknown, Change> {
  return new Map(
    changes.filter((change) => change.change === 'domain').map((change) => [change.domainName, change]),
  );
}

describe('associator rollout --follow --json', () => {
  it('follows a rollout wave by wave to COMPLETED and exits 0; status --rollout then shows it', async () => {
    const result = await cli(
      'rollout',
      '--package',
      'F9002',
      '--domains',
      'orders-*',
      '--wave-size',
      '2',
      '--key',
      'roll-ok',
      '--follow',
      '--json',
    );

    expect(result.code, result.stderr).toBe(0);
    const changes = changesOf(result.stdout);
    expect(changes[0]).toMatchObject({ change: 'sent', rolloutId: 'roll-ok', messageId: expect.any(String) });
    expect(changes[1]).toMatchObject({
      change: 'started',
      rolloutId: 'roll-ok',
      packageId: 'F9002',
      packageVersion: 'v1',
      strategy: { canary: 1, waveSize: 2, maxFailures: 0 },
      waves: [['orders-1'], ['orders-2', 'orders-3'], ['orders-4']],
    });
    expect(waveSteps(changes)).toEqual([
      'RUNNING 0',
      'COMPLETED 0',
      'RUNNING 1',
      'COMPLETED 1',
      'RUNNING 2',
      'COMPLETED 2',
    ]);
    const ended = outcomes(changes);
    for (const domainName of ['orders-1', 'orders-2', 'orders-3', 'orders-4']) {
      expect(ended.get(domainName)).toMatchObject({
        state: 'SUCCEEDED',
        packageVersion: 'v1',
        elapsedMs: expect.any(Number),
      });
    }
    expect(changes.at(-1)).toMatchObject({
      change: 'decided',
      state: 'COMPLETED',
      counts: { pending: 0, running: 0, succeeded: 4, failed: 0 },
    });
    expect(changes.every((change) => typeof change.at === 'string')).toBe(true);

    const status = await cli('status', '--rollout', 'roll-ok');
    expect(status.code, status.stderr).toBe(0);
    const lines = status.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'rollout roll-ok: COMPLETED',
      '  package       F9002 at v1',
      '  strategy      canary 1, wave size 2, max failures 0',
    ]);
    expect(lines).toContain('  domains       4 succeeded, 0 failed');
    expect(lines).toContain('  wave 1  COMPLETED  2/2 done');
    expect(lines).toContain('    orders-3  SUCCEEDED  v1');

    const json = await cli('status', '--rollout', 'roll-ok', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      kind: 'rollout',
      id: 'rollout#roll-ok',
      rolloutId: 'roll-ok',
      state: 'COMPLETED',
      counts: { succeeded: 4, failed: 0 },
    });
  }, 70_000);

  it('halts when the canary fails, skipping the next wave, and exits 1', async () => {
    const result = await cli(
      'rollout',
      '--package',
      'F9001',
      '--domains',
      'orders-1,orders-2',
      '--domains',
      'orders-3',
      '--key',
      'roll-halt',
      '--follow',
      '--json',
    );

    expect(result.code, result.stderr).toBe(1);
    const changes = changesOf(result.stdout);
    expect(changes[1]).toMatchObject({ change: 'started', waves: [['orders-1'], ['orders-2', 'orders-3']] });
    expect(waveSteps(changes)).toEqual(['RUNNING 0', 'COMPLETED 0', 'SKIPPED 1']);
    expect(outcomes(changes).get('orders-1')).toMatchObject({
      state: 'FAILED',
      code: 'AssociationFailed',
      wave: 0,
    });
    expect(outcomes(changes).has('orders-2')).toBe(false);
    expect(changes.slice(-3).map((change) => change.change)).toEqual(['halting', 'wave', 'decided']);
    expect(changes.at(-1)).toMatchObject({
      state: 'HALTED',
      counts: { pending: 2, running: 0, succeeded: 0, failed: 1 },
    });

    const status = await cli('status', '--rollout', 'roll-halt');
    expect(status.stdout).toContain('rollout roll-halt: HALTED');
    expect(status.stdout).toContain('    orders-1  FAILED     AssociationFailed');
    expect(status.stdout).toContain('  wave 1  SKIPPED  0/2 done');
  }, 70_000);

  it('ends with the reason, exit 1, when the service rejects the rollout', async () => {
    const result = await cli('rollout', '--package', 'F9002', '--domains', 'secret-1', '--follow', '--json');

    expect(result.code).toBe(1);
    const changes = changesOf(result.stdout);
    expect(changes.map((change) => change.change)).toEqual(['sent', 'rejected']);
    expect(changes[1]).toMatchObject({ rolloutId: changes[0]?.rolloutId, reason: 'DomainNotAllowed' });
    expect(result.stderr).toContain('was rejected: DomainNotAllowed');
  }, 30_000);

  it('refuses what the service would reject before sending anything, naming the flag', async () => {
    const result = await cli('rollout', '--package', 'F9002', '--domains', 'orders-*', '--canary', '-1');

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('refused: strategy.canary (--canary): must be 0 to 100');
    expect(result.stdout).toBe('');
  });
});
