/**
 * The steps of the ledger's state table (docs/DESIGN.md, "States and transitions") as data. Each step a handler
 * takes runs through `runStep`, so a test can fail a step or crash right after it, for every step listed here.
 */
export const LEDGER_STEPS = {
  claim: { by: 'associate', writes: true },
  ready: { by: 'associate', writes: false },
  group: { by: 'associate', writes: false },
  lock: { by: 'associate', writes: true },
  leave: { by: 'associate', writes: true },
  wait: { by: 'associate', writes: true },
  pin: { by: 'associate', writes: true },
  call: { by: 'associate', writes: false },
  resolve: { by: 'associate', writes: false },
  follow: { by: 'associate', writes: true },
  decide: { by: 'associate', writes: true },
  release: { by: 'associate', writes: true },
  reject: { by: 'associate', writes: true },
  'send-dead-letter': { by: 'any', writes: false },
  'send-tracking': { by: 'any', writes: false },
  'advance-rollout': { by: 'any', writes: true },
  'send-children': { by: 'any', writes: false },
  'accept-rollout': { by: 'associate', writes: true },
  publish: { by: 'any', writes: false },
  clear: { by: 'any', writes: true },
  check: { by: 'tracker', writes: false },
  'check-again': { by: 'tracker', writes: false },
  conclude: { by: 'tracker', writes: true },
  unlock: { by: 'any', writes: true },
  wake: { by: 'any', writes: false },
} as const satisfies Record<string, { by: 'associate' | 'tracker' | 'any'; writes: boolean }>;

export type LedgerStep = keyof typeof LEDGER_STEPS;

/**
 * Fault injection at the steps, for tests only: `before` may throw (the step fails, as a write refused by
 * DynamoDB would), `after` may never settle (the invocation dies right after the step).
 */
export interface StepHook {
  before?(step: LedgerStep): Promise<void> | void;
  after?(step: LedgerStep): Promise<void> | void;
}

export async function runStep<T>(hook: StepHook | undefined, step: LedgerStep, work: () => Promise<T>) {
  if (hook === undefined) return work();
  await hook.before?.(step);
  const result = await work();
  await hook.after?.(step);
  return result;
}
