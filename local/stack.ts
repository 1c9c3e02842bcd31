import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { createLedgerTable, startDynalite } from './dynamo.ts';
import {
  createDynamoDbFaultInjector,
  DYNAMODB_ADMIN_PREFIX,
  type DynamoDbFaultInjector,
  type DynamoDbFaultSetting,
  type DynamoDbStats,
} from './dynamodb-faults.ts';
import { type EdgeServer, startEdge } from './edge.ts';
import {
  createEventBridgeEmulator,
  EMULATOR_ADMIN_PREFIX as EVENTS_ADMIN_PREFIX,
  type EventBridgeEmulator,
  type EventBridgeEmulatorOptions,
  type EventBridgeFaults,
} from './eventbridge/index.ts';
import { LAMBDA_ADMIN_PREFIX, lambdaAdminHandler } from './lambda-faults.ts';
import {
  createOpenSearchEmulator,
  type FaultRule,
  EMULATOR_ADMIN_PREFIX as OPENSEARCH_ADMIN_PREFIX,
  type OpenSearchEmulator,
  type RateLimit,
  type SeedData,
} from './opensearch/index.ts';
import { seededRandom } from './rng.ts';
import {
  type InvocationReport,
  type QueueRunner,
  type RunnerFaultRates,
  startQueueRunner,
} from './runner.ts';
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
  eventsRule: 'package-association-events-to-queue',
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
  /** Domains and packages of the OpenSearch emulator; default the demo data in local/seed.json. */
  seed?: SeedData | string;
  /** How long the emulator keeps a dictionary's association ASSOCIATING; default 3000 ms. */
  associationDelayMs?: number;
  /** How long a plugin's blue/green association runs, the domain processing; default `associationDelayMs`. */
  pluginAssociationDelayMs?: number;
  /** How long a created or updated package stays COPYING, then VALIDATING; defaults 1000 and 2000 ms. */
  packageCopyMs?: number;
  packageValidationMs?: number;
  openSearchFaults?: FaultRule[];
  openSearchLatencyMs?: number;
  /** Throttles the OpenSearch API past this rate (a token bucket for the account); default off. */
  openSearchRateLimit?: RateLimit;
  /** The emulator's per-domain package quota; default 20, as on AWS. */
  maxPackagesPerDomain?: number;
  eventBridgeFaults?: EventBridgeFaults;
  /**
   * Faults on DynamoDB calls: a list of rules (`{ operation?, rate, errorType? }`, see DynamoDbFaultRule) or one
   * `{ rate, errorType? }` for every operation. When given, even as `[]`, the handlers' own DynamoDB calls take
   * the fault route too, so rules set later (`/_emulator/dynamodb/faults`, `stack.dynamoDb.setFaults`) reach
   * them; without it they go straight to dynalite (one hop fewer) and only calls through the edge are faulted.
   */
  dynamoDbFaults?: DynamoDbFaultSetting;
  /** Share of invocations the runner crashes or times out after the handler ran (soak tests). */
  runnerCrashRate?: number;
  runnerTimeoutRate?: number;
  /** Per function, on top of `runnerCrashRate` and `runnerTimeoutRate`; changeable at `/_emulator/lambda/faults`. */
  runnerFaults?: Partial<Record<LocalFunctionName, Partial<RunnerFaultRates>>>;
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
  /** Told when a rule's target could not take an event (a queue that does not exist, a FIFO refusal...). */
  onEventDeliveryError?: EventBridgeEmulatorOptions['onDeliveryError'];
}

export type {
  DynamoDbFaultKind,
  DynamoDbFaultRule,
  DynamoDbFaults,
  DynamoDbFaultType,
  DynamoDbOperation,
  DynamoDbStats,
} from './dynamodb-faults.ts';

/** The functions the local stack runs, by their name in serverless.yml. */
export type LocalFunctionName = 'associatePackage' | 'trackAssociation';

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
  /** DynamoDB fault rules and counts, as `/_emulator/dynamodb/` serves them. */
  dynamoDb: Pick<DynamoDbFaultInjector, 'setFaults' | 'faults' | 'stats'>;
  /** Calls that reached the DynamoDB route, and how many of them got an injected fault (of which kind). */
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

/**
 * The service's own subscriber: an ordinary rule on the bus, made with PutRule and PutTargets as a
 * subscriber would, so ListRules shows it and it can be disabled, retargeted or deleted like any other.
 */
