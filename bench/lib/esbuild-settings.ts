import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { loadServerlessConfig } from '../../src/local/serverless-config.ts';

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

export interface Bundle {
  file: string;
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
  metafile: Metafile;
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
  const code = readFileSync(file);
  let mapBytes = 0;
  try {
    mapBytes = statSync(`${file}.map`).size;
  } catch {
    // No source map in these settings.
  }
  return { file, bytes: code.length, gzipBytes: gzipSync(code).length, mapBytes, metafile: result.metafile };
}

/** Bytes each package (or source folder) contributes to a bundle, largest first. */
export function bundleComposition(bundled: Bundle, top = 8): { name: string; bytes: number }[] {
  const output = Object.values(bundled.metafile.outputs).find((entry) => entry.entryPoint !== undefined);
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
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
