import * as z from 'zod';
import { InvalidEmulatorConfigError } from './faults.ts';
import { EmulatorApiError } from './wire.ts';

/**
 * The account's share of the configuration API: a token bucket that refills at `callsPerSecond` and holds at
 * most `burst` calls (default: one second's worth, at least 1). AWS does not publish the rates.
 */
export interface RateLimit {
  callsPerSecond: number;
  burst?: number;
}

export const rateLimitSchema = z
  .strictObject({
    callsPerSecond: z.number().gt(0).max(10_000),
    burst: z.int().min(1).max(100_000).optional(),
  })
  .nullable();

export function parseRateLimit(value: unknown): Required<RateLimit> | null {
  const result = rateLimitSchema.safeParse(value);
  if (!result.success) throw new InvalidEmulatorConfigError(z.prettifyError(result.error));
  if (result.data === null) return null;
  const { callsPerSecond, burst } = result.data;
  return { callsPerSecond, burst: burst ?? Math.max(1, Math.ceil(callsPerSecond)) };
}

/**
 * What AWS answers a throttled control-plane call: HTTP 400 (not the 429 the SDK's model gives the error),
 * the error type as the availability layer in front of the service writes it, and "Rate exceeded". The SDK
 * strips the header's `:…` suffix and reads `ThrottlingException`, which its retry strategy treats as throttling.
 */
export const throttlingError = (): EmulatorApiError =>
  new EmulatorApiError(
    'ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/',
    'Rate exceeded',
    400,
    { __type: 'com.amazon.coral.availability#ThrottlingException' },
  );

/** One bucket for the emulator's account (it serves one account); starts full. */
export class TokenBucket {
  readonly limit: Required<RateLimit>;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(limit: Required<RateLimit>, now: () => number) {
    this.limit = limit;
    this.#now = now;
    this.#tokens = limit.burst;
    this.#at = now();
  }

  /** Takes a token for one call, or answers false when none is left. */
  take(): boolean {
    const now = this.#now();
    const elapsedSeconds = Math.max(0, now - this.#at) / 1000;
    this.#tokens = Math.min(this.limit.burst, this.#tokens + elapsedSeconds * this.limit.callsPerSecond);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
