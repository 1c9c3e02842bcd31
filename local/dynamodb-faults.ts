/**
 * Fault injection in front of dynalite: the local stack's DynamoDB route forwards each call, except a share
 * the rules pick, which get an AWS JSON 1.0 error (before dynalite sees the call, so a faulted write never
 * half-happens), a reset connection (the call never ran), or a lost answer (the call ran, then the connection
 * is reset before the answer: the client cannot tell which happened).
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { finished } from 'node:stream/promises';
import * as z from 'zod';
import { adminHandler, parseAdminBody, sendAdminJson } from './admin-json.ts';
import type { Random } from './rng.ts';

/** The DynamoDB operations a rule can name (`X-Amz-Target: DynamoDB_20120810.<operation>`). */
export const DYNAMODB_OPERATIONS = [
  'BatchExecuteStatement',
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'ExecuteStatement',
  'ExecuteTransaction',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'TransactGetItems',
  'TransactWriteItems',
  'UpdateItem',
  'UpdateTable',
  'UpdateTimeToLive',
] as const;

export type DynamoDbOperation = (typeof DYNAMODB_OPERATIONS)[number];

/** Errors answered with the status DynamoDB gives them; both are retryable. */
export type DynamoDbFaultType = 'InternalServerError' | 'ProvisionedThroughputExceededException';

export const DYNAMODB_FAULT_KINDS = [
  'InternalServerError',
  'ProvisionedThroughputExceededException',
  'ConnectionReset',
  'LostAnswer',
] as const;

/** An error answer, `ConnectionReset` (dropped before the call runs) or `LostAnswer` (dropped after). */
export type DynamoDbFaultKind = (typeof DYNAMODB_FAULT_KINDS)[number];

export interface DynamoDbFaultRule {
  /** The operation the rule applies to; default `*`, every operation. */
  operation?: DynamoDbOperation | '*';
  /** Share of matching calls faulted, 0 to 1. */
  rate: number;
  /** Default: InternalServerError or ProvisionedThroughputExceededException, half and half. */
  errorType?: DynamoDbFaultKind;
}

/** The stack's first fault option: one rule for every operation. Still accepted as it was. */
export interface DynamoDbFaults {
  /** Share of calls answered with an error, 0 to 1. */
  rate: number;
  /**
   * `InternalServerError` (500) or `ProvisionedThroughputExceededException` (400); both retryable. Default:
   * either, half and half.
   */
  errorType?: DynamoDbFaultType;
}

/** A list of rules (each call draws once per matching rule, in order; the first hit wins), or the old single rule. */
export type DynamoDbFaultSetting = DynamoDbFaults | readonly DynamoDbFaultRule[];

export interface DynamoDbStats {
  /** Calls that reached the DynamoDB route. */
  calls: number;
  /** Calls that got an injected fault, of any kind. */
  faultsInjected: number;
  callsByOperation: Partial<Record<string, number>>;
  faultsByKind: Record<DynamoDbFaultKind, number>;
}

export class InvalidDynamoDbFaultsError extends Error {
  override readonly name = 'InvalidDynamoDbFaultsError';
}

export const DYNAMODB_ADMIN_PREFIX = '/_emulator/dynamodb/';

const TARGET_PREFIX = 'DynamoDB_20120810.';

const FAULT_STATUS: Record<DynamoDbFaultType, number> = {
  InternalServerError: 500,
  ProvisionedThroughputExceededException: 400,
};

const ruleSchema = z.strictObject({
  operation: z.enum([...DYNAMODB_OPERATIONS, '*']).default('*'),
  rate: z.number().min(0).max(1),
  errorType: z.enum(DYNAMODB_FAULT_KINDS).optional(),
});

const rulesSchema = z.array(ruleSchema);

const faultsBodySchema = z.strictObject({ faults: rulesSchema });

type NormalizedRule = z.infer<typeof ruleSchema>;

