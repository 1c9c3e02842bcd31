/**
 * The soak's workload: a seeded, fully planned list of requests in which every request has one outcome it
 * must end in, so reconciliation can tell a lost or twice-announced request from a legitimate failure.
 */

import type { SeedData } from '../../local/opensearch/index.ts';
import { seededRandom } from '../../local/rng.ts';
import { sqsSafeJson } from '../../src/domain/sqs-text.ts';

/**
 * Packages each seeded domain gets asked for by default: few, so the per-domain quota (20) and conflicts stay
 * remote. More make the requests of one domain meet in one invocation, and share one operation.
 */
export const PACKAGES_PER_DOMAIN = 3;
/** The plugin whose association the emulator settles as ASSOCIATION_FAILED. */
export const FAILING_PACKAGE_ID = 'pkg-5f6e7d8c9b';
/** Share of the unique requests in each class that must fail in a known way. */
const SPECIAL_CLASS_SHARE = 0.02;
/**
 * Free text at its edges: characters SQS refuses raw (U+FFFE, U+FFFF, a control character), a line separator,
 * accents. No character beyond the BMP: SQS accepts them, but fauxqs refuses them (its rule stops at #xFFFD).
 */
export const UNICODE_REQUESTED_BY = 'soak \uFFFE\uFFFF\u0007 \u2028 Zoë ß';
/** Big enough to strain the Failed event and the log line that name the field; well inside SQS's limit. */
const HUGE_FIELD_BYTES = 100_000;

export const INVALID_KINDS = [
  'not-json',
  'not-an-object',
  'unknown-field',
  'bad-domain-name',
  'bad-package-id',
  'missing-field',
  'wrong-types',
  'bad-idempotency-key',
  'huge-unknown-field',
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

export type RequestKind =
  | 'valid'
  | 'failing-package'
  | 'unknown-domain'
  | 'unknown-package'
  | 'domain-not-allowed'
  | `invalid:${InvalidKind}`;

/** How a request must end: its decision (a rejection's, for a refused message) and whether it is dead-lettered. */
export interface ExpectedOutcome {
  detailType: 'PackageAssociationSucceeded' | 'PackageAssociationFailed' | 'PackageRequestRejected';
  /** The `error.code` of a Failed event. */
  reason?: string;
  deadLetter: boolean;
}

export interface PlannedRequest {
  id: number;
  kind: RequestKind;
  /** The exact SQS body, sent byte for byte. */
  body: string;
  /** The key its events carry; absent when the body has none and the SQS message id stands in for it. */
  idempotencyKey?: string;
  /** The pair AWS is asked for, when the body is valid. */
  domainName?: string;
  packageId?: string;
  expected: ExpectedOutcome;
}

/** `concurrent`: sent together with the original; `after-terminal`: sent once the original has ended. */
export type DuplicateTiming = 'concurrent' | 'after-terminal';

export interface PlannedSend {
  requestId: number;
  duplicate?: DuplicateTiming;
}

export interface WorkloadOptions {
  /** Messages to send, duplicates included. */
  messages: number;
  seed: number;
  /** Share of the messages that resend an earlier request (same key and body). */
  duplicateRate: number;
  /** Share of the messages whose body breaks the request contract. */
  invalidRate: number;
  /** Valid requests per domain (default `PACKAGES_PER_DOMAIN`; at most 15, under the domain's quota). */
  packagesPerDomain?: number;
}

export interface Workload {
  /** Seed data of the OpenSearch emulator, sized for the requests. */
  openSearchSeed: SeedData;
  requests: PlannedRequest[];
  /** Originals and concurrent duplicates, in sending order. */
  sends: PlannedSend[];
  /** Duplicates held back until their original has a terminal event. */
  lateDuplicates: PlannedSend[];
}

export class InvalidWorkloadError extends Error {
  override readonly name = 'InvalidWorkloadError';
}

const SUCCEEDED: ExpectedOutcome = { detailType: 'PackageAssociationSucceeded', deadLetter: false };
const failed = (reason: string, deadLetter: boolean): ExpectedOutcome => ({
  detailType: 'PackageAssociationFailed',
  reason,
  deadLetter,
});
const rejected = (reason: string): ExpectedOutcome => ({
  detailType: 'PackageRequestRejected',
  reason,
  deadLetter: true,
});
const INVALID = rejected('InvalidRequest');

/** Bodies that break the contract in different ways; `n` keeps each one distinct. */
const INVALID_BODIES: Record<InvalidKind, (n: number) => string> = {
  'not-json': (n) => `{"domainName":"orders-1","packageId":"F9001","requestedBy":"soak-${n}"`,
  'not-an-object': (n) =>
    n % 2 === 0 ? `["orders-1","F9001",${n}]` : `"associate F9001 with orders-1 #${n}"`,
  // Tabs, spaces and an escaped character: a dead letter must keep the producer's exact bytes.
  'unknown-field': (n) =>
    `{\n\t"domainName" : "orders-1",\n\t"packageId":"F9001",\n\t"colour": "bl\\u0075e-${n}"\n}\n`,
  'bad-domain-name': (n) => JSON.stringify({ domainName: `Orders_${n}`, packageId: 'F9001' }),
  'bad-package-id': (n) => JSON.stringify({ domainName: 'orders-1', packageId: `X-${n}` }),
  'missing-field': (n) => JSON.stringify({ domainName: 'orders-1', requestedBy: `soak-${n}` }),
  'wrong-types': (n) =>
    JSON.stringify({ domainName: n, packageId: ['F9001'], prerequisitePackageIds: 'F9002', requestedBy: n }),
  'bad-idempotency-key': (n) =>
    JSON.stringify({ domainName: 'orders-1', packageId: 'F9001', idempotencyKey: `has spaces ${n}` }),
  'huge-unknown-field': (n) =>
    JSON.stringify({
      domainName: 'orders-1',
      packageId: 'F9001',
      padding: `${'x'.repeat(HUGE_FIELD_BYTES)}${n}`,
    }),
};

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let index = items.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
  return items;
}

