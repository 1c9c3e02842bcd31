import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeadLetterMessage,
  type Observation,
  type ObservedEvent,
  reconcile,
} from '../../tools/soak/reconcile.ts';
import { DEFAULT_FAULTS, runSoak, type SoakResult } from '../../tools/soak/run.ts';
import type { PlannedRequest } from '../../tools/soak/workload.ts';
import { planWorkload } from '../../tools/soak/workload.ts';

const SUCCEEDED = 'PackageAssociationSucceeded';
const REJECTED = 'PackageRequestRejected';

function validRequest(id: number): PlannedRequest {
  const body = { domainName: `orders-${id}`, packageId: 'F9001', idempotencyKey: `key-${id}` };
  return {
    id,
    kind: 'valid',
    body: JSON.stringify(body),
    ...body,
    expected: { detailType: SUCCEEDED, deadLetter: false },
  };
}

let eventIds = 0;
const event = (
  key: string,
  detailType: string,
  errorCode?: string,
  eventId = `e${++eventIds}`,
): ObservedEvent => ({
  detailType,
  eventId,
  idempotencyKey: key,
  errorCode,
});
const rejection = (messageId: string, errorCode: string, eventId = `e${++eventIds}`): ObservedEvent => ({
  detailType: REJECTED,
  eventId,
  idempotencyKey: undefined,
  messageId,
  errorCode,
});
const deadLetter = (
  sourceMessageId: string,
  body: string,
  reasonCode?: string,
  deadLetterId = `d-${sourceMessageId}`,
): DeadLetterMessage => ({
  messageId: `dlq-${sourceMessageId}-${++eventIds}`,
  body,
  reasonCode,
  sourceMessageId: reasonCode === undefined ? undefined : sourceMessageId,
  deadLetterId: reasonCode === undefined ? undefined : deadLetterId,
});

function observation(overrides: Partial<Observation>): Observation {
  return {
    requests: [],
    sent: [],
    events: [],
    requestDeadLetters: [],
    trackingDeadLetters: [],
    queuedRequestMessageIds: [],
    queuedTrackingKeys: [],
    associatePackage: { calls: 0, succeeded: 0, failed: 0, throttled: 0 },
    associations: [],
    ...overrides,
  };
}

