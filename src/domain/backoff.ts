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
 * Waits that are not the request's own trouble: a throttle (the account's rate, shared with everything else it
 * does) and a domain busy with another request's operation (a wait that costs ledger reads, no control-plane
 * call, and that the domain's `unlock` may cut short). Their backoff grows with the request's own attempts only
 * up to the third (base, 2×, 4× base), so a request that waited its turn for a domain several times neither sits
 * out minutes for one throttled read nor misses its domain by minutes.
 */
const SHARED_WAIT_ATTEMPT_CAP = 3;

export function sharedWaitBackoffSeconds(attempt: number, policy: BackoffPolicy, random: number): number {
  return backoffSeconds(Math.min(attempt, SHARED_WAIT_ATTEMPT_CAP), policy, random);
}
