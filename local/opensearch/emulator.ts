import type { IncomingMessage, ServerResponse } from 'node:http';
import { seededRandom } from '../rng.ts';
import { handleAdmin, parseRuntimeSettings } from './admin.ts';
import {
  CONNECTION_RESET_FAULT,
  faultTarget,
  LOST_ANSWER_FAULT,
  latencyFor,
  parseFaultRules,
  parseLatencySetting,
  pickFault,
} from './faults.ts';
import {
  type CallCount,
  type ErrorDetails,
  type FaultRule,
  type LatencySetting,
  OPERATION_NAMES,
  type OperationName,
} from './model.ts';
import { matchRoute, OPERATIONS } from './operations.ts';
import { parseRateLimit, type RateLimit, TokenBucket, throttlingError } from './rate-limit.ts';
import { loadSeed, type SeedData } from './seed.ts';
import { type AssociationSnapshot, type InjectedFailures, PackageStore } from './store.ts';
import { EmulatorApiError, parseJsonObject, readBody, sendError, sendJson } from './wire.ts';

export interface OpenSearchEmulatorOptions {
  /** Seed data, or the path of a seed JSON file; default `local/seed.json`. */
  seed?: SeedData | string;
  /** Default `us-east-1`. */
  region?: string;
  /** Default `000000000000`. */
  accountId?: string;
  /** How long an association (or dissociation) of a dictionary stays in progress; default 3000 ms. */
  associationDelayMs?: number;
  /**
   * How long the blue/green deployment that associates or dissociates a plugin, licence or configuration
   * package runs, the domain processing meanwhile; default `associationDelayMs`.
   */
  pluginAssociationDelayMs?: number;
  /** How long a created or updated package stays COPYING; default 1000 ms. */
  packageCopyMs?: number;
  /** How long it then stays VALIDATING; default 2000 ms. */
  packageValidationMs?: number;
  /** Refuse a package operation while another one runs on the same domain; default true. */
  conflictOnConcurrentOperations?: boolean;
  /** The per-domain package quota; default 20. */
  maxPackagesPerDomain?: number;
  faults?: FaultRule[];
  latencyMs?: LatencySetting;
  /** Throttle every API call past this rate with `ThrottlingException` (HTTP 400), as AWS does; default off. */
  rateLimit?: RateLimit | null;
  /** Makes fault injection repeatable; without it faults draw from Math.random. */
  randomSeed?: number;
  /** Clock in epoch ms; inject one to step through ASSOCIATING → ACTIVE without waiting. */
  now?: () => number;
}

export interface EmulatorRuntimeSettings {
  associationDelayMs?: number;
  /** `null`: as long as `associationDelayMs`. */
  pluginAssociationDelayMs?: number | null;
  packageCopyMs?: number;
  packageValidationMs?: number;
  conflictOnConcurrentOperations?: boolean;
  /** `null`: no limit. A new limit starts with a full bucket. */
  rateLimit?: RateLimit | null;
}

export interface OpenSearchEmulatorState {
  region: string;
  accountId: string;
  associationDelayMs: number;
  pluginAssociationDelayMs: number;
  packageCopyMs: number;
  packageValidationMs: number;
  conflictOnConcurrentOperations: boolean;
  maxPackagesPerDomain: number;
  faults: FaultRule[];
  latencyMs: LatencySetting;
  rateLimit: Required<RateLimit> | null;
  callCounts: Record<OperationName, CallCount>;
  domains: string[];
  packages: {
    PackageID: string;
    PackageName: string;
    PackageStatus: string;
    AvailablePackageVersion?: string;
  }[];
  associations: AssociationSnapshot[];
  /** Domains held in processing by the admin route, and the failures it injected. */
  processing: { DomainName: string; processingUntil: string }[];
  injected: {
    validation: string[];
    domainPackages: ReturnType<PackageStore['injectedFailures']>;
  };
}

