import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import { seededRandom } from '../rng.ts';
import {
  CONNECTION_RESET_FAULT,
  type FaultTarget,
  faultRulesSchema,
  InvalidEmulatorConfigError,
  LOST_ANSWER_FAULT,
  latencyFor,
  latencySettingSchema,
  parseFaultRules,
  parseLatencySetting,
  pickFault,
} from './faults.ts';
import {
  type CallCount,
  type FaultRule,
  type LatencySetting,
  OPERATION_NAMES,
  type OperationName,
} from './model.ts';
import { matchRoute, OPERATIONS } from './operations.ts';
import { loadSeed, type SeedData } from './seed.ts';
import { type AssociationSnapshot, PackageStore } from './store.ts';
import { EmulatorApiError, isRecord, parseJsonObject, readBody, sendError, sendJson } from './wire.ts';

export interface OpenSearchEmulatorOptions {
  /** Seed data, or the path of a seed JSON file; default `local/seed.json`. */
  seed?: SeedData | string;
  /** Default `us-east-1`. */
  region?: string;
  /** Default `000000000000`. */
  accountId?: string;
  /** How long an association (or dissociation) stays in progress; default 3000 ms. */
  associationDelayMs?: number;
  /** Refuse a package operation while another one runs on the same domain; default true. */
  conflictOnConcurrentOperations?: boolean;
  /** The per-domain package quota; default 20. */
  maxPackagesPerDomain?: number;
  faults?: FaultRule[];
  latencyMs?: LatencySetting;
  /** Makes fault injection repeatable; without it faults draw from Math.random. */
  randomSeed?: number;
  /** Clock in epoch ms; inject one to step through ASSOCIATING → ACTIVE without waiting. */
  now?: () => number;
}

export interface EmulatorRuntimeSettings {
  associationDelayMs?: number;
  conflictOnConcurrentOperations?: boolean;
}

export interface OpenSearchEmulatorState {
  region: string;
  accountId: string;
  associationDelayMs: number;
  conflictOnConcurrentOperations: boolean;
  maxPackagesPerDomain: number;
  faults: FaultRule[];
  latencyMs: LatencySetting;
  callCounts: Record<OperationName, CallCount>;
  domains: string[];
  packages: { PackageID: string; PackageName: string; PackageStatus: string }[];
  associations: AssociationSnapshot[];
}

export interface OpenSearchEmulator {
  /** Answers one request (API or `/_emulator/opensearch/` admin route); reads the body itself and never rejects. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  setFaults(faults: FaultRule[]): void;
  getFaults(): FaultRule[];
  setLatency(latency: LatencySetting): void;
  configure(settings: EmulatorRuntimeSettings): void;
  callCounts(): Record<OperationName, CallCount>;
  getDomainPackageStatus(domainName: string, packageId: string): string | undefined;
  state(): OpenSearchEmulatorState;
  /** Back to the seed data and the construction options; call counts start again from zero. */
  reset(): void;
  /** Ends pending latency waits so no timer outlives the emulator. */
  close(): void;
}

/** Admin routes live under their own prefix so the edge router can mount them beside other emulators'. */
export const EMULATOR_ADMIN_PREFIX = '/_emulator/opensearch/';

const DEFAULT_ASSOCIATION_DELAY_MS = 3000;
const DEFAULT_MAX_PACKAGES_PER_DOMAIN = 20;

const runtimeSettingsSchema = z.strictObject({
  associationDelayMs: z.int().min(0).max(3_600_000).optional(),
  conflictOnConcurrentOperations: z.boolean().optional(),
});

const faultsBodySchema = z.strictObject({ faults: faultRulesSchema });
const latencyBodySchema = z.strictObject({ latencyMs: latencySettingSchema });

function zeroCounts(): Record<OperationName, CallCount> {
  return Object.fromEntries(
    OPERATION_NAMES.map((name) => [name, { calls: 0, succeeded: 0, failed: 0 }]),
  ) as Record<OperationName, CallCount>;
}

