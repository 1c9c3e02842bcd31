import { EventBridgeConfigError } from './errors.ts';

export interface EventBridgeFaults {
  /** Share of otherwise valid entries answered with `InternalFailure` (0..1). */
  entryFailureRate?: number;
  /** Share of PutEvents calls answered with `ThrottlingException` (0..1). */
  throttleRate?: number;
  /** Added before every API answer. */
  latencyMs?: number;
}

export const FAULT_FIELDS: readonly string[] = ['entryFailureRate', 'throttleRate', 'latencyMs'];

export function validateFaults(faults: EventBridgeFaults): Required<EventBridgeFaults> {
  const resolved = {
    entryFailureRate: faults.entryFailureRate ?? 0,
    throttleRate: faults.throttleRate ?? 0,
    latencyMs: faults.latencyMs ?? 0,
  };
  for (const key of ['entryFailureRate', 'throttleRate'] as const) {
    const rate = resolved[key];
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
      throw new EventBridgeConfigError(`${key} must be a number from 0 to 1, got ${String(rate)}`);
    }
  }
  const latency = resolved.latencyMs;
  if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0) {
    throw new EventBridgeConfigError(`latencyMs must be a finite number >= 0, got ${String(latency)}`);
  }
  return resolved;
}
