/**
 * Packages serverless.yml once per parameter set and runs cfn-lint on each template a deploy would upload
 * (`cloudformation-template-update-stack.json`). `.ci/run` calls it when cfn-lint is on PATH.
 *
 *   node scripts/lint-templates.ts [deploy/<name>.params.json ...]
 *
 * Without arguments: deploy/minimal.params.json (the defaults plus the one required param) and
 * deploy/production.params.json (named producers, key-access roles, an alarm topic, an existing bus).
 * Exits 1 if packaging or cfn-lint fails for any set; cfn-lint fails on errors and on warnings.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const DEFAULT_SETS = ['deploy/minimal.params.json', 'deploy/production.params.json'];

/** `{ "allowedDomains": "a-*" }` -> `["--param=allowedDomains=a-*"]`. */
export function paramArguments(path: string): string[] {
  const params = JSON.parse(readFileSync(join(root, path), 'utf8')) as Record<string, unknown>;
  return Object.entries(params).map(([key, value]) => {
    if (typeof value !== 'string') throw new Error(`${path}: param "${key}" must be a string`);
    return `--param=${key}=${value}`;
  });
}

function lint(path: string): number {
  const outputDir = mkdtempSync(join(tmpdir(), `package-associator-${basename(path, '.params.json')}-`));
  try {
    // Outside the project: osls copies .serverless/ into --package, so a folder inside it would nest itself.
    const packaged = spawnSync(
      join(root, 'node_modules', '.bin', 'osls'),
      ['package', '--package', outputDir, ...paramArguments(path)],
      { cwd: root, encoding: 'utf8' },
    );
    if (packaged.status !== 0) {
      process.stderr.write(`${packaged.stdout}${packaged.stderr}`);
      console.log(`osls package with ${path}: exit ${packaged.status}`);
      return packaged.status ?? 1;
    }
    const template = join(outputDir, 'cloudformation-template-update-stack.json');
    const linted = spawnSync('cfn-lint', [template], { encoding: 'utf8' });
    process.stdout.write(linted.stdout);
    process.stderr.write(linted.stderr);
    console.log(`cfn-lint ${basename(template)} with ${path}: exit ${linted.status}`);
    return linted.status ?? 1;
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const sets = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_SETS;
  const failed = sets.filter((path) => lint(path) !== 0);
  if (failed.length > 0) {
    console.log(`packaging or cfn-lint failed for ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}