export function createOpenSearchEmulator(options: OpenSearchEmulatorOptions = {}): OpenSearchEmulator {
  const seed = loadSeed(options.seed);
  const now = options.now ?? Date.now;
  const initialFaults = parseFaultRules(options.faults ?? []);
  const initialLatency = parseLatencySetting(options.latencyMs ?? 0);
  const initialSettings: Required<EmulatorRuntimeSettings> = {
    associationDelayMs: options.associationDelayMs ?? DEFAULT_ASSOCIATION_DELAY_MS,
    conflictOnConcurrentOperations: options.conflictOnConcurrentOperations ?? true,
  };
  parseRuntimeSettings(initialSettings);
  const store = new PackageStore(
    seed,
    {
      region: options.region ?? 'us-east-1',
      accountId: options.accountId ?? '000000000000',
      ...initialSettings,
      maxPackagesPerDomain: options.maxPackagesPerDomain ?? DEFAULT_MAX_PACKAGES_PER_DOMAIN,
    },
    now,
  );

  let faults = initialFaults;
  let latency = initialLatency;
  let counts = zeroCounts();
  const newRandom = () => (options.randomSeed === undefined ? Math.random : seededRandom(options.randomSeed));
  let random = newRandom();
  const pendingWaits = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  const wait = (ms: number): Promise<void> | undefined => {
    if (ms <= 0) return undefined;
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          pendingWaits.delete(entry);
          resolve();
        }, ms).unref(),
        resolve,
      };
      pendingWaits.add(entry);
    });
  };

  const emulator: OpenSearchEmulator = {
    async handle(req, res) {
      try {
        const url = new URL(req.url ?? '/', 'http://emulator.local');
        if (url.pathname.startsWith(EMULATOR_ADMIN_PREFIX)) {
          await handleAdmin(req, res, url.pathname.slice(EMULATOR_ADMIN_PREFIX.length));
          return;
        }
        const route = matchRoute(req.method ?? 'GET', url.pathname);
        if (route === undefined) {
          await readBody(req);
          sendError(
            res,
            new EmulatorApiError(
              'UnknownOperationException',
              `No operation at ${req.method} ${url.pathname}`,
              404,
            ),
          );
          return;
        }
        await runOperation(req, res, route.operation, route.params, url.searchParams);
      } catch (error) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendError(res, asApiError(error));
      }
    },

    setFaults(rules) {
      faults = parseFaultRules(rules);
    },

    getFaults() {
      return faults.map((rule) => ({ ...rule }));
    },

    setLatency(setting) {
      latency = parseLatencySetting(setting);
    },

    configure(settings) {
      store.configure(parseRuntimeSettings(settings));
    },

    callCounts() {
      return Object.fromEntries(
        Object.entries(counts).map(([name, count]) => [name, { ...count }]),
      ) as Record<OperationName, CallCount>;
    },

    getDomainPackageStatus(domainName, packageId) {
      return store.statusOf(domainName, packageId);
    },

    state() {
      const { domains, packages, associations } = store.snapshot();
      const { region, accountId, associationDelayMs, conflictOnConcurrentOperations, maxPackagesPerDomain } =
        store.config;
      return {
        region,
        accountId,
        associationDelayMs,
        conflictOnConcurrentOperations,
        maxPackagesPerDomain,
        faults: emulator.getFaults(),
        latencyMs: typeof latency === 'number' ? latency : { ...latency },
        callCounts: emulator.callCounts(),
        domains,
        packages: packages.map(({ PackageID, PackageName, PackageStatus }) => ({
          PackageID,
          PackageName,
          PackageStatus,
        })),
        associations,
      };
    },

    reset() {
      store.configure(initialSettings);
      store.reset();
      faults = initialFaults;
      latency = initialLatency;
      counts = zeroCounts();
      random = newRandom();
    },

    close() {
      for (const entry of pendingWaits) {
        clearTimeout(entry.timer);
        entry.resolve();
      }
      pendingWaits.clear();
    },
  };

  async function runOperation(
    req: IncomingMessage,
    res: ServerResponse,
    operation: OperationName,
    params: Record<string, string>,
    query: URLSearchParams,
  ): Promise<void> {
    const count = counts[operation];
    count.calls += 1;
    let loseAnswer = false;
    try {
      const rawBody = await readBody(req);
      await wait(latencyFor(latency, operation));
      const fault = pickFault(faults, faultTarget(operation, params, rawBody), random);
      if (fault?.errorType === CONNECTION_RESET_FAULT) {
        count.failed += 1;
        req.socket.destroy();
        return;
      }
      loseAnswer = fault?.errorType === LOST_ANSWER_FAULT;
      if (fault !== undefined && !loseAnswer) {
        throw new EmulatorApiError(
          fault.errorType,
          fault.message ?? `Injected ${fault.errorType} for ${operation}`,
          fault.status,
        );
      }
      const body = req.method === 'GET' ? {} : parseJsonObject(rawBody);
      const result = OPERATIONS[operation](store, { params, query, body });
      count.succeeded += 1;
      if (loseAnswer) {
        // The operation has run; only its answer is lost.
        req.socket.destroy();
        return;
      }
      sendJson(res, 200, result);
    } catch (error) {
      count.failed += 1;
      if (loseAnswer) {
        // A refused call is lost the same way: the client cannot tell what happened.
        req.socket.destroy();
        return;
      }
      sendError(res, asApiError(error));
    }
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, action: string): Promise<void> {
    const rawBody = await readBody(req);
    const route = `${req.method} ${action}`;
    try {
      switch (route) {
        case 'GET state':
          sendJson(res, 200, emulator.state());
          return;
        case 'GET call-counts':
          sendJson(res, 200, emulator.callCounts());
          return;
        case 'GET faults':
          sendJson(res, 200, { faults: emulator.getFaults() });
          return;
        case 'POST faults':
        case 'PUT faults':
          emulator.setFaults(parseAdminBody(faultsBodySchema, rawBody).faults);
          sendJson(res, 200, { faults: emulator.getFaults() });
          return;
        case 'DELETE faults':
          emulator.setFaults([]);
          sendJson(res, 200, { faults: [] });
          return;
        case 'POST latency':
          emulator.setLatency(parseAdminBody(latencyBodySchema, rawBody).latencyMs);
          sendJson(res, 200, { latencyMs: latency });
          return;
        case 'POST config':
          store.configure(parseRuntimeSettings(parseJsonObject(rawBody)));
          sendJson(res, 200, emulator.state());
          return;
        case 'POST reset':
          emulator.reset();
          sendJson(res, 200, emulator.state());
          return;
        default:
          sendJson(res, 404, { message: `No emulator admin route ${route}` });
      }
    } catch (error) {
      if (error instanceof InvalidEmulatorConfigError || error instanceof EmulatorApiError) {
        sendJson(res, 400, { message: error.message });
        return;
      }
      throw error;
    }
  }

  return emulator;
}

