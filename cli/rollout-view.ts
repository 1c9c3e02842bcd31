/**
 * A rollout's record (docs/DESIGN.md, "Rollouts") as a person or a script follows it: its waves and domains,
 * and what changed from one reading to the next. Pure, so every view is tested without a ledger.
 */
import { isDecided, type RolloutRecord, type RolloutState } from '../src/domain/rollout.ts';
import type { RolloutStrategy } from '../src/domain/rollout-request.ts';

export type DomainState = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
/** A wave never started because the rollout halted before it is `SKIPPED`. */
export type WaveState = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'SKIPPED';

/** When a domain's child request started and ended, epoch ms, as far as they are known. */
export interface DomainTimes {
  startedAt?: number | undefined;
  decidedAt?: number | undefined;
}

export interface DomainSnapshot {
  domainName: string;
  wave: number;
  state: DomainState;
  /** Why the domain's child request failed (its reason code). */
  code?: string | undefined;
  /** The version the domain ended at. */
  packageVersion?: string | undefined;
  startedAt?: number | undefined;
  decidedAt?: number | undefined;
}

export interface WaveSnapshot {
  wave: number;
  state: WaveState;
  domains: DomainSnapshot[];
  succeeded: number;
  failed: number;
}

export interface RolloutCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
}

export interface RolloutSnapshot {
  rolloutId: string;
  state: RolloutState;
  halting: boolean;
  packageId: string;
  /** The version every domain must end at; undefined when the package could not be read at acceptance. */
  packageVersion: string | undefined;
  strategy: RolloutStrategy;
  currentWave: number;
  waves: WaveSnapshot[];
  counts: RolloutCounts;
}

function waveState(record: RolloutRecord, wave: number, domains: readonly DomainSnapshot[]): WaveState {
  if (domains.every((domain) => domain.state === 'SUCCEEDED' || domain.state === 'FAILED'))
    return 'COMPLETED';
  if (domains.some((domain) => domain.state !== 'PENDING')) return 'RUNNING';
  return record.state === 'RUNNING' || wave <= record.currentWave ? 'PENDING' : 'SKIPPED';
}

/** The record as waves of domains, with the times known for each domain (`times`, by domain name). */
export function rolloutSnapshot(
  record: RolloutRecord,
  times: ReadonlyMap<string, DomainTimes> = new Map(),
): RolloutSnapshot {
  const counts: RolloutCounts = { pending: 0, running: 0, succeeded: 0, failed: 0 };
  const waves = record.waves.map((names, wave): WaveSnapshot => {
    const domains = names.map((domainName): DomainSnapshot => {
      const progress = record.progress[domainName] ?? { state: 'PENDING' };
      const known = times.get(domainName);
      return {
        domainName,
        wave,
        state: progress.state,
        ...(isDecided(progress) && progress.code !== undefined && { code: progress.code }),
        ...(isDecided(progress) &&
          progress.packageVersion !== undefined && { packageVersion: progress.packageVersion }),
        ...(known?.startedAt !== undefined && { startedAt: known.startedAt }),
        ...(known?.decidedAt !== undefined && { decidedAt: known.decidedAt }),
      };
    });
    for (const domain of domains) counts[domain.state.toLowerCase() as keyof RolloutCounts] += 1;
    return {
      wave,
      state: waveState(record, wave, domains),
      domains,
      succeeded: domains.filter((domain) => domain.state === 'SUCCEEDED').length,
      failed: domains.filter((domain) => domain.state === 'FAILED').length,
    };
  });
  return {
    rolloutId: record.rolloutId,
    state: record.state,
    halting: record.halting,
    packageId: record.packageId,
    packageVersion: record.packageVersion,
    strategy: record.strategy,
    currentWave: record.currentWave,
    waves,
    counts,
  };
}

/** How long a domain has run (until `now`) or ran; undefined before its start is known. */
export function elapsedMs(domain: DomainSnapshot, now: number): number | undefined {
  if (domain.startedAt === undefined) return undefined;
  const end = domain.state === 'SUCCEEDED' || domain.state === 'FAILED' ? domain.decidedAt : now;
  return end === undefined ? undefined : Math.max(0, end - domain.startedAt);
}

/** `850 ms`, `12.3 s`, `4 min 05 s`. */
export function formatElapsed(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

/** `wave 0 (canary)` for the canary wave, `wave 2` for the others. */
export function waveLabel(snapshot: Pick<RolloutSnapshot, 'strategy'>, wave: number): string {
  return wave === 0 && snapshot.strategy.canary > 0 ? 'wave 0 (canary)' : `wave ${wave}`;
}

/** `F111111111 at v3`, or `at its available version` when the target could not be read. */
export function targetText(snapshot: Pick<RolloutSnapshot, 'packageId' | 'packageVersion'>): string {
  return `${snapshot.packageId} at ${snapshot.packageVersion ?? '(no version: the package could not be read)'}`;
}

export function strategyText(strategy: RolloutStrategy): string {
  return `canary ${strategy.canary}, wave size ${strategy.waveSize}, max failures ${strategy.maxFailures}`;
}

export function countsText(counts: RolloutCounts): string {
  const parts = [`${counts.succeeded} succeeded`, `${counts.failed} failed`];
  if (counts.running > 0) parts.push(`${counts.running} running`);
  if (counts.pending > 0) parts.push(`${counts.pending} not started`);
  return parts.join(', ');
}

/** The outcome column of a domain: its version when it succeeded, its code when it failed. */
export function outcomeText(domain: DomainSnapshot): string {
  if (domain.state === 'FAILED') return domain.code ?? '-';
  return domain.state === 'SUCCEEDED' ? (domain.packageVersion ?? '-') : '';
}
