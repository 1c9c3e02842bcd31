import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsFor, startTestStack, type TestStack, testSeed } from '../helpers/local-stack.ts';

// The CLI as a user gets it: `npm pack` (which builds dist/), then installed into a project of its own.
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Children get the Node running the tests first on PATH, and none of the npm_* variables `npm test` sets, so
 * the npm they run knows nothing of this repository's project.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'INIT_CWD'),
  );
  return {
    ...env,
    PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

function run(command: string, args: string[], cwd: string, timeout = 120_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: childEnv(), timeout }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

let workDir: string;
let project: string;
let test: TestStack;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'associator-package-'));
  project = join(workDir, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), '{ "name": "uses-associator", "private": true }\n');
  const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  const [packed, stack] = await Promise.all([
    run('npm', ['pack', '--silent', '--pack-destination', workDir], repoRoot),
    startTestStack({ seed: testSeed(1, 1) }),
  ]);
  test = stack;
  if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const tarball = join(workDir, `${manifest.name}-${manifest.version}.tgz`);
  const installed = await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball],
    project,
  );
  if (installed.code !== 0) throw new Error(`npm install failed: ${installed.stderr}`);
}, 180_000);

afterAll(async () => {
  await test?.stop();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

const associator = (...args: string[]) =>
  run('npx', ['--no-install', 'associator', ...args], project, 30_000);

describe('the packed CLI, installed in another project', () => {
  it('holds only the build, the launcher and the licence: no sources, tests or tools', async () => {
    const root = join(project, 'node_modules', 'opensearch-package-associator');
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;

    expect(manifest).toMatchObject({ license: 'MIT', bin: { associator: 'bin/associator.js' } });
    expect(manifest.private).toBeUndefined();
    await expect(readFile(join(root, 'LICENSE'), 'utf8')).resolves.toContain(
      'Copyright (c) 2026 opensearch-package-associator contributors',
    );
    expect(existsSync(join(root, 'dist/cli/main.js'))).toBe(true);
    for (const absent of [
      'cli',
      'src',
      'test',
      'tools',
      'local',
      'dist/test',
      'dist/tools',
      'dist/local/stack.js',
    ]) {
      expect(existsSync(join(root, absent)), absent).toBe(false);
    }
  });

  it('answers --help with no warning at all', async () => {
    const result = await associator('--help');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: associator');
    expect(result.stderr).toBe('');
  });

  it('sends a request the local stack takes up, then shows its ledger record', async () => {
    const endpoint = test.stack.endpoint;

    const sent = await associator(
      '--endpoint',
      endpoint,
      'send',
      '--domain',
      'orders-1',
      '--package',
      'F9001',
      '--idempotency-key',
      'packed-1',
    );

    expect(sent.code).toBe(0);
    expect(sent.stderr).toBe(`associator: using endpoint ${endpoint} (not AWS)\n`);
    expect(sent.stdout).toContain('idempotency key packed-1');
    await test.events.waitFor(
      () =>
        eventsFor(test.events, 'packed-1').find(
          (event) => event['detail-type'] === 'PackageAssociationStarted',
        ),
      20_000,
      'the Started event of packed-1',
    );
    const status = await associator('--endpoint', endpoint, 'status', '--key', 'packed-1');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^request packed-1: (TRACKING|SUCCEEDED)\n {2}asks {10}F9001 on orders-1\n/,
    );
  });
});
