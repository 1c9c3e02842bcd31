/**
 * 5. End-to-end local throughput: requests sent to the local stack's requests queue until their `Started`
 * events arrive on the subscriber queue.
 */

import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { row, type SectionResult, verdictOf } from './lib/report.ts';
import { askStack } from './lib/stack-child.ts';
import type { StackCommand, StackReady, StackStats } from './lib/stack-process.ts';
import { int, ms, percent, percentile } from './lib/stats.ts';

export const THROUGHPUT_TARGET = 200;
const SENDERS = 4;
const COLLECTORS = 3;
const WAIT_LIMIT_MS = 180_000;
/**
 * One package per domain, so every request has a domain of its own: a domain runs one package operation at a
 * time, and this section measures the service's throughput, not a queue on one domain (section 8 does that).
 */
const SEED_PACKAGES = 1;
/** The first 100 requests: every execution environment's cold start. */
const WARM_UP_REQUESTS = 100;

interface Pair {
  domainName: string;
  packageId: string;
}

/** Every package on each of `domains`, package by package, so consecutive requests hit different domains. */
function pairs(fromDomain: number, toDomain: number): Pair[] {
  const out: Pair[] = [];
  for (let pkg = 0; pkg < SEED_PACKAGES; pkg += 1) {
    for (let domain = fromDomain; domain <= toDomain; domain += 1) {
      out.push({ domainName: `orders-${domain}`, packageId: `F${9001 + pkg}` });
    }
  }
  return out;
}

/** Reads the subscriber queue in the background and stamps each `Started` event when it arrives. */
class StartedCollector {
  readonly arrivals = new Map<string, number>();
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #abort = new AbortController();
  readonly #loops: Promise<void>[];

  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
    this.#loops = Array.from({ length: COLLECTORS }, () => this.#poll());
  }

  async #poll(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      try {
        const { Messages = [] } = await this.#client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.#queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
          { abortSignal: this.#abort.signal },
        );
        const now = performance.now();
        for (const message of Messages) {
          const event = JSON.parse(message.Body ?? '{}') as {
            'detail-type'?: string;
            detail?: { idempotencyKey?: string };
          };
          const key = event.detail?.idempotencyKey;
          if (event['detail-type'] === 'PackageAssociationStarted' && key !== undefined) {
            this.arrivals.set(key, now);
          }
        }
        if (Messages.length === 0) continue;
        await this.#client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.#queueUrl,
            Entries: Messages.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        throw error;
      }
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#loops);
  }
}

interface RunResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  sendMs: number;
  totalMs: number;
}

