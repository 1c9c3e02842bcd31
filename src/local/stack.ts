import { mkdirSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { createLedgerTable, startDynalite } from './dynamo.ts';
import { type EdgeHandler, type EdgeServer, startEdge } from './edge.ts';
import {
  createEventBridgeEmulator,
  EMULATOR_ADMIN_PREFIX as EVENTS_ADMIN_PREFIX,
  type EventBridgeEmulator,
  type EventBridgeFaults,
} from './eventbridge/index.ts';
import {
  createOpenSearchEmulator,
  type FaultRule,
  EMULATOR_ADMIN_PREFIX as OPENSEARCH_ADMIN_PREFIX,
  type OpenSearchEmulator,
  type SeedData,
} from './opensearch/index.ts';
import { seededRandom } from './rng.ts';
import { type InvocationReport, type QueueRunner, startQueueRunner } from './runner.ts';
import {
  loadFunctionSettings,
  loadParamDefaults,
  loadQueueSettings,
  type QueueSettings,
} from './serverless-config.ts';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_NAMES = {
  requestsQueue: 'package-associator-requests',
  requestsDlq: 'package-associator-requests-dlq',
  trackingQueue: 'package-associator-tracking',
  trackingDlq: 'package-associator-tracking-dlq',
  eventsQueue: 'package-association-events',
  table: 'package-associator-ledger',
  bus: 'package-associator',
} as const;

export interface LocalStackOptions {
  /** Edge port; 0 picks a free one. Default 4566. */
  port?: number;
  host?: string;
  /** Keep DynamoDB and SQS state in this folder instead of memory. */
  dataDir?: string;
  serverlessYml?: string;
  /** Domains and packages of the OpenSearch emulator; default the demo data in src/local/seed.json. */
  seed?: SeedData | string;
  /** How long the emulator keeps an association ASSOCIATING; default 3000 ms. */
  associationDelayMs?: number;
  openSearchFaults?: FaultRule[];
  openSearchLatencyMs?: number;
  eventBridgeFaults?: EventBridgeFaults;
  /** Answers a share of DynamoDB calls with an error before they reach the store (soak tests). */
  dynamoDbFaults?: DynamoDbFaults;
  /** Share of invocations the runner crashes or times out after the handler ran (soak tests). */
  runnerCrashRate?: number;
  runnerTimeoutRate?: number;
  randomSeed?: number;
  /** Settings handed to the handlers on top of those serverless.yml implies (e.g. shorter backoffs in tests). */
  handlerEnvironment?: Record<string, string>;
  /** Overrides of the queues' visibility timeout in seconds (tests use short ones to see redelivery soon). */
  visibilityTimeoutSeconds?: number;
  /**
   * Overrides the functions' timeout from serverless.yml. Soak tests shorten it because it also bounds how
   * long the ledger's lease of an invocation killed mid-way holds a request.
   */
  functionTimeoutSeconds?: number;
  onInvoke?: (report: InvocationReport) => void;
}

export interface DynamoDbFaults {
  /** Share of calls answered with an error, 0 to 1. */
  rate: number;
  /**
   * `InternalServerError` (500) or `ProvisionedThroughputExceededException` (400); both retryable. Default:
   * either, half and half.
   */
  errorType?: DynamoDbFaultType;
}

export type DynamoDbFaultType = 'InternalServerError' | 'ProvisionedThroughputExceededException';

export interface DynamoDbStats {
  calls: number;
  faultsInjected: number;
}

export interface LocalStack {
  endpoint: string;
  region: string;
  queueUrls: Record<'requests' | 'requestsDlq' | 'tracking' | 'trackingDlq' | 'events', string>;
  tableName: string;
  busName: string;
  maxAttempts: number;
  openSearch: OpenSearchEmulator;
  eventBridge: EventBridgeEmulator;
  sqs: FauxqsServer;
  runners: QueueRunner[];
  /** Calls that reached the DynamoDB route, and how many of them got an injected fault. */
  dynamoDbStats(): DynamoDbStats;
  /** CPU time used so far, by thread: which part of the stack a busy machine is busy with. */
  cpuUsage(): Promise<StackCpuUsage>;
  /** Stops every part; resolves when every port is closed. */
  stop(): Promise<void>;
}

export interface StackCpuUsage {
  /** The main thread: SQS, both emulators, the edge proxy and the runners' polling. */
  mainThreadMicros: number;
  dynamoDbMicros: number;
  /** The handlers' execution environments (worker threads) now alive. */
  handlerMicros: number;
}

function toNumber(value: unknown, name: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`serverless.yml: ${name} is not a number (${String(value)})`);
  return parsed;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

const DYNAMODB_FAULT_STATUS: Record<DynamoDbFaultType, number> = {
  InternalServerError: 500,
  ProvisionedThroughputExceededException: 400,
};

/**
 * The DynamoDB edge route: proxies to dynalite, except for a share of calls answered with an AWS JSON 1.0
 * error before they reach it, so a faulted write never half-happens.
 */
function faultyDynamoRoute(
  upstream: string,
  faults: DynamoDbFaults,
  random: () => number,
  stats: DynamoDbStats,
): EdgeHandler {
  if (!(faults.rate >= 0 && faults.rate <= 1)) {
    throw new Error(`dynamoDbFaults.rate must be from 0 to 1, got ${faults.rate}`);
  }
  const target = new URL(upstream);
  return async (req: IncomingMessage, res: ServerResponse) => {
    stats.calls += 1;
    if (random() < faults.rate) {
      stats.faultsInjected += 1;
      // Drained so the connection can carry the client's next call.
      await finished(req.resume());
      const errorType =
        faults.errorType ??
        (random() < 0.5 ? 'InternalServerError' : 'ProvisionedThroughputExceededException');
      const body = JSON.stringify({
        __type: `com.amazonaws.dynamodb.v20120810#${errorType}`,
        message: `Injected ${errorType}`,
      });
      res.writeHead(DYNAMODB_FAULT_STATUS[errorType], {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-errortype': errorType,
        'content-length': String(Buffer.byteLength(body)),
      });
      res.end(body);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const forwarded = httpRequest(
        {
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url ?? '/',
          headers: { ...req.headers, host: target.host },
        },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
          response.on('end', resolve);
          response.on('error', reject);
        },
      );
      forwarded.on('error', reject);
      req.pipe(forwarded);
    });
  };
}