function parseAdminBody<T>(schema: z.ZodType<T>, rawBody: string): T {
  const result = schema.safeParse(parseJsonObject(rawBody));
  if (!result.success) throw new InvalidEmulatorConfigError(z.prettifyError(result.error));
  return result.data;
}

function parseRuntimeSettings(settings: unknown): EmulatorRuntimeSettings {
  const result = runtimeSettingsSchema.safeParse(settings);
  if (!result.success) throw new InvalidEmulatorConfigError(z.prettifyError(result.error));
  return result.data;
}

/**
 * The domain and packages a call names, for fault rules scoped to them. Read leniently: a malformed body
 * names nothing here, and the operation refuses it as it would without faults.
 */
function faultTarget(operation: OperationName, params: Record<string, string>, rawBody: string): FaultTarget {
  const target = {
    operation,
    domainName: params.DomainName,
    packageIds: params.PackageID ? [params.PackageID] : [],
  };
  if (operation !== 'AssociatePackages' && operation !== 'DescribePackages') return target;
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return target;
  }
  if (!isRecord(body)) return target;
  const strings = (values: unknown[]) => values.filter((value): value is string => typeof value === 'string');
  if (operation === 'AssociatePackages') {
    const list = Array.isArray(body.PackageList) ? body.PackageList : [];
    return {
      operation,
      domainName: typeof body.DomainName === 'string' ? body.DomainName : undefined,
      packageIds: strings(list.map((entry) => (isRecord(entry) ? entry.PackageID : undefined))),
    };
  }
  const filters = Array.isArray(body.Filters) ? body.Filters : [];
  return {
    operation,
    packageIds: filters.flatMap((filter) =>
      isRecord(filter) && filter.Name === 'PackageID' && Array.isArray(filter.Value)
        ? strings(filter.Value)
        : [],
    ),
  };
}

/** Anything that is not a deliberate API error is the emulator's own fault: InternalException. */
function asApiError(error: unknown): EmulatorApiError {
  if (error instanceof EmulatorApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EmulatorApiError('InternalException', `Emulator error: ${message}`);
}
