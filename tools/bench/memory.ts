/**
 * 6. Memory: peak RSS while processing batches in a child process, the memorySize it supports, and what a
 * million requests cost at that size.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { totalmem } from 'node:os';
import { pathToFileURL } from 'node:url';
import { lambdaHeap } from '../../local/lambda-heap.ts';
import { type DynamoDbCapacity, startAwsStub } from './lib/aws-stub.ts';
import { ASSUMED_LATENCY_MS, type CostBreakdown, costPerMillion, MB_PER_VCPU, PRICES } from './lib/cost.ts';
import { type Bundle, bundle, readServerlessBuild } from './lib/esbuild-settings.ts';
import { benchEnvironment } from './lib/fakes.ts';
import type { HandlerChildResult } from './lib/handler-child.ts';
import type { FakesChildResult } from './lib/memory-child.ts';
import { row, type SectionResult, verdictOf } from './lib/report.ts';
import { int, kib, mib, ms, percent, usd } from './lib/stats.ts';

/** Lambda memory sizes considered, smallest first. */
const MEMORY_SIZES = [128, 256, 512, 1024];
/**
 * Peak RSS may use at most this share of memorySize: the Lambda runtime interface client shares the process and
 * a batch can carry bodies of up to 256 KB each, ten times what the benchmark sends.
 */
const HEADROOM = 0.8;

interface ChildRun<T> {
  result: T;
  stdoutBytes: number;
  stderrBytes: number;
}

