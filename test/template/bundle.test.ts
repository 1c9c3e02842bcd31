import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { MINIMAL_PARAMS, PACKAGING_HOOK_TIMEOUT_MS, type PackageRun, runPackage } from './load-template.ts';

const run = promisify(execFile);
const openZip = promisify<string, yauzl.Options, yauzl.ZipFile>(yauzl.open);

const FUNCTIONS = {
  associatePackage: 'src/handlers/associate-package.mjs',
  trackAssociation: 'src/handlers/track-association.mjs',
};

/** What the deployed functions get from the template, with local stand-ins for the resource references. */
const FUNCTION_ENVIRONMENT = {
  EVENT_BUS_NAME: 'package-associator',
  EVENT_SOURCE: 'package-associator',
  DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/requests-dlq',
  REQUESTS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/requests',
  TRACKING_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/tracking',
  TRACKING_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/tracking-dlq',
  LEDGER_TABLE: 'package-associator-ledger',
  ALLOWED_DOMAINS: 'catalog-search,orders-*',
  MAX_ATTEMPTS: '8',
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

/** Writes every file of a function zip under `into` and returns their paths inside the zip. */
async function extract(zipPath: string, into: string): Promise<string[]> {
  const zip = await openZip(zipPath, { lazyEntries: true });
  const names: string[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', resolve);
    zip.on('entry', (entry: yauzl.Entry) => {
      names.push(entry.fileName);
      zip.openReadStream(entry, async (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        const target = join(into, entry.fileName);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, Buffer.concat(chunks));
        zip.readEntry();
      });
    });
    zip.readEntry();
  });
  return names;
}

/** Imports a handler the way the Lambda runtime does: a fresh Node process, only the zip's files on disk. */
async function importHandler(file: string): Promise<string> {
  const script = 'const module = await import(process.argv[1]); process.stdout.write(typeof module.handler);';
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', script, pathToFileURL(file).href],
    {
      env: { PATH: process.env.PATH, ...FUNCTION_ENVIRONMENT },
    },
  );
  return stdout;
}

describe('packaged function code', () => {
  let packaged: PackageRun;
  const extracted = new Map<string, { dir: string; names: string[] }>();

  beforeAll(async () => {
    packaged = await runPackage({ params: MINIMAL_PARAMS });
    if (packaged.exitCode !== 0) throw new Error(`npm run package failed:\n${packaged.output}`);
    for (const name of Object.keys(FUNCTIONS)) {
      const dir = await mkdtemp(join(tmpdir(), `package-associator-${name}-`));
      extracted.set(name, { dir, names: await extract(join(packaged.outputDir, `${name}.zip`), dir) });
    }
  }, PACKAGING_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    for (const { dir } of extracted.values()) await rm(dir, { recursive: true, force: true });
    if (packaged) await rm(packaged.workDir, { recursive: true, force: true });
  });

  it.each(Object.entries(FUNCTIONS))(
    '%s starts from its zip alone, with every chunk it imports',
    async (name, entry) => {
      const unpacked = extracted.get(name);
      expect(unpacked?.names).toContain(entry);
      expect(await importHandler(join(unpacked?.dir ?? '', entry))).toBe('function');
    },
  );

  it.each(Object.entries(FUNCTIONS))("%s does not carry the other function's handler", (name) => {
    const others = Object.entries(FUNCTIONS).filter(([other]) => other !== name);
    for (const [, otherEntry] of others) expect(extracted.get(name)?.names).not.toContain(otherEntry);
  });

  it.each(Object.keys(FUNCTIONS))(
    '%s carries every chunk its code imports, statically or through import()',
    async (name) => {
      const unpacked = extracted.get(name);
      const files = new Set(unpacked?.names);
      const missing: string[] = [];
      let dynamicImports = 0;
      for (const file of unpacked?.names.filter((path) => path.endsWith('.mjs')) ?? []) {
        const code = await readFile(join(unpacked?.dir ?? '', file), 'utf8');
        for (const [match, specifier] of code.matchAll(
          /(?:from\s*|import\s*\(\s*)["'](\.\.?\/[^"']+)["']/g,
        )) {
          if (!/^from/.test(match)) dynamicImports += 1;
          const target = posix.join(posix.dirname(file), specifier ?? '');
          if (!files.has(target)) missing.push(`${file} -> ${specifier}`);
        }
      }
      expect(missing).toEqual([]);
      // The reader saw the on-demand chunks (credential providers, the X-Ray SDK), not just the static graph.
      expect(dynamicImports).toBeGreaterThan(0);
    },
  );

  it('splits code reached only through import() into chunks of its own', () => {
    const names = extracted.get('associatePackage')?.names ?? [];
    const chunks = names.filter((file) => file.endsWith('.mjs') && !Object.values(FUNCTIONS).includes(file));
    expect(chunks.length).toBeGreaterThan(1);
  });
});
