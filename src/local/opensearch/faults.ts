import * as z from 'zod';
import { type FaultRule, type LatencySetting, OPERATION_NAMES, type OperationName } from './model.ts';

/** The fault that answers nothing and drops the connection, as a network failure would. */
export const CONNECTION_RESET_FAULT = 'ConnectionReset';

const faultRuleSchema = z.strictObject({
  operation: z.enum([...OPERATION_NAMES, '*']),
  errorType: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'must be an error name such as ThrottlingException'),
  rate: z.number().min(0).max(1),
  status: z.int().min(400).max(599).optional(),
  message: z.string().optional(),
});

export const faultRulesSchema = z.array(faultRuleSchema);

const latencyMsSchema = z.number().min(0).max(60_000);

export const latencySettingSchema = z.union([
  latencyMsSchema,
  z.partialRecord(z.enum(OPERATION_NAMES), latencyMsSchema),
]);

/** Thrown when a fault rule, latency or runtime setting is out of range; the message names the field. */
export class InvalidEmulatorConfigError extends Error {
  override readonly name = 'InvalidEmulatorConfigError';
}

export function parseFaultRules(rules: unknown): FaultRule[] {
  const result = faultRulesSchema.safeParse(rules);
  if (!result.success) throw new InvalidEmulatorConfigError(z.prettifyError(result.error));
  return result.data;
}

export function parseLatencySetting(latency: unknown): LatencySetting {
  const result = latencySettingSchema.safeParse(latency);
  if (!result.success) throw new InvalidEmulatorConfigError(z.prettifyError(result.error));
  return result.data;
}

export function latencyFor(setting: LatencySetting, operation: OperationName): number {
  return typeof setting === 'number' ? setting : (setting[operation] ?? 0);
}

/**
 * Picks the fault, if any, that a call fails with. Every matching rule draws once, in order, so a
 * seeded generator yields the same sequence of faults for the same sequence of calls.
 */
export function pickFault(rules: readonly FaultRule[], operation: OperationName, random: () => number) {
  let chosen: FaultRule | undefined;
  for (const rule of rules) {
    if (rule.operation !== '*' && rule.operation !== operation) continue;
    const draw = random();
    if (chosen === undefined && draw < rule.rate) chosen = rule;
  }
  return chosen;
}
