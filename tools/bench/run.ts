/**
 * `npm run bench`: measures the associate handler against its baselines in one run, prints the summary table
 * and writes it, with the details and the machine it ran on, to docs/PERFORMANCE.md.
 *
 *   npm run bench                      all nine sections (about ten minutes, five of them sections 8 and 9)
 *   npm run bench -- --only 1,2,6      some sections
 *   npm run bench -- --no-write        print only
 *
 * A missed target is marked ❌ in the table; the exit code is non-zero only when the benchmark itself fails.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type ColdStartResult, coldStart } from './cold-start.ts';
import { concurrency } from './concurrency.ts';
import { controlPlane } from './control-plane.ts';
import { bundle, bundleDirectory, readServerlessBuild } from './lib/esbuild-settings.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { missedTargets, renderConsoleTable, renderMarkdownTable, type SectionResult } from './lib/report.ts';
import { localThroughput } from './local-throughput.ts';
import { memory } from './memory.ts';
import { pacing } from './pacing.ts';
import { perRecord } from './per-record.ts';
import { rolloutScale } from './rollout-scale.ts';

const DOCUMENT = 'docs/PERFORMANCE.md';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const wanted = new Set((values.only ?? '1,2,3,4,5,6,7,8,9').split(',').map((part) => part.trim()));
const machine = describeMachine();
const started = performance.now();
const outdir = bundleDirectory();
const sections: SectionResult[] = [];

function progress(message: string): void {
  process.stderr.write(
    `[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${message}\n`,
  );
}

try {
  let cold: ColdStartResult | undefined;
  if (wanted.has('1')) {
    progress('1. cold start: bundling and importing in fresh processes');
    cold = await coldStart(outdir, 15);
    sections.push(cold.section);
  }
  if (wanted.has('2')) {
    progress('2. per-record cost');
    sections.push(await perRecord({ rounds: 7, batchesPerRound: 300 }));
  }
  if (wanted.has('3') || wanted.has('4')) {
    progress('3/4. batch concurrency and AWS calls');
    const result = await concurrency(3);
    if (wanted.has('3')) sections.push(result.concurrency);
    if (wanted.has('4')) sections.push(result.calls);
  }
  if (wanted.has('5')) {
    progress('5. end-to-end local throughput (local stack in a child process)');
    sections.push(await localThroughput(1000));
  }
  if (wanted.has('6')) {
    progress('6. memory and cost');
    const handlerBundle =
      cold?.handlerBundle ??
      (await bundle(
        readServerlessBuild().esbuild,
        'src/handlers/associate-package.ts',
        outdir,
        'associate-package',
      ));
    sections.push(await memory(outdir, handlerBundle, 100));
  }
  if (wanted.has('7')) {
    progress('7. a rollout of 100 domains (local stack in a child process)');
    sections.push(await rolloutScale());
  }
  if (wanted.has('8')) {
    progress('8. pacing under throttling (two local stacks, a few minutes)');
    sections.push(await pacing(100));
  }
  if (wanted.has('9')) {
    progress('9. control-plane calls in a burst of 1,000 (local stack in a child process, a few minutes)');
    sections.push(await controlPlane(1000));
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}

const elapsedSeconds = (performance.now() - started) / 1000;
const missed = missedTargets(sections);
console.log(`\n${machineLine(machine)}\n`);
console.log(renderConsoleTable(sections));
console.log(
  missed.length === 0
    ? `\nEvery target met (${elapsedSeconds.toFixed(0)} s).`
    : `\n${missed.length} target(s) missed (❌), explained in ${DOCUMENT}: ${missed.map((entry) => entry.measure).join('; ')}. (${elapsedSeconds.toFixed(0)} s)`,
);

if (!values['no-write']) {
  const document = `# Performance

Written by \`npm run bench\` (\`tools/bench/run.ts\`); rerun it rather than editing this file. Every measured figure
comes from the same run as the measured baseline beside it.

${machineLine(machine)}. The run took ${elapsedSeconds.toFixed(0)} s.${
    machine.loadAverage > machine.cores / 2
      ? ` Other work was running on the machine (load ${machine.loadAverage.toFixed(1)} on ${machine.cores} cores): absolute times are inflated, ratios within a section less so.`
      : ''
  }

## Summary

${renderMarkdownTable(sections)}

${
  missed.length === 0
    ? 'Every target is met.'
    : `Missed targets (❌): ${missed.map((entry) => entry.measure).join('; ')}. Each section below says what bounds it and what would move it.`
}

## Details

${sections.map((section) => section.details).join('\n')}
## Files

- \`tools/bench/run.ts\` runs the sections and writes this file; \`tools/bench/cold-start.ts\`, \`tools/bench/per-record.ts\`,
  \`tools/bench/concurrency.ts\` (sections 3 and 4), \`tools/bench/local-throughput.ts\`, \`tools/bench/memory.ts\`,
  \`tools/bench/rollout-scale.ts\`, \`tools/bench/pacing.ts\` (with \`tools/bench/lib/pacing-run.ts\`, the burst against a
  rate-limited stack), \`tools/bench/control-plane.ts\` (the same burst, unlimited, 1,000 requests).
- \`tools/bench/baseline/docs-handler.ts\` (the Powertools docs handler), \`tools/bench/baseline/floor-handler.ts\` (the
  per-record floor), \`tools/bench/baseline/sdk-floor.ts\` (one SDK client).
- \`tools/bench/lib/fakes.ts\` (counting fakes and the in-memory ledger), \`tools/bench/lib/aws-stub.ts\` (HTTP stub for the real
  SDK clients, with the ledger table), \`tools/bench/lib/cost.ts\` (prices and assumptions).
`;
  mkdirSync('docs', { recursive: true });
  writeFileSync(DOCUMENT, document);
  console.log(`Written to ${DOCUMENT}.`);
}
