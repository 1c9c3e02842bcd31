import type { DomainOutcome } from '../../src/domain/ledger.ts';
import { acceptRollout, advance, type RolloutRecord } from '../../src/domain/rollout.ts';
import type { RolloutRequest, RolloutStrategy } from '../../src/domain/rollout-request.ts';
import type { TransitionContext } from '../../src/domain/transitions.ts';

/** 2026-03-01T10:00:00Z: every rollout of these helpers is accepted then. */
export const ACCEPTED_AT = Date.parse('2026-03-01T10:00:00.000Z');
export const EU_DOMAINS = ['search-eu-1', 'search-eu-2', 'search-eu-3', 'search-eu-4', 'search-eu-5'];

let ids = 0;
export const contextAt = (ms: number): TransitionContext => ({
  now: new Date(ACCEPTED_AT + ms),
  newId: () => `event-${++ids}`,
  windowSeconds: 86_400,
});

/**
 * A rollout of F111111111 at v3 on `domains`, accepted by the service's own transition, so a change to what
 * the record holds shows up in the CLI's tests. The default strategy makes the waves [eu-1] [eu-2 eu-3] [eu-4 eu-5].
 */
export function acceptedRollout(
  strategy: RolloutStrategy = { canary: 1, waveSize: 2, maxFailures: 0 },
  domains: string[] = EU_DOMAINS,
): RolloutRecord {
  const rollout: RolloutRequest = {
    action: 'rollout',
    packageId: 'F111111111',
    domains: ['search-eu-*'],
    idempotencyKey: 'eu-v3',
    correlationId: 'eu-v3',
    requestedBy: 'Zoë',
    strategy,
  };
  return acceptRollout(contextAt(0), {
    rollout,
    fingerprint: 'fingerprint-eu-v3',
    domains,
    packageVersion: 'v3',
    lifetimeSeconds: 3600,
  });
}

export const SUCCEEDED: DomainOutcome = { state: 'SUCCEEDED', packageVersion: 'v3' };
export const FAILED: DomainOutcome = { state: 'FAILED', code: 'AssociationFailed' };

/** The record after each outcome in turn, as the children's decisions would advance it at `ms`. */
export function advanced(
  record: RolloutRecord,
  ms: number,
  ...outcomes: [string, DomainOutcome][]
): RolloutRecord {
  let next = record;
  for (const [domainName, outcome] of outcomes) {
    next = advance(contextAt(ms), next, domainName, outcome) ?? next;
  }
  return next;
}