async function subscribeEventsQueue(eventBridge: EventBridgeEmulator, eventSource: string): Promise<void> {
  const rule = { Name: LOCAL_NAMES.eventsRule, EventBusName: LOCAL_NAMES.bus };
  await eventBridge.call('PutRule', {
    ...rule,
    EventPattern: JSON.stringify({ source: [eventSource] }),
    Description: `Every event of the service into the local ${LOCAL_NAMES.eventsQueue} queue`,
  });
  await eventBridge.call('PutTargets', {
    Rule: rule.Name,
    EventBusName: rule.EventBusName,
    Targets: [
      { Id: 'events-queue', Arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${LOCAL_NAMES.eventsQueue}` },
    ],
  });
}

/**
 * Starts the whole service on this machine: SQS (fauxqs), DynamoDB (dynalite), the OpenSearch packages API
 * and EventBridge emulators behind one edge endpoint, and runners that invoke the real handler
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
  const eventSource = String(params.eventSource ?? 'package-associator');
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
      ...(options.pluginAssociationDelayMs !== undefined && {
        pluginAssociationDelayMs: options.pluginAssociationDelayMs,
      }),
      ...(options.packageCopyMs !== undefined && { packageCopyMs: options.packageCopyMs }),
      ...(options.packageValidationMs !== undefined && { packageValidationMs: options.packageValidationMs }),
      ...(options.openSearchFaults && { faults: options.openSearchFaults }),
      ...(options.openSearchLatencyMs !== undefined && { latencyMs: options.openSearchLatencyMs }),
      ...(options.openSearchRateLimit !== undefined && { rateLimit: options.openSearchRateLimit }),
      ...(options.maxPackagesPerDomain !== undefined && {
        maxPackagesPerDomain: options.maxPackagesPerDomain,
      }),
      ...(options.randomSeed !== undefined && { randomSeed: options.randomSeed }),
    });
    stoppers.push(async () => openSearch.close());
    const eventBridge = createEventBridgeEmulator({
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      buses: [LOCAL_NAMES.bus],
      ...(options.eventBridgeFaults && { faults: options.eventBridgeFaults }),
      ...(options.randomSeed !== undefined && { randomSeed: options.randomSeed + 1 }),
      ...(options.onEventDeliveryError && { onDeliveryError: options.onEventDeliveryError }),
      deliverToQueue: async (queue, body, { messageGroupId }) => {
        sqs.sendMessage(queue.queueName, body, {
          region: queue.region,
          ...(messageGroupId !== undefined && { messageGroupId }),
        });
      },
    });
    await subscribeEventsQueue(eventBridge, eventSource);

    const dynamoDb = createDynamoDbFaultInjector({
      upstream: dynamo.url,
      ...(options.dynamoDbFaults !== undefined && { faults: options.dynamoDbFaults }),
      random: seededRandom(options.randomSeed === undefined ? Date.now() : options.randomSeed + 3),
    });
    // The runners start once the edge's URL is known; until then the route has none to serve.
    let lambdaAdmin = lambdaAdminHandler({});
    const edge: EdgeServer = await startEdge({
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 4566,
      routes: {
        sqs: { upstream: sqs.address, rewriteQueueUrls: true },
        dynamodb: dynamoDb.handle,
        es: openSearch.handle,
        events: eventBridge.handle,
      },
      adminRoutes: {
        [OPENSEARCH_ADMIN_PREFIX]: openSearch.handle,
        [EVENTS_ADMIN_PREFIX]: eventBridge.handle,
        [DYNAMODB_ADMIN_PREFIX]: dynamoDb.handleAdmin,
        [LAMBDA_ADMIN_PREFIX]: (req, res) => lambdaAdmin(req, res),
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
      EVENT_SOURCE: eventSource,
      DLQ_URL: queueUrls.requestsDlq,
      REQUESTS_QUEUE_URL: queueUrls.requests,
      TRACKING_QUEUE_URL: queueUrls.tracking,
      TRACKING_DLQ_URL: queueUrls.trackingDlq,
      LEDGER_TABLE: LOCAL_NAMES.table,
      ALLOWED_DOMAINS: String(params.allowedDomains ?? ''),
      KEY_ACCESS_ROLE_ARNS: String(params.keyAccessRoleArns ?? ''),
      MAX_ATTEMPTS: String(maxAttempts),
      RETRY_BUDGET_SECONDS: String(params.retryBudgetSeconds ?? 3600),
      IDEMPOTENCY_TTL_SECONDS: String(params.idempotencyTtlSeconds ?? 86_400),
      TRACKING_DEADLINE_SECONDS: String(params.trackingDeadlineSeconds ?? 1800),
      PLUGIN_TRACKING_DEADLINE_SECONDS: String(params.pluginTrackingDeadlineSeconds ?? 21_600),
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
    const runnersByName: Partial<Record<LocalFunctionName, QueueRunner>> = {};
    stoppers.push(async () => {
      await Promise.all(runners.map((runner) => runner.stop()));
      runnerClient.destroy();
    });
    for (const [name, settings, url] of [
      ['associatePackage', associate, queueUrls.requests],
      ['trackAssociation', track, queueUrls.tracking],
    ] as const) {
      const runner = startQueueRunner({
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
        crashRate: options.runnerFaults?.[name]?.crashRate ?? options.runnerCrashRate ?? 0,
        timeoutRate: options.runnerFaults?.[name]?.timeoutRate ?? options.runnerTimeoutRate ?? 0,
        ...(options.randomSeed !== undefined && { faultSeed: options.randomSeed + 2 }),
      });
      runners.push(runner);
      runnersByName[name] = runner;
    }
    lambdaAdmin = lambdaAdminHandler(runnersByName);

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
      dynamoDb: {
        setFaults: dynamoDb.setFaults,
        faults: dynamoDb.faults,
        stats: dynamoDb.stats,
      },
      dynamoDbStats: dynamoDb.stats,
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
