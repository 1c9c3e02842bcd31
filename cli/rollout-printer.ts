/**
 * Where a followed rollout's readings go: JSON lines (`--json`), one plain line per change (not a terminal), or
 * the live view (a terminal). Each mode sees every reading and the end.
 */
import { changesBetween, formatChange, type RolloutChange } from './rollout-changes.ts';
import type { FollowEnd } from './rollout-follow.ts';
import { type LiveView, startLiveView } from './rollout-live.ts';
import type { RolloutSnapshot } from './rollout-view.ts';
import { countsText } from './rollout-view.ts';

type PrinterMode = 'json' | 'plain' | 'live';

export interface RolloutPrinter {
  snapshot(snapshot: RolloutSnapshot, now: number): void;
  end(end: FollowEnd, now: number): void;
}

interface Sinks {
  out(line: string): void;
  err(line: string): void;
  terminal?: NodeJS.WriteStream | undefined;
}

const iso = (now: number) => new Date(now).toISOString();

/** The line that tells how following ended, for people; undefined when the view already said it. */
function endLine(rolloutId: string, end: FollowEnd, mode: PrinterMode): string | undefined {
  switch (end.kind) {
    case 'decided':
      return mode === 'live'
        ? `rollout ${rolloutId} ${end.snapshot.state}: ${countsText(end.snapshot.counts)}`
        : undefined;
    case 'rejected':
      return `rollout ${rolloutId} was rejected: ${end.reason} (its message is on the requests DLQ: associator dlq list)`;
    case 'stopped':
      return `stopped following rollout ${rolloutId}; it goes on: associator status --rollout ${rolloutId}`;
  }
}

/** JSON lines with `json`; otherwise the live view on a terminal, plain lines elsewhere. */
export function rolloutPrinter(sinks: Sinks, json: boolean, rolloutId: string): RolloutPrinter {
  const terminal = json ? undefined : sinks.terminal;
  const mode: PrinterMode = json ? 'json' : terminal !== undefined ? 'live' : 'plain';
  let last: RolloutSnapshot | undefined;
  let live: LiveView | undefined;
  const emit = (
    change: RolloutChange | { change: 'rejected'; rolloutId: string; reason: string },
    now: number,
  ) => sinks.out(JSON.stringify({ ...change, at: iso(now) }));
  return {
    snapshot(snapshot, now) {
      if (terminal !== undefined) {
        if (live === undefined) live = startLiveView(terminal, snapshot, now);
        else live.update(snapshot, now);
      } else {
        for (const change of changesBetween(last, snapshot, now)) {
          if (mode === 'json') emit(change, now);
          else sinks.out(`${iso(now)}  ${formatChange(change, snapshot.strategy)}`);
        }
      }
      last = snapshot;
    },
    end(end, now) {
      live?.stop();
      if (mode === 'json' && end.kind === 'rejected')
        emit({ change: 'rejected', rolloutId, reason: end.reason }, now);
      const line = endLine(rolloutId, end, mode);
      if (line === undefined) return;
      if (end.kind === 'decided') sinks.out(line);
      else sinks.err(line);
    },
  };
}
