import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { loadServerlessConfig } from '../../../local/serverless-config.ts';

/**
 * Keys of `custom.esbuild` that serverless-esbuild consumes itself; every other key goes to esbuild as is
 * (https://github.com/floydspace/serverless-esbuild#options).
 */
const PLUGIN_ONLY_KEYS = new Set([
  'concurrency',
  'disableIncremental',
  'exclude',
  'installExtraArgs',
  'keepOutputDirectory',
  'nativeZip',
  'outputBuildFolder',
  'outputFileExtension',
  'outputWorkFolder',
  'packager',
  'packagePath',
  'packagerOptions',
  'skipBuild',
  'skipBuildExcludeFns',
  'skipRebuild',
  'stripEntryResolveExtensions',
  'watch',
  'zipConcurrency',
]);

export interface ServerlessBuild {
  esbuild: BuildOptions;
  /** `provider.environment` values that are plain strings (the ones a bench can reproduce). */
  environment: Record<string, string>;
  memorySizes: Record<string, number>;
  /** Each function's SQS event `maximumConcurrency`. */
  maximumConcurrency: Record<string, number>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The esbuild options serverless-esbuild derives from serverless.yml, so the bench bundles as a deploy does. */
export function readServerlessBuild(path = 'serverless.yml'): ServerlessBuild {
  const config = loadServerlessConfig(path) as Record<string, unknown>;
  const custom = isRecord(config.custom) ? config.custom : {};
  const settings = isRecord(custom.esbuild) ? custom.esbuild : {};
  const esbuild: BuildOptions = {};
  for (const [key, value] of Object.entries(settings)) {
    if (!PLUGIN_ONLY_KEYS.has(key)) (esbuild as Record<string, unknown>)[key] = value;
  }
  if (typeof settings.outputFileExtension === 'string') {
    esbuild.outExtension = { '.js': settings.outputFileExtension };
  }
  const provider = isRecord(config.provider) ? config.provider : {};
  const environment = Object.fromEntries(
    Object.entries(isRecord(provider.environment) ? provider.environment : {}).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
  const functions = isRecord(config.functions) ? config.functions : {};
  const memorySizes = Object.fromEntries(
    Object.entries(functions).map(([name, fn]) => [name, Number(isRecord(fn) ? fn.memorySize : undefined)]),
  );
  const maximumConcurrency = Object.fromEntries(
    Object.entries(functions).map(([name, fn]) => {
      const events = isRecord(fn) && Array.isArray(fn.events) ? fn.events : [];
      const sqs = events
        .map((event) => (isRecord(event) && isRecord(event.sqs) ? event.sqs : undefined))
        .find(Boolean);
      return [name, Number(sqs?.maximumConcurrency)];
    }),
  );
  return { esbuild, environment, memorySizes, maximumConcurrency };
}

/**
 * What serverless-esbuild builds with when serverless.yml sets nothing under `custom.esbuild`, for a
 * `nodejs24.x` runtime: esbuild's own defaults otherwise (CommonJS, `main` before `module`, no minification).
 */
export const SERVERLESS_ESBUILD_DEFAULTS: BuildOptions = { bundle: true, platform: 'node', target: 'node24' };

export interface Bundle {
  file: string;
  /** The entry file and every chunk it imports statically: what Node loads before the handler is ready. */
  bytes: number;
  gzipBytes: number;
  /** Every code file of the build, chunks reached only through `import()` included. */
  totalBytes: number;
  mapBytes: number;
  metafile: Metafile;
  /** Metafile output paths of `bytes`. */
  startupOutputs: string[];
}

/** The entry output and the chunks it reaches through static imports, transitively. */
function startupFiles(metafile: Metafile, entryFileName: string): string[] {
  const outputs = metafile.outputs;
  // Not `entryPoint`: with splitting, every module reached through `import()` is an entry point too.
  const entry = Object.keys(outputs).find((path) => path.endsWith(`/${entryFileName}`));
  const seen = new Set<string>();
  const pending = entry === undefined ? [] : [entry];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (seen.has(path)) continue;
    seen.add(path);
    for (const imported of outputs[path]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) pending.push(imported.path);
    }
  }
  return [...seen];
}

export function bundleDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'associator-bench-'));
}

/** Bundles one entry with the serverless.yml settings (plus `plugins`, for what-if variants) into `outdir`. */
export async function bundle(
  settings: BuildOptions,
  entry: string,
  outdir: string,
  name: string,
): Promise<Bundle> {
  const extension = settings.outExtension?.['.js'] ?? '.js';
  const result = await build({
    ...settings,
    entryPoints: { [name]: entry },
    outdir,
    metafile: true,
    logLevel: 'error',
  });
  const file = join(outdir, `${name}${extension}`);
  const outputs = Object.entries(result.metafile.outputs);
  const startupOutputs = startupFiles(result.metafile, `${name}${extension}`);
  const code = Buffer.concat(startupOutputs.map((path) => readFileSync(resolve(process.cwd(), path))));
  const totalBytes = outputs
    .filter(([path]) => !path.endsWith('.map'))
    .reduce((sum, [, out]) => sum + out.bytes, 0);
  const mapBytes = outputs
    .filter(([path]) => path.endsWith('.map'))
    .reduce((sum, [, out]) => sum + out.bytes, 0);
  return {
    file,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    totalBytes,
    mapBytes,
    metafile: result.metafile,
    startupOutputs,
  };
}

/** Bytes each package (or source folder) contributes to what a bundle loads at start, largest first. */
export function bundleComposition(bundled: Bundle, top = 8): { name: string; bytes: number }[] {
  const inputs = bundled.startupOutputs.flatMap((path) =>
    Object.entries(bundled.metafile.outputs[path]?.inputs ?? {}),
  );
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of inputs) {
    const inPackage = input.split('node_modules/').at(-1) ?? input;
    const parts = inPackage.split('/');
    const name = input.includes('node_modules/')
      ? parts.slice(0, inPackage.startsWith('@') ? 2 : 1).join('/')
      : parts.slice(0, 2).join('/');
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  return [...totals]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}