/** Validates a setting into the list of rules it means; the error names the offending field. */
export function parseDynamoDbFaults(setting: unknown): NormalizedRule[] {
  const rules = Array.isArray(setting) ? setting : [setting];
  const result = rulesSchema.safeParse(rules);
  if (!result.success) {
    throw new InvalidDynamoDbFaultsError(`dynamoDbFaults: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}

function zeroStats(): DynamoDbStats {
  return {
    calls: 0,
    faultsInjected: 0,
    callsByOperation: {},
    faultsByKind: Object.fromEntries(DYNAMODB_FAULT_KINDS.map((kind) => [kind, 0])) as Record<
      DynamoDbFaultKind,
      number
    >,
  };
}

/** `DynamoDB_20120810.GetItem` → `GetItem`; anything else → `unknown`. */
function operationOf(req: IncomingMessage): string {
  const target = req.headers['x-amz-target'];
  return typeof target === 'string' && target.startsWith(TARGET_PREFIX)
    ? target.slice(TARGET_PREFIX.length)
    : 'unknown';
}

export interface DynamoDbFaultInjector {
  /** The DynamoDB API route: forwards to dynalite or injects a fault. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** `/_emulator/dynamodb/faults` (GET, PUT/POST, DELETE) and `/_emulator/dynamodb/stats` (GET). */
  handleAdmin(req: IncomingMessage, res: ServerResponse): Promise<void>;
  setFaults(setting: DynamoDbFaultSetting): void;
  faults(): DynamoDbFaultRule[];
  stats(): DynamoDbStats;
}

export interface DynamoDbFaultInjectorOptions {
  /** dynalite's base URL. */
  upstream: string;
  faults?: DynamoDbFaultSetting;
  random: Random;
}

export function createDynamoDbFaultInjector(options: DynamoDbFaultInjectorOptions): DynamoDbFaultInjector {
  const target = new URL(options.upstream);
  let rules = parseDynamoDbFaults(options.faults ?? []);
  const { random } = options;
  const counters = zeroStats();

  /** Each matching rule draws once, in order, so a seed replays the same faults for the same calls. */
  const pickFault = (operation: string): DynamoDbFaultKind | undefined => {
    let chosen: NormalizedRule | undefined;
    for (const rule of rules) {
      if (rule.operation !== '*' && rule.operation !== operation) continue;
      const draw = random();
      if (chosen === undefined && draw < rule.rate) chosen = rule;
    }
    if (chosen === undefined) return undefined;
    return (
      chosen.errorType ?? (random() < 0.5 ? 'InternalServerError' : 'ProvisionedThroughputExceededException')
    );
  };

  /** Sends the call to dynalite; `answer` false reads dynalite's whole answer and drops it instead. */
  const forward = (req: IncomingMessage, res: ServerResponse, answer: boolean) =>
    new Promise<void>((resolve, reject) => {
      const forwarded = httpRequest(
        {
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url ?? '/',
          headers: { ...req.headers, host: target.host },
        },
        (response) => {
          response.on('error', reject);
          if (!answer) {
            // Read to the end, so dynalite has finished the call before the client's connection goes.
            response.resume();
            response.on('end', resolve);
            return;
          }
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
          response.on('end', resolve);
        },
      );
      forwarded.on('error', reject);
      req.pipe(forwarded);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const operation = operationOf(req);
    counters.calls += 1;
    counters.callsByOperation[operation] = (counters.callsByOperation[operation] ?? 0) + 1;
    const fault = pickFault(operation);
    if (fault === undefined) {
      await forward(req, res, true);
      return;
    }
    counters.faultsInjected += 1;
    counters.faultsByKind[fault] += 1;
    if (fault === 'LostAnswer') {
      await forward(req, res, false);
      req.socket.destroy();
      return;
    }
    // Drained so the connection can carry the client's next call (or, for a reset, so the call is all read).
    await finished(req.resume());
    if (fault === 'ConnectionReset') {
      req.socket.destroy();
      return;
    }
    const body = JSON.stringify({
      __type: `com.amazonaws.dynamodb.v20120810#${fault}`,
      message: `Injected ${fault}`,
    });
    res.writeHead(FAULT_STATUS[fault], {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-errortype': fault,
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  }

  const injector: DynamoDbFaultInjector = {
    handle,
    handleAdmin: adminHandler(DYNAMODB_ADMIN_PREFIX, {
      'GET faults': (_req, res) => sendAdminJson(res, 200, { faults: injector.faults() }),
      'PUT faults': (_req, res, raw) => setFromBody(res, raw),
      'POST faults': (_req, res, raw) => setFromBody(res, raw),
      'DELETE faults': (_req, res) => {
        rules = [];
        sendAdminJson(res, 200, { faults: [] });
      },
      'GET stats': (_req, res) => sendAdminJson(res, 200, injector.stats()),
    }),
    setFaults(setting) {
      rules = parseDynamoDbFaults(setting);
    },
    faults: () => rules.map((rule) => ({ ...rule })),
    stats: () => ({
      ...counters,
      callsByOperation: { ...counters.callsByOperation },
      faultsByKind: { ...counters.faultsByKind },
    }),
  };

  function setFromBody(res: ServerResponse, raw: string): void {
    rules = parseAdminBody(faultsBodySchema, raw).faults;
    sendAdminJson(res, 200, { faults: injector.faults() });
  }

  return injector;
}
