/**
 * Compiles the operator CLI (cli/ and the service modules it imports) to JavaScript in dist/, which is what the
 * npm package runs: Node refuses TypeScript under node_modules, and Node 20 has no type stripping at all.
 * dist/ mirrors the checkout, so the CLI's paths to its package files hold in both: tsc copies the
 * package.json the CLI imports (for its version), and serverless.yml, which it reads for a stage's resource
 * names, is copied beside it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
// A module removed from cli/ must not live on in the package.
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
copyFileSync(join(root, 'serverless.yml'), join(dist, 'serverless.yml'));