describe('reconcile', () => {
  const requests = [0, 1, 2, 3, 4].map(validRequest);
  const sent = requests.map((request) => ({ messageId: `m${request.id}`, requestId: request.id }));
  const active = requests.map((request) => ({
    DomainName: request.domainName ?? '',
    PackageID: request.packageId ?? '',
    DomainPackageStatus: 'ACTIVE',
  }));

  it('passes a run where every request ended once', () => {
    const result = reconcile(
      observation({
        requests,
        sent,
        events: requests.map((request) => event(`key-${request.id}`, SUCCEEDED)),
        associatePackage: { calls: 7, succeeded: 5, failed: 2, throttled: 0 },
        associations: active,
      }),
    );

    expect(result.violations).toEqual([]);
    expect(result.succeeded).toBe(5);
    expect(result.lost).toBe(0);
  });

  it("names the pair an operation ran on twice, from the emulator's count per pair", () => {
    const result = reconcile(
      observation({
        requests,
        sent,
        events: requests.map((request) => event(`key-${request.id}`, SUCCEEDED)),
        associatePackage: { calls: 6, succeeded: 6, failed: 0, throttled: 0 },
        associations: active,
        operationsByPair: { 'orders-1/F9001': 2, 'orders-2/F9001': 1 },
      }),
    );
    expect(result.associatePackage.pairsOperatedTwice).toEqual({ 'orders-1/F9001': 2 });
    expect(result.violations).toEqual([
      '6 successful AssociatePackage calls for 5 (domain, package) pairs: orders-1/F9001 ×2',
    ]);
  });

  it('counts an event published again under its id once, and a second decision as a violation', () => {
    const again = event('key-0', SUCCEEDED);
    const once = reconcile(
      observation({
        requests,
        sent,
        events: [again, again],
        associatePackage: { calls: 1, succeeded: 1, failed: 0, throttled: 0 },
        associations: active,
      }),
    );
    expect(once).toMatchObject({ duplicateTerminalEvents: 0, republishedEvents: 1, succeeded: 1 });
    const twice = reconcile(observation({ requests, sent, events: [again, event('key-0', SUCCEEDED)] }));
    expect(twice.violations).toContain('1 requests with more than one decision');
  });

  it('tells lost requests from queued and dead-lettered ones', () => {
    const result = reconcile(
      observation({
        requests,
        sent: [...sent, { messageId: 'm0-again', requestId: 0, duplicate: 'concurrent' }],
        events: [event('key-0', SUCCEEDED), event('key-0', SUCCEEDED), event('key-1', SUCCEEDED)],
        // key-2 still queued, key-3 dead-lettered on its last attempt as a duplicate in flight, key-4 nowhere.
        queuedRequestMessageIds: ['m2'],
        requestDeadLetters: [deadLetter('m3', requests[3]?.body ?? '', 'RetriesExhausted')],
        associatePackage: { calls: 2, succeeded: 2, failed: 0, throttled: 0 },
        associations: active,
      }),
    );

    expect(result).toMatchObject({
      succeeded: 2,
      inFlight: 1,
      deadLetteredWithoutTerminalEvent: 1,
      lost: 1,
      duplicateTerminalEvents: 1,
    });
    expect(result.examples.lost?.map((example) => example.idempotencyKey)).toEqual(['key-4']);
    expect(result.violations).toEqual([
      '1 requests lost (no decision, no dead letter, nothing queued)',
      '1 requests with more than one decision',
    ]);
  });

  it('fails an invalid body whose dead letter is not byte for byte, and a pair associated twice', () => {
    const invalid: PlannedRequest = {
      id: 0,
      kind: 'invalid:unknown-field',
      body: '{ "domainName": "orders-1", "packageId": "F9001", "colour": "blue" }',
      expected: { detailType: REJECTED, reason: 'InvalidRequest', deadLetter: true },
    };
    const result = reconcile(
      observation({
        requests: [invalid],
        sent: [{ messageId: 'm0', requestId: 0 }],
        events: [rejection('m0', 'InvalidRequest')],
        requestDeadLetters: [deadLetter('m0', JSON.stringify(JSON.parse(invalid.body)), 'InvalidRequest')],
        associatePackage: { calls: 2, succeeded: 2, failed: 0, throttled: 0 },
        associations: [{ DomainName: 'orders-1', PackageID: 'F9001', DomainPackageStatus: 'ACTIVE' }],
      }),
    );

    expect(result.invalidNotDeadLetteredVerbatim).toBe(1);
    expect(result.violations).toContain('1 rejected messages not in the DLQ byte for byte with their reason');
    expect(result.violations).toContain(
      '2 successful AssociatePackage calls for 1 (domain, package) pairs: some pair was associated twice',
    );
  });

  it('decides each rejected message once: a resend is rejected on its own, a second rejection is a violation', () => {
    const rejected: PlannedRequest = {
      id: 0,
      kind: 'domain-not-allowed',
      body: '{"domainName":"billing-1","packageId":"F9001","idempotencyKey":"k"}',
      idempotencyKey: 'k',
      expected: { detailType: REJECTED, reason: 'DomainNotAllowed', deadLetter: true },
    };
    const sentTwice = [
      { messageId: 'm0', requestId: 0 },
      { messageId: 'm1', requestId: 0, duplicate: 'after-terminal' as const },
    ];
    const letters = [
      deadLetter('m0', rejected.body, 'DomainNotAllowed'),
      deadLetter('m1', rejected.body, 'DomainNotAllowed'),
    ];
    const each = reconcile(
      observation({
        requests: [rejected],
        sent: sentTwice,
        events: [rejection('m0', 'DomainNotAllowed'), rejection('m1', 'DomainNotAllowed')],
        requestDeadLetters: letters,
      }),
    );
    expect(each.violations).toEqual([]);

    const repeated = reconcile(
      observation({
        requests: [rejected],
        sent: sentTwice,
        events: [
          rejection('m0', 'DomainNotAllowed'),
          rejection('m0', 'DomainNotAllowed'),
          rejection('m1', 'DomainNotAllowed'),
        ],
        requestDeadLetters: [...letters, deadLetter('m1', rejected.body, 'DomainNotAllowed', 'd-other')],
      }),
    );
    expect(repeated.violations).toEqual([
      '1 messages rejected more than once',
      '1 requests or messages dead-lettered more than once',
    ]);
  });
});

