/**
 * The local stack in a process of its own, driven over IPC by the end-to-end benchmark, so that the load
 * generator does not compete with the stack's main thread (where the emulators and the edge run).
 */
import type { InvocationReport } from '../../../local/runner.ts';
import { type StackCpuUsage, startLocalStack } from '../../../local/stack.ts';
import { testSeed } from '../../../test/helpers/local-stack.ts';

/** `mark` starts a measurement, `stats` reports on it, `stop` ends the process. */
export type StackCommand = { type: 'mark' } | { type: 'stats' } | { type: 'stop' };

export interface StackReady {
  type: 'ready';
  endpoint: string;
  region: string;
  queueUrls: { requests: string; events: string };
  tableName: string;
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
  meanBatchSize: number;
  meanDurationMs: number;
  coldStarts: number;
}

/**
 * What a section changes from the defaults, which measure the associate path alone: the tracker's first check
 * after the measurement, and the emulator letting operations on one domain overlap.
 */
export interface StackProcessOptions {
  associationDelayMs?: number;
  handlerEnvironment?: Record<string, string>;
  conflictOnConcurrentOperations?: boolean;
}

// The parent passes the seed's size and any options: `fork(stack-process.ts, [domains, packages, json?])`.
const [domainArg, packageArg, optionsArg] = process.argv.slice(2);
const [domainCount, packageCount] = [domainArg, packageArg].map(Number);
if (!Number.isInteger(domainCount) || !Number.isInteger(packageCount)) {
  throw new Error('usage: stack-process.ts <domains> <packages> [options as JSON]');
}
const options = JSON.parse(optionsArg ?? '{}') as StackProcessOptions;

const send = (message: StackReady | StackStats | { type: 'marked' }) => process.send?.(message);

const reports: InvocationReport[] = [];
const stack = await startLocalStack({
  port: 0,
  seed: testSeed(domainCount as number, packageCount as number),
  ...(options.associationDelayMs !== undefined && { associationDelayMs: options.associationDelayMs }),
  handlerEnvironment: {
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // The tracker's first check comes after the measurement: this measures the associate path alone.
    TRACKING_FIRST_DELAY_SECONDS: '900',
    ...options.handlerEnvironment,
  },
  onInvoke: (report) => {
    if (report.functionName.endsWith('associatePackage')) reports.push(report);
  },
});
// Requests for one domain from different invocations would otherwise meet the API's one-operation-at-a-time rule.
stack.openSearch.configure({
  conflictOnConcurrentOperations: options.conflictOnConcurrentOperations ?? false,
});

let busySince = performance.eventLoopUtilization();
let cpuSince = process.cpuUsage();
let threadsSince = await stack.cpuUsage();
let markedAt = performance.now();

process.on('message', async (command: StackCommand) => {
  if (command.type === 'mark') {
    reports.length = 0;
    busySince = performance.eventLoopUtilization();
    cpuSince = process.cpuUsage();
    threadsSince = await stack.cpuUsage();
    markedAt = performance.now();
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