/**
 * Starts the whole service on this machine: SQS (fauxqs), DynamoDB (dynalite), the OpenSearch packages API
 * and EventBridge PutEvents emulators behind one edge endpoint, and runners that invoke the real handler
 * modules with the event source mapping's semantics read from serverless.yml.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const ymlPath = options.serverlessYml ?? 'serverless.yml';
  const functions = loadFunctionSettings(ymlPath, { stage: 'local' });
  const queues = loadQueueSettings(ymlPath, { stage: 'local' });
  const params = loadParamDefaults(ymlPath, { stage: 'local' });
  const associate = functions.associatePackage;
  const track = functions.trackAssociation;
  if (associate === undefined || track === undefined) {
    throw new Error(`${ymlPath}: functions associatePackage and trackAssociation are required`);
  }
  const requestsQueue = queues[associate.sqs.queueLogicalId];
  const trackingQueue = queues[track.sqs.queueLogicalId];
  const maxAttempts = toNumber(params.maxAttempts, 'params.maxAttempts');
  const maxReceiveCount = toNumber(requestsQueue?.maxReceiveCount ?? maxAttempts + 1, 'maxReceiveCount');
  const visibility = (seconds: number | undefined) =>
    String(options.visibilityTimeoutSeconds ?? seconds ?? 30);
  const queueAttributes = (
    settings: QueueSettings | undefined,
    dlqName: string,
    maxReceiveCount: number,
  ) => ({
    VisibilityTimeout: visibility(settings?.visibilityTimeout),
    ...(settings?.maximumMessageSize !== undefined && {
      MaximumMessageSize: String(settings.maximumMessageSize),
    }),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${dlqName}`,
      maxReceiveCount,
    }),
  });

  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopper of stoppers.splice(0).reverse()) await stopper();
  };
  try {
    const sqsDataDir = options.dataDir === undefined ? undefined : join(options.dataDir, 'sqs');
    if (sqsDataDir !== undefined) mkdirSync(sqsDataDir, { recursive: true });
    const sqs = await startFauxqs({
      port: 0,
      logger: false,
      defaultRegion: LOCAL_REGION,
      ...(sqsDataDir && { dataDir: sqsDataDir }),
    });
    stoppers.push(() => sqs.stop());
    sqs.setup({
      queues: [
        { name: LOCAL_NAMES.requestsDlq, attributes: { MessageRetentionPeriod: '1209600' } },
        { name: LOCAL_NAMES.trackingDlq, attributes: { MessageRetentionPeriod: '1209600' } },
        {
          name: LOCAL_NAMES.requestsQueue,
          attributes: queueAttributes(requestsQueue, LOCAL_NAMES.requestsDlq, maxReceiveCount),
        },
        {
          name: LOCAL_NAMES.trackingQueue,
          attributes: queueAttributes(
            trackingQueue,
            LOCAL_NAMES.trackingDlq,
            toNumber(trackingQueue?.maxReceiveCount ?? 1000, 'tracking maxReceiveCount'),
          ),
        },
        { name: LOCAL_NAMES.eventsQueue },
      ],
    });

    const dynamo = await startDynalite(
      options.dataDir === undefined ? undefined : join(options.dataDir, 'dynamodb'),
    );
    stoppers.push(() => dynamo.close());
    await createLedgerTable(dynamo.url, LOCAL_NAMES.table);

    const openSearch = createOpenSearchEmulator({
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      ...(options.seed !== undefined && { seed: options.seed }),
      ...(options.associationDelayMs !== undefined && { associationDelayMs: options.associationDelayMs }),
      ...(options.openSearchFaults && { faults: options.openSearchFaults }),
      ...(options.openSearchLatencyMs !== undefined && { latencyMs: options.openSearchLatencyMs }),
      ...(options.randomSeed !== undefined && { randomSeed: options.randomSeed }),
    });
    stoppers.push(async () => openSearch.close());
    const eventBridge = createEventBridgeEmulator({
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      buses: [LOCAL_NAMES.bus],
      ...(options.eventBridgeFaults && { faults: options.eventBridgeFaults }),
      ...(options.randomSeed !== undefined && { randomSeed: options.randomSeed + 1 }),
      rules: [
        {
          name: 'all-association-events',
          eventBusName: LOCAL_NAMES.bus,
          deliver: async (envelope) => {
            sqs.sendMessage(LOCAL_NAMES.eventsQueue, envelope);
          },
        },
      ],
    });

    const dynamoDbStats: DynamoDbStats = { calls: 0, faultsInjected: 0 };
    const dynamoRoute = options.dynamoDbFaults
      ? faultyDynamoRoute(
          dynamo.url,
          options.dynamoDbFaults,
          seededRandom(options.randomSeed === undefined ? Date.now() : options.randomSeed + 3),
          dynamoDbStats,
        )
      : dynamo.url;
    const edge: EdgeServer = await startEdge({
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 4566,
      routes: {
        sqs: { upstream: sqs.address, rewriteQueueUrls: true },
        dynamodb: dynamoRoute,
        es: openSearch.handle,
        events: eventBridge.handle,
      },
      adminRoutes: {
        [OPENSEARCH_ADMIN_PREFIX]: openSearch.handle,
        [EVENTS_ADMIN_PREFIX]: eventBridge.handle,
      },
    });
    stoppers.push(() => edge.close());

    const queueUrl = (name: string) => `${edge.url}/${LOCAL_ACCOUNT}/${name}`;
    const queueUrls = {
      requests: queueUrl(LOCAL_NAMES.requestsQueue),
      requestsDlq: queueUrl(LOCAL_NAMES.requestsDlq),
      tracking: queueUrl(LOCAL_NAMES.trackingQueue),
      trackingDlq: queueUrl(LOCAL_NAMES.trackingDlq),
      events: queueUrl(LOCAL_NAMES.eventsQueue),
    };
    const handlerEnvironment: Record<string, string> = {
      AWS_ENDPOINT_URL: edge.url,
      // Everything runs on this process's one thread: the handlers' own SQS and DynamoDB traffic skips the
      // edge's extra proxy hop (people and their tools still use the one endpoint).
      AWS_ENDPOINT_URL_SQS: sqs.address,
      ...(options.dynamoDbFaults === undefined && { AWS_ENDPOINT_URL_DYNAMODB: dynamo.url }),
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      EVENT_BUS_NAME: LOCAL_NAMES.bus,
      EVENT_SOURCE: String(params.eventSource ?? 'package-associator'),
      DLQ_URL: queueUrls.requestsDlq,
      TRACKING_QUEUE_URL: queueUrls.tracking,
      TRACKING_DLQ_URL: queueUrls.trackingDlq,
      LEDGER_TABLE: LOCAL_NAMES.table,
      ALLOWED_DOMAINS: String(params.allowedDomains ?? ''),
      MAX_ATTEMPTS: String(maxAttempts),
      RETRY_BUDGET_SECONDS: String(params.retryBudgetSeconds ?? 3600),
      IDEMPOTENCY_TTL_SECONDS: String(params.idempotencyTtlSeconds ?? 86_400),
      TRACKING_DEADLINE_SECONDS: String(params.trackingDeadlineSeconds ?? 1800),
      POWERTOOLS_SERVICE_NAME: 'package-associator',
      POWERTOOLS_METRICS_NAMESPACE: 'PackageAssociator',
      // No X-Ray daemon and no CloudWatch here: traces and EMF metrics would only be noise on the console.
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO',
      ...options.handlerEnvironment,
    };
    const runnerClient = new SQSClient({
      endpoint: sqs.address,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    const runners: QueueRunner[] = [];
    stoppers.push(async () => {
      await Promise.all(runners.map((runner) => runner.stop()));
      runnerClient.destroy();
    });
    for (const [name, settings, url] of [
      ['associatePackage', associate, queueUrls.requests],
      ['trackAssociation', track, queueUrls.tracking],
    ] as const) {
      runners.push(
        startQueueRunner({
          sqs: runnerClient,
          queueUrl: url,
          handler: { module: settings.handlerModulePath, export: settings.handlerExport },
          functionName: `package-associator-local-${name}`,
          batchSize: settings.sqs.batchSize,
          maximumBatchingWindowSeconds: settings.sqs.maximumBatchingWindowSeconds,
          maximumConcurrency: settings.sqs.maximumConcurrency,
          timeoutSeconds: options.functionTimeoutSeconds ?? settings.timeoutSeconds,
          memorySize: settings.memorySize,
          reportBatchItemFailures: settings.sqs.reportBatchItemFailures,
          region: LOCAL_REGION,
          accountId: LOCAL_ACCOUNT,
          environment: handlerEnvironment,
          ...(options.onInvoke && { onInvoke: options.onInvoke }),
          ...(options.runnerCrashRate !== undefined && { crashRate: options.runnerCrashRate }),
          ...(options.runnerTimeoutRate !== undefined && { timeoutRate: options.runnerTimeoutRate }),
          ...(options.randomSeed !== undefined && { faultSeed: options.randomSeed + 2 }),
        }),
      );
    }

    return {
      endpoint: edge.url,
      region: LOCAL_REGION,
      queueUrls,
      tableName: LOCAL_NAMES.table,
      busName: LOCAL_NAMES.bus,
      maxAttempts,
      openSearch,
      eventBridge,
      sqs,
      runners,
      dynamoDbStats: () => ({ ...dynamoDbStats }),
      async cpuUsage() {
        const main = process.threadCpuUsage();
        const [dynamoDbMicros, ...handlers] = await Promise.all([
          dynamo.cpuMicros(),
          ...runners.map((runner) => runner.handlerThreadCpuMicros()),
        ]);
        return {
          mainThreadMicros: main.user + main.system,
          dynamoDbMicros,
          handlerMicros: handlers.reduce((total, micros) => total + micros, 0),
        };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
