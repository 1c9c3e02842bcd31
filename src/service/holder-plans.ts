/**
 * What the lease holder learns from AWS, as a plan for its next transition: AssociatePackage's answer or error,
 * and, after a conflict or an answer never seen, what the domain's listing shows (docs/DESIGN.md, "An unseen
 * answer is read, not repeated").
 */
import { classifyError } from '../domain/classify.ts';
import { ASSOCIATION_FAILED } from '../domain/dlq.ts';
import type { PackageDetails } from '../domain/events.ts';
import type { RequestRecord } from '../domain/ledger.ts';
import { associationFailedMessage } from '../domain/tracking.ts';
import type { Decision } from '../domain/transitions.ts';
import { runStep } from './ledger-steps.ts';
import type { Delivery } from './rejection.ts';
import { describeError } from './runtime.ts';

/** What the holder does next, from an AWS answer or a listing. */
export type Plan =
  | { kind: 'follow'; details: PackageDetails; announce: boolean }
  | { kind: 'decide'; decision: Decision }
  | { kind: 'call' }
  | { kind: 'retry'; code: string; message: string; uncertain: boolean };

/** `call`: AssociatePackage, and what its answer (or error) means. */
export async function callAws(delivery: Delivery, held: RequestRecord): Promise<Plan> {
  const { deps } = delivery;
  let details: PackageDetails;
  try {
    details = await runStep(deps.stepHook, 'call', () => deps.associations.associate(held.request));
  } catch (error) {
    const decision = classifyError(error);
    if (decision.kind === 'conflict') return resolveByListing(delivery, held, 'conflict');
    if (decision.kind === 'permanent') {
      const reason = { code: decision.code, message: decision.message, retryable: false };
      return { kind: 'decide', decision: { outcome: 'failed', reason, details: {}, deadLetter: true } };
    }
    return {
      kind: 'retry',
      code: decision.code,
      message: decision.message,
      uncertain: isUnseenAnswer(error),
    };
  }
  return planFromStatus(details, 'call');
}

/** An error without an HTTP answer below 500 may hide a call that took effect (a reset, a timeout, a 5xx). */
function isUnseenAnswer(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  return typeof status !== 'number' || status >= 500;
}

function planFromStatus(details: PackageDetails, after: 'call' | 'uncertain'): Plan {
  if (details.status === 'ACTIVE') return { kind: 'decide', decision: { outcome: 'succeeded', details } };
  if (details.status === 'ASSOCIATION_FAILED') {
    const reason = {
      code: ASSOCIATION_FAILED,
      message: associationFailedMessage(details),
      retryable: false,
    };
    return { kind: 'decide', decision: { outcome: 'failed', reason, details, deadLetter: after === 'call' } };
  }
  return { kind: 'follow', details, announce: true };
}

/**
 * A listing last updated before the request was accepted (with room for the clocks of AWS and Lambda to differ)
 * cannot show what this request did. Without a time, it may: the safe reading is that it does.
 */
function isOlderThan(details: PackageDetails, held: RequestRecord): boolean {
  return details.lastUpdated !== undefined && details.lastUpdated < held.acceptedAt - CLOCK_SKEW_MS;
}

/** How far AWS's timestamps and Lambda's clock may be apart. */
const CLOCK_SKEW_MS = 5_000;

/**
 * `resolve`: the domain's listing says what a conflict or an unseen answer left. After a conflict, only this
 * package running or done ends the wait; after an unseen answer, a package not listed means the call did not
 * take effect, so it is made (again).
 */
export async function resolveByListing(
  delivery: Delivery,
  held: RequestRecord,
  why: 'conflict' | 'uncertain',
): Promise<Plan> {
  const { deps } = delivery;
  const { domainName, packageId } = held.request;
  let details: PackageDetails | undefined;
  try {
    details = await runStep(deps.stepHook, 'resolve', () => deps.associations.find(domainName, packageId));
  } catch (error) {
    const decision = classifyError(error);
    if (decision.kind === 'permanent') {
      const reason = { code: decision.code, message: decision.message, retryable: false };
      return { kind: 'decide', decision: { outcome: 'failed', reason, details: {}, deadLetter: true } };
    }
    const code = decision.kind === 'transient' ? decision.code : 'ConflictException';
    return { kind: 'retry', code, message: describeError(error).message, uncertain: true };
  }
  if (details?.status === 'ASSOCIATING' || details?.status === 'ACTIVE')
    return planFromStatus(details, 'uncertain');
  // A conflict too may hide a call of ours that took effect: the SDK retries a call whose answer was lost, and
  // the retry is the one AWS refuses. A failure since the request was accepted is therefore its outcome;
  // associating again would be a second operation. Only an older one is another request's, to be replaced.
  if (details?.status === 'ASSOCIATION_FAILED' && !isOlderThan(details, held)) {
    return planFromStatus(details, 'uncertain');
  }
  if (why === 'uncertain') {
    return details === undefined || details.status === 'ASSOCIATION_FAILED'
      ? { kind: 'call' }
      : {
          kind: 'retry',
          code: 'PackageBusy',
          message: `${packageId} is ${details.status}`,
          uncertain: false,
        };
  }
  const shown = details === undefined ? 'not listed' : `listed ${details.status}`;
  return {
    kind: 'retry',
    code: 'ConflictException',
    message: `conflict; ${packageId} is ${shown}`,
    uncertain: false,
  };
}
