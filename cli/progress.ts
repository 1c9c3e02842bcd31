import cliProgress from 'cli-progress';

export interface Progress {
  advance(count: number): void;
  /** The total may only be known approximately at the start (a queue's depth); raise it as work grows. */
  ensureTotalAtLeast(total: number): void;
  stop(): void;
}

/** A bar on `stream`; cli-progress draws nothing unless it is a terminal, so pipes and logs stay clean. */
export function startProgress(stream: NodeJS.WritableStream, label: string, total: number): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {value}/{total} | {duration_formatted}`,
      hideCursor: true,
      gracefulExit: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let value = 0;
  let currentTotal = total;
  bar.start(total, 0);
  return {
    advance(count) {
      value += count;
      if (value > currentTotal) this.ensureTotalAtLeast(value);
      bar.update(value);
    },
    ensureTotalAtLeast(newTotal) {
      if (newTotal <= currentTotal) return;
      currentTotal = newTotal;
      bar.setTotal(newTotal);
    },
    stop() {
      bar.stop();
    },
  };
}
