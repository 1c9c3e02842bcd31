/**
 * For every step of the ledger's state table (LEDGER_STEPS), crash right after it and, separately, fail it;
 * redeliver until everything is quiet; check the guarantees. The steps come from the table itself: a step added
 * to it is covered here as soon as one of the scenarios passes through it, and the test fails until one does.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { LEDGER_STEPS, type LedgerStep, type StepHook } from '../../src/service/ledger-steps.ts';
import { awsError, handlerUnderTest } from '../helpers/handler-harness.ts';
import { deadLettersSent, eventsPublished, FakeDomains, World } from '../helpers/world.ts';

const harness = handlerUnderTest(async () => ({
  ...(await import('../../src/handlers/lambda-runtime.ts')),
  ...(await import('../../src/service/associate.ts')),
  ...(await import('../../src/service/track.ts')),
}));
const { env: ENV, openSearch, sqs, eventBridge } = harness;

type Mode = 'crash-after' | 'fail-before';

/** Fails or crashes the first time the target step is reached, and records every step taken. */
class StepFaults implements StepHook {
  readonly trace = new Set<LedgerStep>();
  #fired = false;
  #crash: (() => void) | undefined;
  readonly target: { step: LedgerStep; mode: Mode } | undefined;

  constructor(target?: { step: LedgerStep; mode: Mode }) {
    this.target = target;
  }

  get fired(): boolean {
    return this.#fired;
  }

