/**
 * The local stack in a process of its own, driven over IPC by the end-to-end benchmark, so that the load
 * generator does not compete with the stack's main thread (where the emulators and the edge run).
 */
import type { CallCount, OperationName, RateLimit } from '../../../local/opensearch/index.ts';
import type { InvocationReport } from '../../../local/runner.ts';
import { type StackCpuUsage, startLocalStack } from '../../../local/stack.ts';
import { testSeed } from '../../../test/helpers/local-stack.ts';

/** `mark` starts a measurement, `stats` reports on it, `stop` ends the process. */
export type StackCommand = { type: 'mark' } | { type: 'stats' } | { type: 'stop' };

export interface StackReady {
  type: 'ready';
  endpoint: string;
  region: string;
  queueUrls: { requests: string; events: string; requestsDlq: string };
  tableName: string;
}

/**
 * What a section changes from the end-to-end throughput setup (the third argument, as JSON), which measures
 * the associate path alone with operations on one domain allowed to overlap. With a rate limit the stack runs
 * as deployed: the one-operation-per-domain rule on, the tracker and its checks included.
 */
export interface StackVariant {
  rateLimit?: RateLimit;
  associationDelayMs?: number;
  maxPackagesPerDomain?: number;
  handlerEnvironment?: Record<string, string>;
  conflictOnConcurrentOperations?: boolean;
}

export interface StackStats {
  type: 'stats';
  /** Share of wall time the stack's main thread was busy since the mark. */
  mainThreadBusy: number;
  /** CPU time of the whole process (main thread and handler workers) per wall second since the mark. */
  cpuCores: number;
  /** CPU time since the mark, by thread (see StackCpuUsage); `processMicros` is every thread together. */
  cpu: StackCpuUsage & { processMicros: number };
  invocations: number;
  /** The OpenSearch emulator's call counts since the mark, by operation. */
  openSearchCalls: Record<OperationName, CallCount>;
  /** Invocations of either function since the mark, by `function outcome` (`associatePackage timeout`...). */
  outcomes: Record<string, number>;
  /** The longest invocation of either function since the mark. */
  maxDurationMs: number;
  /** Records delivered since the mark, by function (`associatePackage`, `trackAssociation`). */
  records: Record<string, number>;
  meanBatchSize: number;
  meanDurationMs: number;
  coldStarts: number;
}

// The parent passes the seed's size: `fork(stack-process.ts, [domains, packages, variant?])`.
const [domainCount, packageCount] = process.argv.slice(2, 4).map(Number);
if (!Number.isInteger(domainCount) || !Number.isInteger(packageCount)) {
  throw new Error('usage: stack-process.ts <domains> <packages> [variant JSON]');
}
const variant = JSON.parse(process.argv[4] ?? '{}') as StackVariant;

const send = (message: StackReady | StackStats | { type: 'marked' }) => process.send?.(message);

const reports: InvocationReport[] = [];
const everyReport: InvocationReport[] = [];
const stack = await startLocalStack({
  port: 0,
  seed: testSeed(domainCount as number, packageCount as number),
  handlerEnvironment: {
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // The tracker's first check comes after the measurement: this measures the associate path alone.
    TRACKING_FIRST_DELAY_SECONDS: '900',
    ...variant.handlerEnvironment,
  },
  ...(variant.rateLimit !== undefined && { openSearchRateLimit: variant.rateLimit }),
  ...(variant.associationDelayMs !== undefined && { associationDelayMs: variant.associationDelayMs }),
  ...(variant.maxPackagesPerDomain !== undefined && { maxPackagesPerDomain: variant.maxPackagesPerDomain }),
  onInvoke: (report) => {
    everyReport.push(report);
    if (report.functionName.endsWith('associatePackage')) reports.push(report);
  },
});
// Requests for one domain from different invocations would otherwise meet the API's one-operation-at-a-time rule.
stack.openSearch.configure({
  conflictOnConcurrentOperations: variant.conflictOnConcurrentOperations ?? variant.rateLimit !== undefined,
});

let busySince = performance.eventLoopUtilization();
let cpuSince = process.cpuUsage();
let threadsSince = await stack.cpuUsage();
let markedAt = performance.now();
let callsSince = stack.openSearch.callCounts();

function outcomesSinceMark(): Record<string, number> {
  const outcomes: Record<string, number> = {};
  for (const report of everyReport) {
    const key = `${report.functionName.replace('package-associator-local-', '')} ${report.outcome}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  return outcomes;
}

function recordsSinceMark(): Record<string, number> {
  const records: Record<string, number> = {};
  for (const report of everyReport) {
    const key = report.functionName.replace('package-associator-local-', '');
    records[key] = (records[key] ?? 0) + report.batchSize;
  }
  return records;
}

function callsSinceMark(): Record<OperationName, CallCount> {
  const now = stack.openSearch.callCounts();
  const since = (name: OperationName, field: keyof CallCount) => now[name][field] - callsSince[name][field];
  return Object.fromEntries(
    (Object.keys(now) as OperationName[]).map((name) => [
      name,
      {
        calls: since(name, 'calls'),
        succeeded: since(name, 'succeeded'),
        failed: since(name, 'failed'),
        throttled: since(name, 'throttled'),
      },
    ]),
  ) as Record<OperationName, CallCount>;
}

process.on('message', async (command: StackCommand) => {
  if (command.type === 'mark') {
    reports.length = 0;
    everyReport.length = 0;
    busySince = performance.eventLoopUtilization();
    cpuSince = process.cpuUsage();
    threadsSince = await stack.cpuUsage();
    markedAt = performance.now();
    callsSince = stack.openSearch.callCounts();
    send({ type: 'marked' });
    return;
  }
  if (command.type === 'stop') {
    await stack.stop();
    // Whatever a library left open must not keep the benchmark waiting.
    process.exit(0);
  }
  const wallMs = performance.now() - markedAt;
  const cpu = process.cpuUsage(cpuSince);
  const threads = await stack.cpuUsage();
  const count = reports.length;
  send({
    type: 'stats',
    mainThreadBusy: performance.eventLoopUtilization(busySince).utilization,
    cpuCores: (cpu.user + cpu.system) / 1000 / wallMs,
    cpu: {
      processMicros: cpu.user + cpu.system,
      mainThreadMicros: threads.mainThreadMicros - threadsSince.mainThreadMicros,
      dynamoDbMicros: threads.dynamoDbMicros - threadsSince.dynamoDbMicros,
      handlerMicros: threads.handlerMicros - threadsSince.handlerMicros,
    },
    invocations: count,
    openSearchCalls: callsSinceMark(),
    outcomes: outcomesSinceMark(),
    maxDurationMs: Math.max(0, ...everyReport.map((report) => report.durationMs)),
    records: recordsSinceMark(),
    meanBatchSize: count === 0 ? 0 : reports.reduce((total, report) => total + report.batchSize, 0) / count,
    meanDurationMs: count === 0 ? 0 : reports.reduce((total, report) => total + report.durationMs, 0) / count,
    coldStarts: reports.filter((report) => report.coldStart).length,
  });
});

send({
  type: 'ready',
  endpoint: stack.endpoint,
  region: stack.region,
  queueUrls: stack.queueUrls,
  tableName: stack.tableName,
});
