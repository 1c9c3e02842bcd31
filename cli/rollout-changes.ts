/**
 * What changed between two readings of a rollout, as JSON objects for scripts (`--json`) and as one plain line
 * each for logs and pipes. Pure: the follow loop feeds it snapshots.
 */
import type { RolloutState } from '../src/domain/rollout.ts';
import type { RolloutStrategy } from '../src/domain/rollout-request.ts';
import {
  countsText,
  type DomainSnapshot,
  type DomainState,
  elapsedMs,
  formatElapsed,
  type RolloutCounts,
  type RolloutSnapshot,
  strategyText,
  targetText,
  type WaveSnapshot,
  type WaveState,
  waveLabel,
} from './rollout-view.ts';

export type RolloutChange =
  /** The rollout first seen: what it puts where, in which waves. */
  | {
      change: 'started';
      rolloutId: string;
      packageId: string;
      packageVersion: string | undefined;
      strategy: RolloutStrategy;
      waves: string[][];
    }
  | {
      change: 'wave';
      rolloutId: string;
      wave: number;
      state: Exclude<WaveState, 'PENDING'>;
      domains: string[];
      succeeded: number;
      failed: number;
    }
  | {
      change: 'domain';
      rolloutId: string;
      wave: number;
      domainName: string;
      state: DomainState;
      code?: string;
      packageVersion?: string;
      elapsedMs?: number;
    }
  /** More failures than the strategy allows: no further wave starts, running domains finish. */
  | { change: 'halting'; rolloutId: string; failed: number; maxFailures: number }
  | { change: 'decided'; rolloutId: string; state: Exclude<RolloutState, 'RUNNING'>; counts: RolloutCounts };

function domainChange(rolloutId: string, domain: DomainSnapshot, now: number): RolloutChange {
  const elapsed = domain.state === 'PENDING' ? undefined : elapsedMs(domain, now);
  return {
    change: 'domain',
    rolloutId,
    wave: domain.wave,
    domainName: domain.domainName,
    state: domain.state,
    ...(domain.code !== undefined && { code: domain.code }),
    ...(domain.packageVersion !== undefined && { packageVersion: domain.packageVersion }),
    ...(elapsed !== undefined && domain.state !== 'RUNNING' && { elapsedMs: elapsed }),
  };
}

function waveChange(rolloutId: string, wave: WaveSnapshot, state: Exclude<WaveState, 'PENDING'>) {
  return {
    change: 'wave' as const,
    rolloutId,
    wave: wave.wave,
    state,
    domains: wave.domains.map((domain) => domain.domainName),
    succeeded: wave.succeeded,
    failed: wave.failed,
  };
}

/** One wave's changes: its start, its domains' new states in wave order, its completion. */
function waveChanges(rolloutId: string, before: WaveSnapshot | undefined, after: WaveSnapshot, now: number) {
  const changes: RolloutChange[] = [];
  const was = before?.state ?? 'PENDING';
  if (was === 'PENDING' && (after.state === 'RUNNING' || after.state === 'COMPLETED')) {
    changes.push(waveChange(rolloutId, after, 'RUNNING'));
  }
  after.domains.forEach((domain, index) => {
    if ((before?.domains[index]?.state ?? 'PENDING') !== domain.state) {
      changes.push(domainChange(rolloutId, domain, now));
    }
  });
  if (was !== 'COMPLETED' && after.state === 'COMPLETED') {
    changes.push(waveChange(rolloutId, after, 'COMPLETED'));
  }
  return changes;
}

/**
 * The changes from `before` (undefined: nothing seen yet) to `after`, in the order they happened: the start, each
 * wave's start, domains and completion, the halt, the waves it skipped, the decision.
 */
export function changesBetween(
  before: RolloutSnapshot | undefined,
  after: RolloutSnapshot,
  now: number,
): RolloutChange[] {
  const { rolloutId } = after;
  const changes: RolloutChange[] = [];
  if (before === undefined) {
    changes.push({
      change: 'started',
      rolloutId,
      packageId: after.packageId,
      packageVersion: after.packageVersion,
      strategy: after.strategy,
      waves: after.waves.map((wave) => wave.domains.map((domain) => domain.domainName)),
    });
  }
  for (const wave of after.waves)
    changes.push(...waveChanges(rolloutId, before?.waves[wave.wave], wave, now));
  if (after.halting && before?.halting !== true) {
    changes.push({
      change: 'halting',
      rolloutId,
      failed: after.counts.failed,
      maxFailures: after.strategy.maxFailures,
    });
  }
  for (const wave of after.waves) {
    if (wave.state === 'SKIPPED' && before?.waves[wave.wave]?.state !== 'SKIPPED') {
      changes.push(waveChange(rolloutId, wave, 'SKIPPED'));
    }
  }
  if (after.state !== 'RUNNING' && before?.state !== after.state) {
    changes.push({ change: 'decided', rolloutId, state: after.state, counts: after.counts });
  }
  return changes;
}

/** One line for a change, for people reading a log or a pipe. */
export function formatChange(change: RolloutChange, strategy: RolloutStrategy): string {
  switch (change.change) {
    case 'started': {
      const domains = change.waves.flat().length;
      const waves = `${change.waves.length} wave${change.waves.length === 1 ? '' : 's'}`;
      return `rollout ${change.rolloutId}: ${targetText(change)} on ${domains} domains in ${waves} (${strategyText(change.strategy)})`;
    }
    case 'wave': {
      const label = waveLabel({ strategy }, change.wave);
      if (change.state === 'COMPLETED') {
        return `${label} completed: ${change.succeeded} succeeded, ${change.failed} failed`;
      }
      return `${label} ${change.state === 'RUNNING' ? 'started' : 'skipped'}: ${change.domains.join(', ')}`;
    }
    case 'domain': {
      const outcome = change.state === 'FAILED' ? change.code : change.packageVersion;
      const parts = [`  ${change.domainName}`, change.state, ...(outcome === undefined ? [] : [outcome])];
      if (change.elapsedMs !== undefined) parts.push(formatElapsed(change.elapsedMs));
      return parts.join('  ');
    }
    case 'halting':
      return `rollout ${change.rolloutId} halting: ${change.failed} failed, more than max failures ${change.maxFailures}; no further wave starts, running domains finish`;
    case 'decided':
      return `rollout ${change.rolloutId} ${change.state}: ${countsText(change.counts)}`;
  }
}