  before(step: LedgerStep): void {
    this.trace.add(step);
    if (this.#fired || this.target?.step !== step || this.target.mode !== 'fail-before') return;
    this.#fired = true;
    throw awsError('InternalServerError', `injected failure of ${step}`, 500);
  }

  after(step: LedgerStep): Promise<void> | undefined {
    if (this.#fired || this.target?.step !== step || this.target.mode !== 'crash-after') return undefined;
    this.#fired = true;
    this.#crash?.();
    // The invocation dies here: nothing after this step runs.
    return new Promise<void>(() => undefined);
  }

  /** A promise that settles if the coming delivery crashes. */
  next(): Promise<void> | undefined {
    if (this.#fired || this.target?.mode !== 'crash-after') return undefined;
    return new Promise<void>((resolve) => {
      this.#crash = resolve;
    });
  }
}

interface Expected {
  /** The detail types of the decisions (a rejection's, for rejected messages; a rollout's children's). */
  decisions: string[];
  /** A rollout's: its decision and how many waves it announces. */
  rollout?: { decision: string; waves: number };
  started: boolean;
  deadLetters: number;
  operations: number;
}

interface Scenario {
  expected: Expected;
  /** Deliveries per request, when the harness's 5 are too few: a member that missed its group's call waits for it. */
  maxAttempts?: number;
  run(world: World, domains: FakeDomains, key: string): Promise<void>;
}

const request = (key: string, packageId: string, domainName = 'orders-a') => ({
  domainName,
  packageId,
  idempotencyKey: key,
  requestedBy: 'ledger test',
});

const SUCCEEDED = 'PackageAssociationSucceeded';
const FAILED = 'PackageAssociationFailed';
const REJECTED = 'PackageRequestRejected';

const SCENARIOS: Record<string, Scenario> = {
  'an association followed until ACTIVE': {
    expected: { decisions: [SUCCEEDED], started: true, deadLetters: 0, operations: 1 },
    run: async (world, _domains, key) => {
      world.send(request(key, 'F1'));
    },
  },
  'a package already ACTIVE': {
    expected: { decisions: [SUCCEEDED], started: false, deadLetters: 0, operations: 0 },
    run: async (world, domains, key) => {
      domains.active('orders-a', 'F2');
      world.send(request(key, 'F2'));
    },
  },
  'a permanent error': {
    expected: { decisions: [FAILED], started: false, deadLetters: 1, operations: 0 },
    run: async (world, _domains, key) => {
      world.send(request(key, 'F4040'));
    },
  },
  'a throttled call, retried': {
    expected: { decisions: [SUCCEEDED], started: true, deadLetters: 0, operations: 1 },
    run: async (world, domains, key) => {
      domains.throttles = 1;
      world.send(request(key, 'F3'));
    },
  },
  'a call whose answer was lost': {
    expected: { decisions: [SUCCEEDED], started: true, deadLetters: 0, operations: 1 },
    run: async (world, domains, key) => {
      domains.lostAnswers = 1;
      world.send(request(key, 'F5'));
    },
  },
  'an association the domain fails': {
    expected: { decisions: [FAILED], started: true, deadLetters: 0, operations: 1 },
    run: async (world, domains, key) => {
      domains.failPackages.add('F6');
      world.send(request(key, 'F6'));
    },
  },
  'a rollout over a pattern, in two waves': {
    expected: {
      decisions: [SUCCEEDED, SUCCEEDED, SUCCEEDED],
      started: true,
      deadLetters: 0,
      operations: 3,
      rollout: { decision: 'PackageRolloutCompleted', waves: 2 },
    },
    run: async (world, _domains, key) => {
      world.send({ action: 'rollout', packageId: 'F7', domains: ['orders-*'], idempotencyKey: key });
    },
  },
  'two requests for one domain, the second woken by the decision of the first': {
    expected: { decisions: [SUCCEEDED, SUCCEEDED], started: true, deadLetters: 0, operations: 2 },
    run: async (world, _domains, key) => {
      // The first is followed through its checks while the second waits for the domain, its backoff still
      // running when the first is decided (neither holds a lease across deliveries here).
      world.alternate = true;
      world.stepMs = 1_000;
      world.send(request(`${key}-first`, 'F8', 'orders-b'));
      world.send(request(`${key}-second`, 'F9', 'orders-b'));
    },
  },
  'three requests for one domain in one batch, sharing one operation': {
    expected: { decisions: [SUCCEEDED, SUCCEEDED, SUCCEEDED], started: true, deadLetters: 0, operations: 3 },
    maxAttempts: 10,
    run: async (world, domains, key) => {
      world.batchSize = 3;
      world.alternate = true;
      // Each member reads the listing after a lost answer: an association takes longer than three looks.
      domains.looksUntilActive = 3;
      for (const packageId of ['F11', 'F12', 'F13'])
        world.send(request(`${key}-${packageId}`, packageId, 'orders-c'));
    },
  },
  "a group whose operation is throttled: its members leave the group's lock and go on": {
    expected: { decisions: [SUCCEEDED, SUCCEEDED], started: true, deadLetters: 0, operations: 2 },
    maxAttempts: 10,
    run: async (world, domains, key) => {
      world.batchSize = 2;
      world.alternate = true;
      domains.throttles = 1;
      for (const packageId of ['F21', 'F22'])
        world.send(request(`${key}-${packageId}`, packageId, 'orders-c'));
    },
  },
  'a body that is not JSON': {
    expected: { decisions: [REJECTED], started: false, deadLetters: 1, operations: 0 },
    run: async (world) => {
      world.send('{not json');
    },
  },
};

async function runScenario(scenario: Scenario, faults: StepFaults) {
  const { lambdaDependencies, createAssociateHandler, createTrackHandler } = harness.module();
  const base = lambdaDependencies();
  const config = { ...base.config, maxAttempts: scenario.maxAttempts ?? base.config.maxAttempts };
  const deps = { ...base, config, stepHook: faults };
  const handlers = {
    associate: createAssociateHandler(deps) as (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>,
    track: createTrackHandler(deps) as (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>,
  };
  const domains = new FakeDomains();
  domains.install(openSearch);
  const world = new World(sqs, handlers, {
    tracking: ENV.TRACKING_QUEUE_URL,
    requests: ENV.REQUESTS_QUEUE_URL,
  });
  const key = `ledger-${randomUUID()}`;
  await scenario.run(world, domains, key);
  await world.drain(faults);
  return { domains, key };
}

/** The guarantees, judged on what was published and dead-lettered and on what the fake domain did. */
function checkGuarantees(expected: Expected, domains: FakeDomains) {
  const events = eventsPublished(eventBridge);
  const byId = new Map<string, Set<string>>();
  for (const event of events) {
    const id = String(event.detail.eventId);
    byId.set(id, (byId.get(id) ?? new Set()).add(event.text));
  }
  // An event published again is the same event, byte for byte.
  for (const texts of byId.values()) expect(texts.size).toBe(1);
  const distinct = (detailType: string) =>
    new Set(events.filter((event) => event.detailType === detailType).map((event) => event.detail.eventId));
  const decisions = [SUCCEEDED, FAILED, REJECTED].flatMap((type) => [...distinct(type)].map(() => type));
  expect(decisions).toEqual(expected.decisions);
  const starts = expected.started ? expected.decisions.length : 0;
  expect(distinct('PackageAssociationStarted').size).toBe(starts);
  if (expected.rollout !== undefined) {
    expect(distinct('PackageRolloutStarted').size).toBe(1);
    expect(distinct('PackageRolloutWaveCompleted').size).toBe(expected.rollout.waves);
    const ends = ['PackageRolloutCompleted', 'PackageRolloutHalted'].flatMap((type) =>
      [...distinct(type)].map(() => type),
    );
    expect(ends).toEqual([expected.rollout.decision]);
  }
  const letters = deadLettersSent(sqs, ENV.DLQ_URL);
  expect(new Set(letters.map((letter) => letter.id)).size).toBe(expected.deadLetters);
  expect(domains.operations).toBe(expected.operations);
}

describe('the ledger under a fault at every step', () => {
  const reached = new Map<LedgerStep, string>();

  it.each(Object.entries(SCENARIOS))('%s, with no fault, keeps the guarantees', async (name, scenario) => {
    const faults = new StepFaults();
    const { domains } = await runScenario(scenario, faults);
    checkGuarantees(scenario.expected, domains);
    for (const step of faults.trace) if (!reached.has(step)) reached.set(step, name);
  });

  it('reaches every step of the state table in some scenario', () => {
    expect(Object.keys(LEDGER_STEPS).filter((step) => !reached.has(step as LedgerStep))).toEqual([]);
  });

  const cases = (Object.keys(LEDGER_STEPS) as LedgerStep[]).flatMap((step) =>
    (['crash-after', 'fail-before'] as const).map((mode) => [step, mode] as const),
  );

  it.each(cases)('%s: %s, then redelivery, keeps the guarantees', async (step, mode) => {
    const name = reached.get(step);
    expect(name, `no scenario reaches ${step}`).toBeDefined();
    const scenario = SCENARIOS[name as string] as Scenario;
    const faults = new StepFaults({ step, mode });
    const { domains } = await runScenario(scenario, faults);
    expect(faults.fired).toBe(true);
    checkGuarantees(scenario.expected, domains);
  });

  // A group's steps run for several requests at once: each of them is faulted in the group scenarios too.
  const GROUPS = [
    'three requests for one domain in one batch, sharing one operation',
    "a group whose operation is throttled: its members leave the group's lock and go on",
  ];
  const groupSteps = new Map<string, LedgerStep[]>();
  it.each(GROUPS)('%s: its steps, with no fault', async (name) => {
    const faults = new StepFaults();
    await runScenario(SCENARIOS[name] as Scenario, faults);
    groupSteps.set(name, [...faults.trace]);
    expect(faults.trace).toContain('group');
  });

  const groupCases = GROUPS.flatMap((name) =>
    (['lock', 'pin', 'call', 'follow', 'leave', 'conclude', 'unlock'] as const).flatMap((step) =>
      (['crash-after', 'fail-before'] as const).map((mode) => [name, step, mode] as const),
    ),
  );

  it.each(groupCases)('%s: %s: %s, then redelivery, keeps the guarantees', async (name, step, mode) => {
    if (!groupSteps.get(name)?.includes(step)) return;
    const scenario = SCENARIOS[name] as Scenario;
    const faults = new StepFaults({ step, mode });
    const { domains } = await runScenario(scenario, faults);
    expect(faults.fired).toBe(true);
    checkGuarantees(scenario.expected, domains);
  });
});
