/**
 * List prices the cost estimate assumes (US East (N. Virginia), on-demand, no free tier), as published on the
 * AWS pricing pages when this benchmark was written; they cannot be looked up from here, so check them before
 * relying on the totals.
 */
export const PRICES = {
  asOf: '2025-06 (DynamoDB on-demand after the 2024-11-01 price cut)',
  region: 'us-east-1',
  /** https://aws.amazon.com/lambda/pricing/ — Arm, first 7.5 billion GB-seconds a month. */
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionInvocations: 0.2,
  /** https://aws.amazon.com/sqs/pricing/ — standard queue, per million requests (64 KB chunks). */
  sqsPerMillionRequests: 0.4,
  /** https://aws.amazon.com/eventbridge/pricing/ — custom events published, per million (64 KB chunks). */
  eventBridgePerMillionEvents: 1.0,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ — per million write request units (1 KB). */
  dynamoDbPerMillionWriteUnits: 0.625,
  /** The same page — per million read request units (4 KB strongly consistent). */
  dynamoDbPerMillionReadUnits: 0.125,
  /** https://aws.amazon.com/cloudwatch/pricing/ — Logs, standard class, ingestion per GB. */
  cloudWatchLogsPerGb: 0.5,
} as const;

/** Lambda gives a function one vCPU at 1,769 MB and CPU in proportion below that. */
export const MB_PER_VCPU = 1769;

/**
 * Assumed in-region latencies of the calls a request waits on, one after another (the handler runs the records
 * of a batch concurrently, so a batch waits about one request's chain): the ledger's read and claim, the call,
 * the follow write, the Started event, the tracking message, the clear. AssociatePackage is a control-plane call.
 */
export const ASSUMED_LATENCY_MS = {
  GetItem: 5,
  'PutItem (claim)': 5,
  AssociatePackage: 300,
  'PutItem (follow)': 5,
  PutEvents: 20,
  SendMessageBatch: 15,
  'PutItem (clear)': 5,
} as const;

export interface CostInputs {
  memoryMb: number;
  batchSize: number;
  /** CPU a warm batch needs at one full vCPU (measured). */
  cpuMsPerBatch: number;
  /** Log bytes written per request, the platform's START/END/REPORT lines not included (measured). */
  logBytesPerRequest: number;
  sqsRequestsPerRequest: number;
  eventsPerRequest: number;
  writeUnitsPerRequest: number;
  readUnitsPerRequest: number;
}

export interface CostBreakdown {
  batchDurationMs: number;
  lambdaDuration: number;
  lambdaRequests: number;
  sqs: number;
  eventBridge: number;
  dynamoDb: number;
  logs: number;
  total: number;
}

/** Bytes Lambda itself logs per invocation (START, END and REPORT lines). */
const PLATFORM_LOG_BYTES_PER_INVOCATION = 300;

/** Dollars per million successful requests, for one memory size. */
export function costPerMillion(inputs: CostInputs): CostBreakdown {
  const million = 1_000_000;
  const invocations = million / inputs.batchSize;
  const ioWaitMs = Object.values(ASSUMED_LATENCY_MS).reduce((total, value) => total + value, 0);
  const vcpu = Math.min(1, inputs.memoryMb / MB_PER_VCPU);
  // Conservative: CPU is counted as if it never overlapped the waits.
  const batchDurationMs = ioWaitMs + inputs.cpuMsPerBatch / vcpu;
  const gbSeconds = invocations * (batchDurationMs / 1000) * (inputs.memoryMb / 1024);
  const lambdaDuration = gbSeconds * PRICES.lambdaArmPerGbSecond;
  const lambdaRequests = (invocations / million) * PRICES.lambdaPerMillionInvocations;
  const sqs = inputs.sqsRequestsPerRequest * PRICES.sqsPerMillionRequests;
  const eventBridge = inputs.eventsPerRequest * PRICES.eventBridgePerMillionEvents;
  const dynamoDb =
    inputs.writeUnitsPerRequest * PRICES.dynamoDbPerMillionWriteUnits +
    inputs.readUnitsPerRequest * PRICES.dynamoDbPerMillionReadUnits;
  const logBytes = million * inputs.logBytesPerRequest + invocations * PLATFORM_LOG_BYTES_PER_INVOCATION;
  const logs = (logBytes / 1024 ** 3) * PRICES.cloudWatchLogsPerGb;
  return {
    batchDurationMs,
    lambdaDuration,
    lambdaRequests,
    sqs,
    eventBridge,
    dynamoDb,
    logs,
    total: lambdaDuration + lambdaRequests + sqs + eventBridge + dynamoDb + logs,
  };
}
