import type { RolloutDetail } from './event-schemas.ts';
import { DETAIL_TYPES } from './events.ts';
import type { RolloutRecord } from './rollout.ts';

const ROLLOUT_DETAIL_TYPES = {
  started: DETAIL_TYPES.rolloutStarted,
  waveCompleted: DETAIL_TYPES.rolloutWaveCompleted,
  completed: DETAIL_TYPES.rolloutCompleted,
  halted: DETAIL_TYPES.rolloutHalted,
} as const;

export type RolloutEventKind = keyof typeof ROLLOUT_DETAIL_TYPES;

/** A rollout event: the rollout as its record stands, the per-domain outcomes so far included. */
export function rolloutEvent(
  rollout: RolloutRecord,
  kind: RolloutEventKind,
  stamp: { eventId: string; occurredAt: Date },
  wave?: number,
) {
  const counts = { pending: 0, running: 0, succeeded: 0, failed: 0 };
  for (const progress of Object.values(rollout.progress)) {
    if (progress.state === 'PENDING') counts.pending += 1;
    else if (progress.state === 'RUNNING') counts.running += 1;
    else if (progress.state === 'SUCCEEDED') counts.succeeded += 1;
    else counts.failed += 1;
  }
  const detail: RolloutDetail = {
    eventId: stamp.eventId,
    rolloutId: rollout.rolloutId,
    correlationId: rollout.correlationId,
    packageId: rollout.packageId,
    packageVersion: rollout.packageVersion,
    strategy: rollout.strategy,
    domains: rollout.domains,
    waves: rollout.waves,
    ...(wave !== undefined && { wave }),
    outcomes: rollout.progress,
    counts,
    requestedBy: rollout.requestedBy,
    occurredAt: stamp.occurredAt.toISOString(),
  };
  return { detailType: ROLLOUT_DETAIL_TYPES[kind], detail };
}
