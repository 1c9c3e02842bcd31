/** Exit codes of `associator`: scripts branch on them, so they never change meaning. */
export const EXIT = {
  ok: 0,
  /** The operation ran and (partly) failed: a request refused or not sent, an AWS error, nothing found. */
  failed: 1,
  /** The command line was wrong: unknown command or flag, missing or conflicting flags. */
  usage: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The command line asks for something impossible; reported with the usage text and exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The operation could not run (say, an unreadable input file); reported in one line with exit code 1. */
export class OperationError extends Error {
  override name = 'OperationError';
}

/** Everything a command writes goes through here, so tests can run commands without a terminal. */
export interface CliIo {
  /** One line of results on stdout. */
  out(line: string): void;
  /** One line of diagnostics, warnings or summaries on stderr. */
  err(line: string): void;
  /** Where progress bars draw; they stay silent unless it is a terminal. */
  progressStream: NodeJS.WritableStream;
  /** Standard output when it is a terminal, where live views redraw in place; undefined when it is not. */
  terminal?: NodeJS.WriteStream | undefined;
  env: NodeJS.ProcessEnv;
  /**
   * Calls `handler` on every Ctrl-C (SIGINT) or SIGTERM instead of exiting; returns the function that
   * restores the default.
   */
  onInterrupt(handler: () => void): () => void;
}

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    progressStream: process.stderr,
    terminal: process.stdout.isTTY ? process.stdout : undefined,
    env: process.env,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}

/** A short, single-line account of an error: the SDK's error name and message, never a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const message = error.message.split('\n')[0] ?? '';
    const described = error.name && error.name !== 'Error' ? `${error.name}: ${message}` : message;
    // The usual cause locally, where nothing else would refuse a connection.
    return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED'
      ? `${described} (is the local stack running? npm start)`
      : described;
  }
  return String(error);
}
