export interface BackoffPolicy {
  baseSeconds: number;
  maxSeconds: number;
}

/**
 * SQS caps a message's visibility timeout at 12 hours
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html).
 */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/**
 * Seconds to hide a record before its next attempt: exponential in the attempt number, capped, with
 * "equal jitter" (half fixed, half random) so retries of a throttled burst spread out but never come back
 * immediately (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 *
 * @param attempt the attempt that just failed, 1-based (the record's ApproximateReceiveCount)
 * @param random a number in [0, 1)
 */
export function backoffSeconds(attempt: number, policy: BackoffPolicy, random: number): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(
    policy.maxSeconds,
    policy.baseSeconds * 2 ** exponent,
    MAX_VISIBILITY_TIMEOUT_SECONDS,
  );
  return Math.max(1, Math.round(ceiling / 2 + (random * ceiling) / 2));
}

/**
 * A throttle is the account's rate, shared with everything else it does, not this request's trouble: its
 * backoff grows with its own attempts only up to the third (base, 2×, 4× base), so a request that waited its
 * turn for a domain several times does not then sit out minutes for one throttled read.
 */
const THROTTLE_ATTEMPT_CAP = 3;

export function throttleBackoffSeconds(attempt: number, policy: BackoffPolicy, random: number): number {
  return backoffSeconds(Math.min(attempt, THROTTLE_ATTEMPT_CAP), policy, random);
}

/**
 * A wait for a domain busy with another request's operation costs ledger reads only, and the `unlock` that frees
 * the domain wakes the listed waiters; those it cannot list (more than ten) come back by their backoff, which
 * stops growing at the sixth attempt (32× base, 160 s at most by default) rather than at `BACKOFF_MAX_SECONDS`,
 * so a long queue on one domain drains in minutes. Every wait spends a delivery, and at that pace (2 min a wait
 * on average) the retry budget (an hour by default), more often than the 40 deliveries of `MAX_ATTEMPTS`, ends it.
 */
const DOMAIN_WAIT_ATTEMPT_CAP = 6;

export function domainWaitBackoffSeconds(attempt: number, policy: BackoffPolicy, random: number): number {
  return backoffSeconds(Math.min(attempt, DOMAIN_WAIT_ATTEMPT_CAP), policy, random);
}