describe('planWorkload', () => {
  it('gives every valid request its own (domain, package) pair and repeats for the same seed', () => {
    const options = { messages: 500, seed: 3, duplicateRate: 0.2, invalidRate: 0.1 };
    const workload = planWorkload(options);
    const pairs = workload.requests
      .filter((request) => request.domainName !== undefined)
      .map((request) => `${request.domainName}/${request.packageId}`);

    expect(new Set(pairs).size).toBe(pairs.length);
    expect(workload.sends.length + workload.lateDuplicates.length).toBe(500);
    expect(workload.requests.filter((request) => request.kind.startsWith('invalid:'))).toHaveLength(50);
    expect(planWorkload(options)).toEqual(workload);
  });

  it('puts more valid requests on each domain when asked, so that they meet and share operations', () => {
    const perDomain = (packagesPerDomain?: number) => {
      const options = { messages: 500, seed: 3, duplicateRate: 0.2, invalidRate: 0.1, packagesPerDomain };
      const counts = new Map<string, number>();
      for (const request of planWorkload(options).requests) {
        if (request.kind !== 'valid' || request.domainName === undefined) continue;
        counts.set(request.domainName, (counts.get(request.domainName) ?? 0) + 1);
      }
      return Math.max(...counts.values());
    };
    expect(perDomain()).toBe(3);
    expect(perDomain(12)).toBe(12);
    expect(perDomain(40)).toBe(15);
  });
});

describe('a soak of 200 requests through the local stack, under faults everywhere', () => {
  let result: SoakResult;

  beforeAll(async () => {
    result = await runSoak({
      messages: 200,
      seed: 11,
      duplicateRate: 0.2,
      invalidRate: 0.1,
      // More crashes and timeouts than `npm run soak`, so a short run surely meets some: with the ledger, an
      // invocation killed at any point leaves a state the next delivery resumes from.
      faults: { ...DEFAULT_FAULTS, runner: { crashRate: 0.06, timeoutRate: 0.04 } },
      sendRatePerSecond: 40,
      // Each request reads the package, the domain and its listing before its call: under a loaded CI machine
      // 200 requests take longer than they did without those reads (about 60 s to drain on an idle machine).
      drainTimeoutMs: 150_000,
    });
  }, 210_000);

  afterAll(() => {
    if (result?.reconciliation.violations.length) {
      console.error('soak examples', JSON.stringify(result.reconciliation.examples, null, 2));
      console.error('soak suspects in the ledger', JSON.stringify(result.suspects, null, 2));
    }
  });

  it('drains every queue and loses no request', () => {
    expect(result.drained).toBe(true);
    expect(result.reconciliation.uniqueRequests).toBe(160);
    expect(result.reconciliation.lost).toBe(0);
    expect(result.reconciliation.inFlight).toBe(0);
  });

  it('announces no outcome twice and rejects no message twice', () => {
    expect(result.reconciliation.examples.duplicateTerminalEvents ?? []).toEqual([]);
    expect(result.reconciliation.duplicateTerminalEvents).toBe(0);
    expect(result.reconciliation.repeatedRejections).toBe(0);
  });

  it('puts every invalid body in the DLQ byte for byte with ReasonCode InvalidRequest', () => {
    expect(result.reconciliation.requestsByKind['invalid:huge-unknown-field']).toBeGreaterThan(0);
    expect(result.reconciliation.invalidNotDeadLetteredVerbatim).toBe(0);
    expect(result.reconciliation.requestDeadLettersByReason.InvalidRequest).toBeGreaterThanOrEqual(20);
  });

  it('breaks no other invariant', () => {
    expect(result.reconciliation.violations).toEqual([]);
    expect(result.reconciliation.succeeded).toBeGreaterThan(0);
  });

  it('went through faults of every kind', () => {
    const { stats } = result;
    expect(stats.openSearch.AssociatePackage?.failed).toBeGreaterThan(0);
    expect(stats.eventBridge.throttled + stats.eventBridge.entriesFailed).toBeGreaterThan(0);
    expect(stats.dynamoDb.faultsInjected).toBeGreaterThan(0);
    expect(stats.injectedCrashes + stats.injectedTimeouts).toBeGreaterThan(0);
  });
});
