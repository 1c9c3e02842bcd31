/**
 * A pattern EventBridge refuses. `reason` is AWS's own wording (from its matcher, event-ruler), so the
 * API answers `InvalidEventPatternException` with `Event pattern is not valid. Reason: <reason>`.
 * AWS appends the parser's position (`at [Source: ...; line: 1, column: 12]`); the emulator does not.
 */
export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternError';
  readonly reason: string;

  constructor(reason: string) {
    super(`Event pattern is not valid. Reason: ${reason}`);
    this.reason = reason;
  }
}