function validateOptions(options: WorkloadOptions): void {
  if (!Number.isInteger(options.messages) || options.messages < 20) {
    throw new InvalidWorkloadError(`messages must be an integer of at least 20, got ${options.messages}`);
  }
  for (const [name, rate] of [
    ['duplicateRate', options.duplicateRate],
    ['invalidRate', options.invalidRate],
  ] as const) {
    if (!(rate >= 0 && rate < 0.5))
      throw new InvalidWorkloadError(`${name} must be from 0 to 0.5, got ${rate}`);
  }
}

/** Plans the whole run from the seed: the same options give the same bodies in the same order. */
export function planWorkload(options: WorkloadOptions): Workload {
  validateOptions(options);
  const random = seededRandom(options.seed);
  const duplicateCount = Math.round(options.messages * options.duplicateRate);
  const uniqueCount = options.messages - duplicateCount;
  const invalidCount = Math.round(options.messages * options.invalidRate);
  const specialCount = Math.max(1, Math.round(uniqueCount * SPECIAL_CLASS_SHARE));
  const validCount = uniqueCount - invalidCount - 4 * specialCount;
  if (validCount < 1) throw new InvalidWorkloadError('too few messages for every request class');

  // Each valid request gets its own (domain, package) pair, so one successful AssociatePackage per request
  // is also one per pair; a domain's requests are spread out so they seldom run into each other.
  const perDomain = Math.min(15, options.packagesPerDomain ?? PACKAGES_PER_DOMAIN);
  const domainCount = Math.max(specialCount, Math.ceil(validCount / perDomain));
  const packageCount = Math.ceil(validCount / domainCount);
  const keyPrefix = `soak-${options.seed}`;
  const requests: PlannedRequest[] = [];
  const add = (request: Omit<PlannedRequest, 'id'>) => requests.push({ id: requests.length, ...request });
  const withKey = (kind: RequestKind, domainName: string, packageId: string, expected: ExpectedOutcome) => {
    const idempotencyKey = `${keyPrefix}-${requests.length}`;
    // Every fifth names its sender in free text SQS would refuse raw, so the body carries it escaped.
    const requestedBy = requests.length % 5 === 0 ? UNICODE_REQUESTED_BY : 'soak';
    const body = sqsSafeJson({ domainName, packageId, idempotencyKey, requestedBy });
    add({ kind, body, idempotencyKey, domainName, packageId, expected });
  };

  for (let index = 0; index < validCount; index += 1) {
    const domainName = `orders-${(index % domainCount) + 1}`;
    const packageId = `F${9001 + Math.floor(index / domainCount)}`;
    withKey('valid', domainName, packageId, SUCCEEDED);
  }
  for (let index = 0; index < specialCount; index += 1) {
    withKey('failing-package', `orders-${index + 1}`, FAILING_PACKAGE_ID, failed('AssociationFailed', false));
    // Allowed by the `orders-*` pattern, unknown to the account.
    withKey(
      'unknown-domain',
      `orders-missing-${index + 1}`,
      'F9001',
      failed('ResourceNotFoundException', true),
    );
    withKey(
      'unknown-package',
      `orders-${index + 1}`,
      `G${index + 1}`,
      failed('ResourceNotFoundException', true),
    );
    withKey('domain-not-allowed', `billing-${index + 1}`, 'F9001', rejected('DomainNotAllowed'));
  }
  for (let index = 0; index < invalidCount; index += 1) {
    const kind = INVALID_KINDS[index % INVALID_KINDS.length] as InvalidKind;
    add({ kind: `invalid:${kind}`, body: INVALID_BODIES[kind](index), expected: INVALID });
  }

  const order = shuffle(
    requests.map((request) => request.id),
    random,
  );
  // Only a request with its own key can be resent as a duplicate: without one, a resend is a new request.
  const resendable = requests.filter((request) => request.idempotencyKey !== undefined);
  const concurrent = new Map<number, number>();
  const lateDuplicates: PlannedSend[] = [];
  for (let index = 0; index < duplicateCount; index += 1) {
    const original = resendable[Math.floor(random() * resendable.length)] as PlannedRequest;
    if (random() < 0.5) {
      concurrent.set(original.id, (concurrent.get(original.id) ?? 0) + 1);
    } else {
      lateDuplicates.push({ requestId: original.id, duplicate: 'after-terminal' });
    }
  }
  const sends: PlannedSend[] = order.flatMap((requestId) => [
    { requestId },
    ...Array.from({ length: concurrent.get(requestId) ?? 0 }, () => ({
      requestId,
      duplicate: 'concurrent' as const,
    })),
  ]);

  return { openSearchSeed: syntheticSeed(domainCount, packageCount), requests, sends, lateDuplicates };
}

