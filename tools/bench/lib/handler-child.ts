/**
 * Child process of the memory benchmark (bundled first): imports the real handler bundle, with its real SDK
 * clients pointed at the AWS stub by AWS_ENDPOINT_URL, invokes it with clean batches and reports over IPC.
 * Logs go to stdout and stderr as in Lambda; the parent counts their bytes.
 */
import { cleanBatch, lambdaContext } from './records.ts';

export interface HandlerChildResult {
  readyMs: number;
  rssAfterImportBytes: number;
  firstBatchMs: number;
  firstBatchCpuMs: number;
  warmBatchMs: number;
  warmBatchCpuMs: number;
  maxRssBytes: number;
  /** Heap in use after a full collection (when the process runs with --expose-gc). */
  liveHeapBytes: number;
}

type Handler = (
  event: ReturnType<typeof cleanBatch>,
  context: ReturnType<typeof lambdaContext>,
) => Promise<{ batchItemFailures: unknown[] }>;

const [bundleUrl = '', batchesArgument = '100'] = process.argv.slice(2);
const batches = Number(batchesArgument);
const { handler } = (await import(bundleUrl)) as { handler: Handler };
const readyMs = performance.now();
const rssAfterImportBytes = process.resourceUsage().maxRSS * 1024;

async function invoke(): Promise<{ wallMs: number; cpuMs: number }> {
  const event = cleanBatch();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const response = await handler(event, lambdaContext());
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  if (response.batchItemFailures.length > 0) throw new Error('a clean batch failed against the AWS stub');
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

// The first invocation resolves credentials and endpoints and opens the connections.
const first = await invoke();
let warmWallMs = 0;
let warmCpuMs = 0;
for (let index = 0; index < batches; index += 1) {
  const warm = await invoke();
  warmWallMs += warm.wallMs;
  warmCpuMs += warm.cpuMs;
}
// Lambda's Node.js bootstrap passes --expose-gc too; after a full collection, what is left is what stays alive.
(globalThis as { gc?: () => void }).gc?.();
const result: HandlerChildResult = {
  readyMs,
  rssAfterImportBytes,
  firstBatchMs: first.wallMs,
  firstBatchCpuMs: first.cpuMs,
  warmBatchMs: warmWallMs / batches,
  warmBatchCpuMs: warmCpuMs / batches,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  liveHeapBytes: process.memoryUsage().heapUsed,
};
process.send?.(result, () => process.exit(0));
