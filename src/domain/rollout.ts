/**
 * A rollout's record and its transitions, as data and pure functions (docs/DESIGN.md, "Rollouts"): the
 * resolved domains and waves, each domain's outcome, and the events and child messages it still owes.
 */
import { hash } from 'node:crypto';
import type { DomainOutcome, OutboxEvent, RecordBase } from './ledger.ts';
import { rolloutEvent } from './rollout-events.ts';
import type { RolloutRequest, RolloutStrategy } from './rollout-request.ts';
import { sqsSafeJson } from './sqs-text.ts';
import type { TransitionContext } from './transitions.ts';

export const ROLLOUT_STATES = ['RUNNING', 'COMPLETED', 'HALTED'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** A domain's place in its rollout: not yet started, its child running, or its child's decision. */
export type DomainProgress = { state: 'PENDING' | 'RUNNING' } | DomainOutcome;

export interface RolloutRecord extends RecordBase {
  kind: 'rollout';
  state: RolloutState;
  fingerprint: string;
  rolloutId: string;
  correlationId: string;
  requestedBy?: string;
  packageId: string;
  /** The version every domain must end at; undefined when the package could not be read at acceptance. */
  packageVersion?: string;
  strategy: RolloutStrategy;
  /** The domains in rollout order; `waves` splits them. */
  domains: string[];
  waves: string[][];
  /** The wave whose children run (or ran last). */
  currentWave: number;
  progress: Record<string, DomainProgress>;
  /** No further wave starts: more failures than the strategy allows. */
  halting: boolean;
  acceptedAt: number;
  decidedAt?: number;
}

export const rolloutRecordId = (rolloutId: string) => `rollout#${rolloutId}`;

const MAX_KEY_LENGTH = 128;

/** A child's key: the same for every delivery of the rollout, distinct per domain, within the key rule. */
export function childKey(rolloutId: string, domainName: string): string {
  const plain = `${rolloutId}/${domainName}`;
  if (plain.length <= MAX_KEY_LENGTH) return plain;
  return `rollout-${hash('sha256', rolloutId, 'hex').slice(0, 32)}/${domainName}`;
}

/** The canary wave (the first `canary` domains), then groups of `waveSize`; no wave is empty. */
export function planWaves(domains: readonly string[], strategy: RolloutStrategy): string[][] {
  const waves: string[][] = [];
  const canary = Math.min(strategy.canary, domains.length);
  if (canary > 0) waves.push(domains.slice(0, canary));
  for (let start = canary; start < domains.length; start += strategy.waveSize) {
    waves.push(domains.slice(start, start + strategy.waveSize));
  }
  return waves;
}

/**
 * The record is one DynamoDB item (400 KB), written whole; its last write holds every outcome three times (the
 * record and the two events it owes). 500 domains with the longest names, versions and keys take about 290 KB
 * (test/unit/rollout-size.test.ts); more could run every wave and then never write their decision.
 */
export const MAX_ROLLOUT_DOMAINS = 500;

/** What resolving a rollout's `domains` came to: the domains in order, or why the rollout is refused. */
export type Resolution =
  | { ok: true; domains: string[] }
  | { ok: false; code: 'InvalidRequest' | 'DomainNotAllowed'; message: string };

/**
 * Names as given, each `prefix*` expanded to the account's domains with that prefix in name order, duplicates
 * dropped (the first place wins). A pattern that matches nothing, more than MAX_ROLLOUT_DOMAINS domains, or any
 * domain off the allow-list refuses the whole rollout.
 */
export function resolveDomains(
  requested: readonly string[],
  existing: readonly string[],
  allows: (domainName: string) => boolean,
): Resolution {
  const sorted = [...existing].sort();
  const resolved: string[] = [];
  for (const entry of requested) {
    if (!entry.endsWith('*')) {
      resolved.push(entry);
      continue;
    }
    const prefix = entry.slice(0, -1);
    const matches = sorted.filter((name) => name.startsWith(prefix));
    if (matches.length === 0) {
      return { ok: false, code: 'InvalidRequest', message: `domains: ${entry} matches no domain` };
    }
    resolved.push(...matches);
  }
  const domains = [...new Set(resolved)];
  if (domains.length > MAX_ROLLOUT_DOMAINS) {
    const message = `domains: resolve to ${domains.length} domains; a rollout takes at most ${MAX_ROLLOUT_DOMAINS}, so split it into several`;
    return { ok: false, code: 'InvalidRequest', message };
  }
  const refused = domains.filter((domainName) => !allows(domainName));
  if (refused.length > 0) {
    const message = `domains: ${refused.join(', ')} ${refused.length === 1 ? 'is' : 'are'} not in the allow-list of this service`;
    return { ok: false, code: 'DomainNotAllowed', message };
  }
  return { ok: true, domains };
}

/** The child request of one domain, as the requests queue receives it. */
export function childBody(rollout: RolloutRecord, domainName: string): string {
  return sqsSafeJson({
    action: 'associate',
    domainName,
    packageId: rollout.packageId,
    ...(rollout.packageVersion !== undefined && { packageVersion: rollout.packageVersion }),
    idempotencyKey: childKey(rollout.rolloutId, domainName),
    correlationId: rollout.correlationId,
    ...(rollout.requestedBy !== undefined && { requestedBy: rollout.requestedBy }),
    rolloutId: rollout.rolloutId,
  });
}

function startWave(rollout: RolloutRecord, wave: number): RolloutRecord {
  const domains = rollout.waves[wave] ?? [];
  const progress = { ...rollout.progress };
  for (const domainName of domains) progress[domainName] = { state: 'RUNNING' };
  const started = { ...rollout, currentWave: wave, progress };
  const bodies = domains.map((domainName) => childBody(started, domainName));
  return { ...started, outbox: { ...started.outbox, children: { kind: 'children', wave, bodies } } };
}

function eventEntry(
  ctx: TransitionContext,
  rollout: RolloutRecord,
  detailType: Parameters<typeof rolloutEvent>[1],
  wave?: number,
): OutboxEvent {
  const event = rolloutEvent(rollout, detailType, { eventId: ctx.newId(), occurredAt: ctx.now }, wave);
  return {
    kind: 'event',
    eventId: event.detail.eventId,
    detailType: event.detailType,
    domainName: null,
    detail: sqsSafeJson(event.detail),
    occurredAt: event.detail.occurredAt,
  };
}

/** `accept-rollout`: the record, RUNNING, with wave 0 started and Started announced. */
export function acceptRollout(
  ctx: TransitionContext,
  input: {
    rollout: RolloutRequest;
    fingerprint: string;
    domains: string[];
    packageVersion: string | undefined;
    lifetimeSeconds: number;
  },
): RolloutRecord {
  const { rollout } = input;
  const waves = planWaves(input.domains, rollout.strategy);
  const pending: RolloutRecord = {
    id: rolloutRecordId(rollout.idempotencyKey),
    kind: 'rollout',
    state: 'RUNNING',
    fingerprint: input.fingerprint,
    rolloutId: rollout.idempotencyKey,
    correlationId: rollout.correlationId,
    ...(rollout.requestedBy !== undefined && { requestedBy: rollout.requestedBy }),
    packageId: rollout.packageId,
    ...(input.packageVersion !== undefined && { packageVersion: input.packageVersion }),
    strategy: rollout.strategy,
    domains: input.domains,
    waves,
    currentWave: 0,
    progress: Object.fromEntries(input.domains.map((domainName) => [domainName, { state: 'PENDING' }])),
    halting: false,
    acceptedAt: ctx.now.getTime(),
    outbox: {},
    version: 0,
    lastWrite: '',
    expiresAt: Math.ceil(ctx.now.getTime() / 1000) + input.lifetimeSeconds,
  };
  const started = startWave(pending, 0);
  return { ...started, outbox: { ...started.outbox, started: eventEntry(ctx, started, 'started') } };
}

export const isDecided = (progress: DomainProgress | undefined): progress is DomainOutcome =>
  progress?.state === 'SUCCEEDED' || progress?.state === 'FAILED';

export function failuresOf(rollout: RolloutRecord): number {
  return Object.values(rollout.progress).filter((progress) => progress.state === 'FAILED').length;
}

/** Whether `advance` would have to add an event or children where one is still unsent: flush first. */
export function hasUnsentProgress(rollout: RolloutRecord): boolean {
  const { waveCompleted, decision, children, started } = rollout.outbox;
  return [waveCompleted, decision, children, started].some((entry) => entry !== undefined);
}

/**
 * `advance`: a child's outcome applied to its rollout; undefined when there is nothing to write (a duplicate
 * outcome). Completing the current wave announces it and, in the same write, ends the rollout or starts the
 * next wave, so no wave is skipped or started twice.
 */
export function advance(
  ctx: TransitionContext,
  rollout: RolloutRecord,
  domainName: string,
  outcome: DomainOutcome,
): RolloutRecord | undefined {
  if (!(domainName in rollout.progress) || isDecided(rollout.progress[domainName])) return undefined;
  let next: RolloutRecord = { ...rollout, progress: { ...rollout.progress, [domainName]: outcome } };
  if (failuresOf(next) > next.strategy.maxFailures) next = { ...next, halting: true };
  const wave = next.waves[next.currentWave] ?? [];
  if (next.state !== 'RUNNING' || !wave.every((name) => isDecided(next.progress[name]))) return next;
  next = {
    ...next,
    outbox: { ...next.outbox, waveCompleted: eventEntry(ctx, next, 'waveCompleted', next.currentWave) },
  };
  const last = next.currentWave === next.waves.length - 1;
  if (!next.halting && !last) return startWave(next, next.currentWave + 1);
  const state: RolloutState = next.halting ? 'HALTED' : 'COMPLETED';
  const decided = { ...next, state, decidedAt: ctx.now.getTime() };
  return {
    ...decided,
    expiresAt: Math.ceil(ctx.now.getTime() / 1000) + ctx.windowSeconds,
    outbox: { ...decided.outbox, decision: eventEntry(ctx, decided, next.halting ? 'halted' : 'completed') },
  };
}