/** Domains `orders-1…`, AVAILABLE dictionaries `F9001…`, and the plugin that fails on association. */
export function syntheticSeed(domainCount: number, packageCount: number): SeedData {
  return {
    domains: Array.from({ length: domainCount }, (_, index) => ({
      DomainName: `orders-${index + 1}`,
      EngineType: 'OpenSearch' as const,
      EngineVersion: 'OpenSearch_2.17',
    })),
    packages: [
      ...Array.from({ length: packageCount }, (_, index) => ({
        PackageID: `F${9001 + index}`,
        PackageName: `dictionary-${9001 + index}`,
        PackageType: 'TXT-DICTIONARY' as const,
        PackageStatus: 'AVAILABLE' as const,
        AvailablePackageVersion: 'v1',
        CreatedAt: '2026-01-01T00:00:00Z',
      })),
      {
        PackageID: FAILING_PACKAGE_ID,
        PackageName: 'legacy-tokenizer-plugin',
        PackageType: 'ZIP-PLUGIN' as const,
        PackageStatus: 'AVAILABLE' as const,
        AvailablePackageVersion: '2023.11.0',
        CreatedAt: '2026-01-01T00:00:00Z',
        EngineVersion: 'OpenSearch_2.17',
        failOnAssociate: { ErrorType: 'PluginInstallationFailed', ErrorMessage: 'Plugin is not compatible' },
      },
    ],
    associations: [],
  };
}