export interface OpenSearchEmulator {
  /** Answers one request (API or `/_emulator/opensearch/` admin route); reads the body itself and never rejects. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  setFaults(faults: FaultRule[]): void;
  getFaults(): FaultRule[];
  setLatency(latency: LatencySetting): void;
  configure(settings: EmulatorRuntimeSettings): void;
  /** Holds a domain in processing, as a configuration change would, for `ms` from now; 0 ends it. */
  setDomainProcessing(domainName: string, ms: number): void;
  /** Uploads (CreatePackage, UpdatePackage) of the package end VALIDATION_FAILED with these details, or pass. */
  setValidationFailure(packageId: string, details: ErrorDetails | undefined): void;
  /** Associations and/or dissociations of the package on the domain end failed with these details, or pass. */
  setDomainPackageFailures(domainName: string, packageId: string, failures: InjectedFailures): void;
  callCounts(): Record<OperationName, CallCount>;
  /**
   * Package operations that took effect (a lost answer's included), per `<domain>/<package>`: a soak names the
   * pair an operation ran twice on, not only that one did.
   */
  operationsByPair(): Record<string, number>;
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
const DEFAULT_PACKAGE_COPY_MS = 1000;
const DEFAULT_PACKAGE_VALIDATION_MS = 2000;
const DEFAULT_MAX_PACKAGES_PER_DOMAIN = 20;

function zeroCounts(): Record<OperationName, CallCount> {
  return Object.fromEntries(
    OPERATION_NAMES.map((name) => [name, { calls: 0, succeeded: 0, failed: 0, throttled: 0 }]),
  ) as Record<OperationName, CallCount>;
}

export function createOpenSearchEmulator(options: OpenSearchEmulatorOptions = {}): OpenSearchEmulator {
  const seed = loadSeed(options.seed);
  const now = options.now ?? Date.now;
  const initialFaults = parseFaultRules(options.faults ?? []);
  const initialLatency = parseLatencySetting(options.latencyMs ?? 0);
  const initialRateLimit = parseRateLimit(options.rateLimit ?? null);
  const initialSettings: Required<Omit<EmulatorRuntimeSettings, 'rateLimit'>> = {
    associationDelayMs: options.associationDelayMs ?? DEFAULT_ASSOCIATION_DELAY_MS,
    pluginAssociationDelayMs: options.pluginAssociationDelayMs ?? null,
    packageCopyMs: options.packageCopyMs ?? DEFAULT_PACKAGE_COPY_MS,
    packageValidationMs: options.packageValidationMs ?? DEFAULT_PACKAGE_VALIDATION_MS,
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
  const bucketFor = (limit: Required<RateLimit> | null) => limit && new TokenBucket(limit, now);
  let bucket = bucketFor(initialRateLimit);
  let counts = zeroCounts();
  let operationsByPair = new Map<string, number>();
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
          await handleAdmin(emulator, req, res, url.pathname.slice(EMULATOR_ADMIN_PREFIX.length));
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
      const { rateLimit, ...storeSettings } = parseRuntimeSettings(settings);
      store.configure(storeSettings);
      if (rateLimit !== undefined) bucket = bucketFor(parseRateLimit(rateLimit));
    },

    setDomainProcessing(domainName, ms) {
      store.setProcessing(domainName, ms);
    },

    setValidationFailure(packageId, details) {
      store.packages.setValidationFailure(packageId, details);
    },

    setDomainPackageFailures(domainName, packageId, failures) {
      store.injectFailures(domainName, packageId, failures);
    },

    operationsByPair() {
      return Object.fromEntries(operationsByPair);
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
        pluginAssociationDelayMs: store.pluginAssociationDelayMs,
        packageCopyMs: store.config.packageCopyMs,
        packageValidationMs: store.config.packageValidationMs,
        conflictOnConcurrentOperations,
        maxPackagesPerDomain,
        faults: emulator.getFaults(),
        latencyMs: typeof latency === 'number' ? latency : { ...latency },
        rateLimit: bucket && { ...bucket.limit },
        callCounts: emulator.callCounts(),
        domains,
        packages: packages.map(({ PackageID, PackageName, PackageStatus, AvailablePackageVersion }) => ({
          PackageID,
          PackageName,
          PackageStatus,
          ...(AvailablePackageVersion !== undefined && { AvailablePackageVersion }),
        })),
        associations,
        processing: store.processingDomains(),
        injected: {
          validation: store.packages.failingValidation(),
          domainPackages: store.injectedFailures(),
        },
      };
    },

    reset() {
      store.configure(initialSettings);
      store.reset();
      faults = initialFaults;
      latency = initialLatency;
      bucket = bucketFor(initialRateLimit);
      counts = zeroCounts();
      operationsByPair = new Map();
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
      if (bucket?.take() === false) {
        count.throttled += 1;
        sendError(res, throttlingError());
        return;
      }
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
      for (const pair of pairsOperatedOn(operation, params, body)) {
        operationsByPair.set(pair, (operationsByPair.get(pair) ?? 0) + 1);
      }
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

  return emulator;
}

/** Anything that is not a deliberate API error is the emulator's own fault: InternalException. */
function asApiError(error: unknown): EmulatorApiError {
  if (error instanceof EmulatorApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EmulatorApiError('InternalException', `Emulator error: ${message}`);
}

/** The `<domain>/<package>` pairs a package operation that succeeded acted on. */
function pairsOperatedOn(operation: OperationName, params: Record<string, string>, body: unknown): string[] {
  if (operation === 'AssociatePackage' || operation === 'DissociatePackage') {
    return [`${params.DomainName}/${params.PackageID}`];
  }
  if (operation !== 'AssociatePackages' && operation !== 'DissociatePackages') return [];
  const { DomainName, PackageList } = body as { DomainName?: unknown; PackageList?: unknown };
  if (!Array.isArray(PackageList)) return [];
  return PackageList.flatMap((entry: { PackageID?: unknown }) =>
    typeof entry?.PackageID === 'string' ? [`${String(DomainName)}/${entry.PackageID}`] : [],
  );
}