async function sendAndWait(
  client: SQSClient,
  queueUrl: string,
  collector: StartedCollector,
  requests: Pair[],
): Promise<RunResult> {
  const run = randomUUID().slice(0, 8);
  const sentAt = new Map<string, number>();
  const batches: Pair[][] = [];
  for (let index = 0; index < requests.length; index += 10) batches.push(requests.slice(index, index + 10));
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < batches.length) {
        const batch = batches[next] ?? [];
        next += 1;
        const sendTime = performance.now();
        const entries = batch.map((pair, index) => {
          const idempotencyKey = `bench-${run}-${pair.domainName}-${pair.packageId}`;
          sentAt.set(idempotencyKey, sendTime);
          return { Id: String(index), MessageBody: JSON.stringify({ ...pair, idempotencyKey }) };
        });
        const { Failed = [] } = await client.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
        );
        if (Failed.length > 0) throw new Error(`SendMessageBatch refused ${Failed.length} entries`);
      }
    }),
  );
  const sent = performance.now();
  const keys = [...sentAt.keys()];
  while (keys.some((key) => !collector.arrivals.has(key))) {
    if (performance.now() - started > WAIT_LIMIT_MS) {
      const missing = keys.filter((key) => !collector.arrivals.has(key)).length;
      throw new Error(
        `${missing} of ${keys.length} Started events did not arrive within ${WAIT_LIMIT_MS} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const latencies = keys.map((key) => (collector.arrivals.get(key) ?? 0) - (sentAt.get(key) ?? 0));
  const last = Math.max(...keys.map((key) => collector.arrivals.get(key) ?? 0));
  return {
    requestsPerSecond: keys.length / ((last - started) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    sendMs: sent - started,
    totalMs: last - started,
  };
}

interface Phase {
  run: RunResult;
  stats: StackStats;
  /** CPU time of this process (the senders and collectors) during the phase. */
  loadGeneratorMicros: number;
}

/** CPU time per request by where it was spent, in ms. */
function cpuPerRequest(phase: Phase, requests: number) {
  const perRequest = (micros: number) => micros / 1000 / requests;
  const { processMicros, mainThreadMicros, dynamoDbMicros, handlerMicros } = phase.stats.cpu;
  return {
    all: perRequest(processMicros + phase.loadGeneratorMicros),
    handlers: perRequest(handlerMicros),
    dynamoDb: perRequest(dynamoDbMicros),
    mainThread: perRequest(mainThreadMicros),
    otherThreads: perRequest(processMicros - mainThreadMicros - dynamoDbMicros - handlerMicros),
    loadGenerator: perRequest(phase.loadGeneratorMicros),
  };
}

export async function localThroughput(requestCount: number): Promise<SectionResult> {
  const domainsPerPhase = Math.ceil(requestCount / SEED_PACKAGES);
  const warmUpDomains = Math.ceil(WARM_UP_REQUESTS / SEED_PACKAGES);
  const seedDomains = 2 * domainsPerPhase + warmUpDomains;
  const child = fork(
    new URL('./lib/stack-process.ts', import.meta.url),
    [String(seedDomains), String(SEED_PACKAGES)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const exited = once(child, 'exit');
  const [ready] = (await once(child, 'message')) as [StackReady];
  const client = new SQSClient({
    endpoint: ready.endpoint,
    region: ready.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const collector = new StartedCollector(client, ready.queueUrls.events);
  const measure = async (requests: Pair[]): Promise<Phase> => {
    await askStack(child, { type: 'mark' });
    const cpuBefore = process.cpuUsage();
    const run = await sendAndWait(client, ready.queueUrls.requests, collector, requests);
    const cpu = process.cpuUsage(cpuBefore);
    const stats = await askStack<StackStats>(child, { type: 'stats' });
    return { run, stats, loadGeneratorMicros: cpu.user + cpu.system };
  };
  let warmUp: RunResult;
  let fresh: Phase;
  let warm: Phase;
  try {
    // Every environment imports the handler on its first batch (a cold start); those are not throughput.
    warmUp = await sendAndWait(
      client,
      ready.queueUrls.requests,
      collector,
      pairs(2 * domainsPerPhase + 1, seedDomains).slice(0, WARM_UP_REQUESTS),
    );
    fresh = await measure(pairs(1, domainsPerPhase).slice(0, requestCount));
    warm = await measure(pairs(domainsPerPhase + 1, 2 * domainsPerPhase).slice(0, requestCount));
    child.send({ type: 'stop' } satisfies StackCommand);
  } finally {
    await collector.stop();
    client.destroy();
  }
  await exited;

  const cores = availableParallelism();
  const freshCpu = cpuPerRequest(fresh, requestCount);
  const warmCpu = cpuPerRequest(warm, requestCount);
  const { stats, run } = warm;
  const rows = [
    row(
      `Throughput, ${int(requestCount)} requests, warm environments`,
      `${int(run.requestsPerSecond)} requests/s`,
      '',
      `≥ ${THROUGHPUT_TARGET} requests/s`,
      verdictOf(run.requestsPerSecond >= THROUGHPUT_TARGET),
    ),
    row(
      `Same, the first ${int(requestCount)} after the cold starts`,
      `${int(fresh.run.requestsPerSecond)} requests/s`,
    ),
    row(
      'Latency send → Started event, p50 / p99',
      `${ms(run.p50Ms)} / ${ms(run.p99Ms)}`,
      `first: ${ms(fresh.run.p50Ms)} / ${ms(fresh.run.p99Ms)}`,
    ),
    row(
      'CPU per request, stack + load generator',
      `${warmCpu.all.toFixed(1)} ms`,
      `first: ${freshCpu.all.toFixed(1)} ms; ${cores} cores allow ${int((cores * 1000) / warmCpu.all)} requests/s`,
    ),
    row(
      '  handlers / DynamoDB / main thread / other',
      `${[warmCpu.handlers, warmCpu.dynamoDb, warmCpu.mainThread, warmCpu.otherThreads]
        .map((value) => value.toFixed(1))
        .join(' / ')} ms`,
      `first: ${[freshCpu.handlers, freshCpu.dynamoDb, freshCpu.mainThread, freshCpu.otherThreads]
        .map((value) => value.toFixed(1))
        .join(' / ')} ms`,
    ),
    row(
      'Stack main thread busy',
      percent(stats.mainThreadBusy),
      `process CPU ${stats.cpuCores.toFixed(2)} cores`,
    ),
  ];
  const perInvocation = stats.meanDurationMs;
  const details = `### 5. End-to-end local throughput

\`startLocalStack\` on port 0 in a process of its own (\`tools/bench/lib/stack-process.ts\`), seeded with
\`testSeed(${seedDomains}, ${SEED_PACKAGES})\`, the emulator's one-operation-per-domain rule switched off, handlers at
\`POWERTOOLS_LOG_LEVEL=SILENT\` and the tracker's first check 15 minutes out, so only the associate path runs.
${int(WARM_UP_REQUESTS)} requests let every execution environment import the handler (took ${ms(warmUp.totalMs)}); then two
runs of ${int(requestCount)} requests each, for distinct (domain, package) pairs, go to the requests queue in
SendMessageBatch calls from ${SENDERS} concurrent senders (the second run's all sent after ${ms(run.sendMs)}, so the queue
stays saturated and batches are full: mean ${stats.meanBatchSize.toFixed(1)} records). ${COLLECTORS} collectors long-poll the
subscriber queue. Throughput is requests over the time from the first send to the last \`Started\` event
(${ms(run.totalMs)} for the second run); latency runs from the send call of a request's batch to its event's
arrival. The target is read on the second run, when the environments are warm: a throughput is a steady state,
and in the first run each of the five environments is still compiling the hot paths of the SDK and Powertools
on its own (the first run's figures are in the table, from the same process).

CPU time is read per thread: the handlers' worker threads (\`worker.cpuUsage()\`), dynalite's thread, the main
thread (fauxqs, both emulators, the edge proxy, the runners' polling), the rest of the stack's process (V8's
garbage-collection and compiler threads, libuv) and this process, which sends and collects (the load generator).
${stats.invocations} invocations took ${ms(perInvocation)} each on average.

**What bounds it: the CPU.** The machine has ${cores} cores and every request costs ${warmCpu.all.toFixed(1)} ms of CPU across
all threads, which allows ${int((cores * 1000) / warmCpu.all)} requests/s at best; the run reached ${int(run.requestsPerSecond)}. More concurrency cannot
help (\`maximumConcurrency\` 3 and 10 measured the same or worse while this was written); less CPU per request
does. The handlers take the largest share (${warmCpu.handlers.toFixed(1)} ms): the SDK calls of section 4, each built, signed, sent over
HTTP and parsed; then dynalite (${warmCpu.dynamoDb.toFixed(1)} ms for the ledger's read and three conditional writes per request,
parsing each condition expression with its PEG parser).

**What moved it,** measured with this section while it was written: dynalite on a worker thread of its own
(\`local/dynamo.ts\`) took the main thread from 97% busy to about 50% and the first-run figure from 95 to
132 requests/s; sending a batch's tracking messages in one SendMessageBatch (section 4) took the handlers from
8.3 to 5.9 ms per request in the first run (132 → 152 requests/s); giving each execution environment the heap
Lambda's bootstrap gives its memory size, young generation included (\`local/lambda-heap.ts\`; it had V8's
smaller default), cut the collections that V8's helper threads run for it; under the Powertools idempotency store
the ledger has replaced, one idempotency record per request instead of two took the CPU per request from about 10
to about 6 ms, the handlers' share halving with the two DynamoDB calls they no longer made and dynalite's with the
writes it no longer parsed. The ledger's three writes per request (section 4) move the other way. The machine's
own speed varies: the same code once measured from about 155 to 211 requests/s warm over one afternoon, the CPU
per request moving together with every other section's timings, so read any one run's figures as ±20%. In AWS none of the local limits apply: Lambda
runs each of the \`maximumConcurrency\` environments on its own CPU share, waiting on AWS.
`;
  return { title: '5. End-to-end local throughput', rows, details };
}
