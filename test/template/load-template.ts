/**
 * Packages the service with `npm run package` (osls + serverless-esbuild, no AWS account needed) and reads
 * the CloudFormation template it writes. Every call packages the current serverless.yml again, in a project
 * folder of its own (links to this project's files), because serverless-esbuild writes its zips into
 * `.serverless/` beside serverless.yml whatever `--package` says: test files packaging in parallel from one
 * folder would delete each other's zips.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Bundling both handlers with the whole AWS SDK takes a while on a cold machine. */
export const PACKAGE_TIMEOUT_MS = 110_000;

/** A `beforeAll` that packages the service (in parallel, each run in its own folders): bundling dominates. */
export const PACKAGING_HOOK_TIMEOUT_MS = 120_000;

/** An IAM, queue or bus policy statement, as the template holds it. */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

export interface CloudFormationTemplate {
  Resources: Record<string, CfnResource>;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, { Value: unknown }>;
}

export interface PackageOptions {
  /** Passed as `--param="<key>=<value>"`, overriding the defaults in serverless.yml. */
  params?: Record<string, string>;
}

export interface PackageRun {
  exitCode: number;
  /** stdout and stderr of osls, interleaved. */
  output: string;
  /** Where osls wrote the template and the function zips. */
  outputDir: string;
  /** The temporary project folder holding `outputDir`; the caller removes it (its links, not their targets). */
  workDir: string;
}

/** A parameter set of deploy/, as `--param` values: `deploy/<name>.params.json`. */
export function paramsFile(name: string): Record<string, string> {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, 'deploy', `${name}.params.json`), 'utf8'));
}

/** The defaults plus the one param without a default (allowedDomains). */
export const MINIMAL_PARAMS = paramsFile('minimal');
/** The production parameter set, the README's example (deploy/production.params.json). */
export const PRODUCTION_PARAMS = paramsFile('production');

/** What packaging reads: the service definition, its deploy helpers, the code and the toolchain. */
const LINKED_ENTRIES = ['deploy', 'src', 'package.json', 'tsconfig.json', 'node_modules'];

export class PackagingError extends Error {
  override name = 'PackagingError';
}

export class MissingResourceError extends Error {
  override name = 'MissingResourceError';
}

/** Runs `npm run package`; resolves with the exit code instead of throwing, so failures can be asserted. */
export async function runPackage(options: PackageOptions = {}): Promise<PackageRun> {
  const projectDir = await mkdtemp(join(tmpdir(), 'package-associator-template-'));
  // osls refuses a serverless.yml that is a link, so that one file is copied.
  await copyFile(join(PROJECT_ROOT, 'serverless.yml'), join(projectDir, 'serverless.yml'));
  for (const entry of LINKED_ENTRIES) await symlink(join(PROJECT_ROOT, entry), join(projectDir, entry));
  const outputDir = join(projectDir, '.serverless');
  const params = Object.entries(options.params ?? {}).map(([key, value]) => `--param=${key}=${value}`);
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'package', '--', ...params], {
      cwd: projectDir,
      // serverless.yml reads PACKAGE_WORK_FOLDER; serverless-esbuild deletes its work folder when done.
      env: { ...process.env, PACKAGE_WORK_FOLDER: join('.esbuild', randomUUID()) },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: PACKAGE_TIMEOUT_MS,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? 1, output, outputDir, workDir: projectDir }));
  });
}

/** Packages the service and returns `cloudformation-template-update-stack.json` (what a deploy uploads). */
export async function loadTemplate(options: PackageOptions = {}): Promise<CloudFormationTemplate> {
  const run = await runPackage(options);
  try {
    if (run.exitCode !== 0) {
      throw new PackagingError(`npm run package exited with ${run.exitCode}:\n${run.output}`);
    }
    const text = await readFile(join(run.outputDir, 'cloudformation-template-update-stack.json'), 'utf8');
    return JSON.parse(text) as CloudFormationTemplate;
  } finally {
    await rm(run.workDir, { recursive: true, force: true });
  }
}

/** The resources of one CloudFormation type, keyed by logical id. */
export function resourcesOfType(template: CloudFormationTemplate, type: string): Record<string, CfnResource> {
  return Object.fromEntries(
    Object.entries(template.Resources).filter(([, resource]) => resource.Type === type),
  );
}

/** The resource with this logical id; throws naming it when it is missing, for readable test failures. */
export function resource(template: CloudFormationTemplate, logicalId: string): CfnResource {
  const found = template.Resources[logicalId];
  if (!found) {
    throw new MissingResourceError(`the template has no resource "${logicalId}"`);
  }
  return found;
}