async function runChild<T>(
  file: string,
  args: string[],
  env: Record<string, string>,
  nodeFlags: string[] = [],
): Promise<ChildRun<T>> {
  const child = spawn(process.execPath, [...nodeFlags, file, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env,
  });
  let stdoutBytes = 0;
  let stderrBytes = 0;
  let stderrTail = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrBytes += chunk.length;
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-2000);
  });
  let result: T | undefined;
  child.on('message', (message: T) => {
    result = message;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (result === undefined) {
    throw new Error(`${file} exited with ${code} before reporting:\n${stderrTail}`);
  }
  return { result, stdoutBytes, stderrBytes };
}

/** The flags Lambda's Node.js bootstrap starts node with for a memory size, and a callable gc(). */
function lambdaNodeFlags(memoryMb: number): string[] {
  const heap = lambdaHeap(memoryMb);
  return [
    '--expose-gc',
    `--max-semi-space-size=${heap.semiSpaceMb}`,
    `--max-old-space-size=${heap.oldSpaceMb}`,
  ];
}

interface SizedRun {
  memoryMb: number;
  run: ChildRun<HandlerChildResult>;
  requests: number;
  calls: Map<string, number>;
  capacity: DynamoDbCapacity;
}

export async function memory(outdir: string, handlerBundle: Bundle, batches: number): Promise<SectionResult> {
  const deployed = readServerlessBuild();
  const fakesChild = await bundle(
    deployed.esbuild,
    'tools/bench/lib/memory-child.ts',
    outdir,
    'memory-child',
  );
  const handlerChild = await bundle(
    deployed.esbuild,
    'tools/bench/lib/handler-child.ts',
    outdir,
    'handler-child',
  );
  const { NODE_OPTIONS: nodeOptions = '', ...deployedSettings } = deployed.environment;
  const base = { PATH: process.env.PATH ?? '', ...deployedSettings, ...benchEnvironment() };

  const fakes = await runChild<FakesChildResult>(fakesChild.file, [String(batches)], base);

  async function runAt(memoryMb: number): Promise<SizedRun | undefined> {
    const stub = await startAwsStub();
    try {
      const run = await runChild<HandlerChildResult>(
        handlerChild.file,
        [pathToFileURL(handlerBundle.file).href, String(batches)],
        {
          ...base,
          NODE_OPTIONS: nodeOptions,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
          AWS_ENDPOINT_URL: stub.endpoint,
          AWS_ACCESS_KEY_ID: 'bench',
          AWS_SECRET_ACCESS_KEY: 'bench',
        },
        lambdaNodeFlags(memoryMb),
      );
      return { memoryMb, run, requests: (batches + 1) * 10, calls: stub.calls, capacity: stub.capacity };
    } catch {
      // Out of heap at this size: it does not fit.
      return undefined;
    } finally {
      await stub.close();
    }
  }

  const tried: { memoryMb: number; peakBytes: number | undefined }[] = [];
  let chosen: SizedRun | undefined;
  for (const memoryMb of MEMORY_SIZES) {
    const sized = await runAt(memoryMb);
    tried.push({ memoryMb, peakBytes: sized?.run.result.maxRssBytes });
    if (sized !== undefined && sized.run.result.maxRssBytes <= memoryMb * 1024 * 1024 * HEADROOM) {
      chosen = sized;
      break;
    }
  }
  if (chosen === undefined) throw new Error(`the handler fits none of ${MEMORY_SIZES.join(', ')} MB`);
  const { run: real, requests, calls, capacity, memoryMb: recommended } = chosen;
  const perRequest = (operation: string) => (calls.get(operation) ?? 0) / requests;
  const writeUnits = capacity.writeUnits / requests;
  const readUnits = capacity.readUnits / requests;
  const logBytesPerRequest = (real.stdoutBytes + real.stderrBytes) / requests;

  const configured = Object.entries(deployed.memorySizes);
  const maximumConcurrency = deployed.maximumConcurrency.associatePackage ?? 1;
  const allMatch = configured.every(([, size]) => size === recommended);
  const costs = MEMORY_SIZES.filter((size) => size >= recommended).map((memoryMb) => ({
    memoryMb,
    cost: costPerMillion({
      memoryMb,
      batchSize: 10,
      cpuMsPerBatch: real.result.warmBatchCpuMs,
      logBytesPerRequest,
      // Tracking messages, plus the event source mapping's ReceiveMessage and DeleteMessageBatch per batch.
      sqsRequestsPerRequest:
        perRequest('AmazonSQS.SendMessage') + perRequest('AmazonSQS.SendMessageBatch') + 0.2,
      eventsPerRequest: perRequest('AWSEvents.PutEvents') * 10,
      writeUnitsPerRequest: writeUnits,
      readUnitsPerRequest: readUnits,
    }),
  }));
  const atRecommended = costs.find((entry) => entry.memoryMb === recommended)?.cost as CostBreakdown;

  const rows = [
    row(
      `Peak RSS, ${batches} batches, section 2 setup`,
      mib(fakes.result.maxRssBytes),
      `after setup ${mib(fakes.result.rssAfterSetupBytes)}`,
    ),
    row(
      `Peak RSS, ${batches} batches, bundle + SDK at ${recommended} MB`,
      mib(real.result.maxRssBytes),
      `after import ${mib(real.result.rssAfterImportBytes)}, live heap ${mib(real.result.liveHeapBytes)}`,
    ),
    row(
      'CPU per batch of ten (bundle + SDK + logs)',
      ms(real.result.warmBatchCpuMs),
      `first batch ${ms(real.result.firstBatchMs)}`,
    ),
    row(
      'memorySize (serverless.yml)',
      configured.map(([name, size]) => `${name} ${size} MB`).join(', '),
      `smallest with peak ≤ ${percent(HEADROOM)}`,
      `${recommended} MB`,
      verdictOf(allMatch),
    ),
    row(
      'DynamoDB capacity per request (ledger, by item size)',
      `${writeUnits.toFixed(2)} WRU, ${readUnits.toFixed(2)} RRU; largest item ${kib(capacity.largestItemBytes)}`,
      'Powertools store: 2 WRU',
    ),
    row(
      `Cost per million requests at ${recommended} MB`,
      usd(atRecommended.total),
      `list prices ${PRICES.region}, ${PRICES.asOf.slice(0, 7)}`,
    ),
  ];

  const vcpu = (size: number) => Math.min(1, size / MB_PER_VCPU);
  const costTable = costs
    .map(
      ({ memoryMb, cost }) =>
        `| ${memoryMb} MB | ${vcpu(memoryMb).toFixed(3)} | ${ms(cost.batchDurationMs)} | ${int((maximumConcurrency * 10) / (cost.batchDurationMs / 1000))} requests/s | ${usd(cost.lambdaDuration)} | ${usd(cost.lambdaRequests)} | ${usd(cost.sqs)} | ${usd(cost.eventBridge)} | ${usd(cost.dynamoDb)} | ${usd(cost.logs)} | **${usd(cost.total)}** |`,
    )
    .join('\n');
  const stubCalls = [...calls]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([operation, count]) => `${operation} ${(count / requests).toFixed(2)}`)
    .join(', ');
  const ioWaitMs = Object.values(ASSUMED_LATENCY_MS).reduce((total, value) => total + value, 0);
  const triedText = tried
    .map(({ memoryMb, peakBytes }) =>
      peakBytes === undefined
        ? `${memoryMb} MB ran out of heap`
        : `${memoryMb} MB peaked at ${mib(peakBytes)}`,
    )
    .join(', ');
  const details = `### 6. Memory and cost

Child processes, each bundled with the serverless.yml settings first (so no TypeScript loader adds to their
memory), report \`process.resourceUsage().maxRSS\` after ${batches} batches of ten clean requests:

- **Section 2 setup**: \`createAssociateHandler\` with the in-memory fakes, on Node's default heap limits:
  ${mib(fakes.result.maxRssBytes)} peak, ${mib(fakes.result.heapUsedBytes)} heap in use at the end.
- **Handler bundle + SDK**: the deployable bundle of section 1 with its real SDK clients, pointed by
  \`AWS_ENDPOINT_URL\` at a local stub that answers the ledger's GetItem and PutItem (keeping the items and checking
  the writes' conditions), AssociatePackage, SendMessageBatch and PutEvents at once (\`tools/bench/lib/aws-stub.ts\`), with serverless.yml's environment (\`POWERTOOLS_LOG_LEVEL=INFO\`, EMF metrics on,
  \`NODE_OPTIONS=${nodeOptions}\`; tracing off, there being no X-Ray daemon) and the heap limits Lambda's Node.js
  bootstrap derives from the memory size (\`${lambdaNodeFlags(recommended).join(' ')}\` at ${recommended} MB).
  Node sizes its heap from the machine otherwise (${(totalmem() / 1024 ** 3).toFixed(0)} GiB here) and then collects lazily, so an
  unconstrained run's peak says little about a Lambda function. ${mib(real.result.maxRssBytes)} peak,
  ${mib(real.result.rssAfterImportBytes)} after the import, ${mib(real.result.liveHeapBytes)} of heap still alive after a full
  collection at the end (nothing accumulates across batches). The first batch took ${ms(real.result.firstBatchMs)}
  (${ms(real.result.firstBatchCpuMs)} of CPU: credentials, endpoints, connections); later ones ${ms(real.result.warmBatchMs)}
  and ${ms(real.result.warmBatchCpuMs)} of CPU each: the handler's own share is under a millisecond (section 2), the
  rest is the SDK and Node's HTTP client building, signing, sending and parsing ${(
    [...calls.values()].reduce((total, count) => total + count, 0) / (batches + 1)
  ).toFixed(0)} requests a batch, and the log writes. Per request the stub saw ${stubCalls}. Logs came to
  ${Math.round(logBytesPerRequest)} bytes per request (the audit line and the EMF metrics).

**memorySize.** Tried smallest first with the limits of each size: ${triedText}. The smallest whose peak stays
under ${percent(HEADROOM)} of the memory is **${recommended} MB**; serverless.yml sets
${configured.map(([name, size]) => `${name} ${size} MB`).join(' and ')} (the tracker loads the same SDK and
Powertools and does less per record). Lambda gives CPU in proportion to memory (one vCPU at ${MB_PER_VCPU} MB),
so ${recommended} MB means ${vcpu(recommended).toFixed(3)} vCPU: the ${ms(real.result.warmBatchCpuMs)} of CPU per batch
become about ${ms(real.result.warmBatchCpuMs / vcpu(recommended))}, next to the ${ms(ioWaitMs)} a batch waits on AWS.
More memory buys a little speed and costs more per batch (table below); requests are asynchronous, so a few
hundred milliseconds per batch matter to nobody. The price of the small size is paid once per execution
environment: the import (${ms(real.result.readyMs)} to ready here on a full core) and the first batch's SDK
initialisation run on the same CPU share unless Lambda boosts the init phase, which it does not document; with
\`maximumConcurrency: 5\` few environments exist.

**Cost per million successful requests** (batches of ten). Prices: Lambda Arm $${PRICES.lambdaArmPerGbSecond} per
GB-s and $${PRICES.lambdaPerMillionInvocations.toFixed(2)} per million invocations, SQS $${PRICES.sqsPerMillionRequests.toFixed(2)} per
million requests, EventBridge $${PRICES.eventBridgePerMillionEvents.toFixed(2)} per million events, DynamoDB on-demand
$${PRICES.dynamoDbPerMillionWriteUnits.toFixed(3)} per million write and $${PRICES.dynamoDbPerMillionReadUnits.toFixed(3)} per million read request units, CloudWatch Logs $${PRICES.cloudWatchLogsPerGb.toFixed(2)}
per GB ingested; ${PRICES.region} list prices as of ${PRICES.asOf}, not looked up live. A batch is assumed to wait
${Object.entries(ASSUMED_LATENCY_MS)
  .map(([call, latency]) => `${call} ${latency} ms`)
  .join(', ')} one after another, plus its CPU at the size's share as if it never overlapped the waits.
SQS counts the tracking messages' SendMessageBatch and the event source mapping's receive and delete per batch (its idle long
polls, about 1.3 million requests a month for five pollers, are a fixed cost); EventBridge the \`Started\` event;
DynamoDB the ${writeUnits.toFixed(2)} write and ${readUnits.toFixed(2)} read request units the stub counted per request (a write costs a unit
per KB of the larger of the old and the new item, a consistent read a unit per 4 KB; the largest item came to
${kib(capacity.largestItemBytes)}, the \`TRACKING\` record with its outbox). Not included: the producer's SendMessage, the tracker's
invocations, its ledger reads and writes (section 4) and its \`Succeeded\` event, X-Ray ($5 per million traces recorded, for
the share of invocations the default sampling rule keeps) and storage. The ceiling column is what
\`maximumConcurrency: ${maximumConcurrency}\` lets the associate function process at that batch duration: the
real limit on throughput in AWS, which \`maximumConcurrency\` raises more cheaply than memory does.

| memorySize | vCPU | batch duration | ceiling at concurrency ${maximumConcurrency} | Lambda duration | Lambda requests | SQS | EventBridge | DynamoDB | Logs | Total |
|---|---|---|---|---|---|---|---|---|---|---|
${costTable}
`;
  return { title: '6. Memory and cost', rows, details };
}
