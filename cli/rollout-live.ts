/**
 * The live view of a followed rollout on a terminal: a progress bar per wave and a table of the domains with
 * their state and elapsed time, redrawn in place by cli-progress. `liveModel` is the pure part.
 */
import cliProgress from 'cli-progress';
import { columns } from './packages-view.ts';
import {
  type DomainSnapshot,
  elapsedMs,
  formatElapsed,
  outcomeText,
  type RolloutSnapshot,
  targetText,
  waveLabel,
} from './rollout-view.ts';

export interface WaveBar {
  label: string;
  decided: number;
  total: number;
  state: string;
}

export interface LiveModel {
  header: string;
  waves: WaveBar[];
  /** The table's heading, then one line per domain. */
  table: string[];
}

/** What the terminal shows for one reading of the rollout at `now`. */
export function liveModel(snapshot: RolloutSnapshot, now: number): LiveModel {
  const { counts } = snapshot;
  const decided = counts.succeeded + counts.failed;
  const total = decided + counts.running + counts.pending;
  const halting = snapshot.halting && snapshot.state === 'RUNNING' ? '  halting: running domains finish' : '';
  const labels = snapshot.waves.map((wave) => waveLabel(snapshot, wave.wave));
  const labelWidth = Math.max(...labels.map((label) => label.length));
  const domains = snapshot.waves.flatMap((wave) => wave.domains);
  return {
    header: `rollout ${snapshot.rolloutId}  ${targetText(snapshot)}  ${snapshot.state}  ${decided}/${total} done, ${counts.failed} failed${halting}`,
    waves: snapshot.waves.map((wave, index) => ({
      label: (labels[index] ?? '').padEnd(labelWidth),
      decided: wave.succeeded + wave.failed,
      total: wave.domains.length,
      state: wave.state,
    })),
    table: columns([
      ['DOMAIN', 'WAVE', 'STATE', 'VERSION/CODE', 'ELAPSED'],
      ...domains.map((domain) => [
        domain.domainName,
        String(domain.wave),
        domain.state,
        outcomeText(domain),
        domain.state === 'PENDING' ? '' : formatElapsed(elapsedMs(domain, now)),
      ]),
    ]),
  };
}

const SHOWN_FIRST: Record<DomainSnapshot['state'], number> = {
  RUNNING: 0,
  FAILED: 1,
  SUCCEEDED: 2,
  PENDING: 3,
};

/**
 * At most `capacity` table lines (heading included): when the domains do not fit, the running and failed ones
 * first, and a last line counting the rest.
 */
export function fitTable(table: readonly string[], snapshot: RolloutSnapshot, capacity: number): string[] {
  if (table.length <= capacity) return [...table];
  const [heading = '', ...rows] = table;
  const domains = snapshot.waves.flatMap((wave) => wave.domains);
  const order = rows
    .map((row, index) => ({ row, state: domains[index]?.state ?? 'PENDING' }))
    .sort((a, b) => SHOWN_FIRST[a.state] - SHOWN_FIRST[b.state]);
  const shown = order.slice(0, Math.max(0, capacity - 2));
  const rest = order.slice(shown.length);
  const count = (state: DomainSnapshot['state']) => rest.filter((entry) => entry.state === state).length;
  const summary = `… ${rest.length} more: ${count('SUCCEEDED')} succeeded, ${count('PENDING')} not started`;
  return [heading, ...shown.map((entry) => entry.row), summary];
}

export interface LiveView {
  update(snapshot: RolloutSnapshot, now: number): void;
  /** Draws the last reading and leaves it on the screen. */
  stop(): void;
}

type Payload = { text: string } | WaveBar;

/** Lines a terminal keeps for the table: its height less the header, the wave bars and a spare line. */
function tableCapacity(stream: NodeJS.WriteStream, waves: number): number {
  const rows = stream.rows ?? 40;
  return Math.max(3, rows - waves - 2);
}

/** Starts drawing on `stream`, a terminal, from the first reading. */
export function startLiveView(stream: NodeJS.WriteStream, first: RolloutSnapshot, now: number): LiveView {
  const bars = new cliProgress.MultiBar(
    {
      stream,
      hideCursor: true,
      // The command handles Ctrl-C itself and stops the view.
      gracefulExit: false,
      barsize: 20,
      format: '{label} [{bar}] {decided}/{total}  {state}',
    },
    cliProgress.Presets.shades_classic,
  );
  const text = {
    format: (_options: unknown, _params: unknown, payload: Payload) =>
      'text' in payload ? payload.text : '',
  };
  const capacity = tableCapacity(stream, first.waves.length);
  const model = liveModel(first, now);
  const header = bars.create(0, 0, { text: model.header }, text);
  const waveBars = model.waves.map((wave) => bars.create(wave.total, wave.decided, wave));
  const rows = fitTable(model.table, first, capacity).map((line) => bars.create(0, 0, { text: line }, text));
  return {
    update(snapshot, at) {
      const next = liveModel(snapshot, at);
      header.update({ text: next.header });
      next.waves.forEach((wave, index) => {
        waveBars[index]?.update(wave.decided, wave);
      });
      const lines = fitTable(next.table, snapshot, capacity);
      rows.forEach((row, index) => {
        row.update({ text: lines[index] ?? '' });
      });
    },
    stop() {
      bars.stop();
    },
  };
}
