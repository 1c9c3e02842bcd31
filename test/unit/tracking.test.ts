import { describe, expect, it } from 'vitest';
import { decideTracking, type FollowedAssociation, trackingDelaySeconds } from '../../src/domain/tracking.ts';

const policy = { firstDelaySeconds: 15, maxDelaySeconds: 300 };
const message: FollowedAssociation = {
  action: 'associate',
  domainName: 'catalog-search',
  packageId: 'F1',
  deadline: Date.parse('2026-11-28T10:30:00.000Z'),
  check: 1,
};
const at = (iso: string) => new Date(iso);

describe('trackingDelaySeconds', () => {
  it('starts at about the first delay and doubles up to the cap, with ±20% jitter', () => {
    expect(trackingDelaySeconds(1, policy, 0.5)).toBe(15);
    expect(trackingDelaySeconds(1, policy, 0)).toBe(12);
    expect(trackingDelaySeconds(1, policy, 0.999)).toBe(18);
    expect(trackingDelaySeconds(3, policy, 0.5)).toBe(60);
    expect(trackingDelaySeconds(10, policy, 0.999)).toBe(300);
  });
});

describe('decideTracking', () => {
  const now = at('2026-11-28T10:01:00.000Z');

  it('ACTIVE succeeds', () => {
    expect(decideTracking(message, { status: 'ACTIVE' }, now, policy, 0.5)).toEqual({ kind: 'succeeded' });
  });

  it('ASSOCIATION_FAILED fails with the AWS error message', () => {
    const details = {
      status: 'ASSOCIATION_FAILED' as const,
      errorDetails: { errorType: 'PluginError', errorMessage: 'plugin incompatible' },
    };
    expect(decideTracking(message, details, now, policy, 0.5)).toEqual({
      kind: 'failed',
      code: 'AssociationFailed',
      message: 'The domain reported ASSOCIATION_FAILED: plugin incompatible',
    });
  });

  it('a package not listed at the first check is looked for again: the listing can lag', () => {
    expect(decideTracking(message, undefined, now, policy, 0.5)).toEqual({
      kind: 'check-again',
      delaySeconds: 30,
    });
  });

  it('a package no longer on the domain is lost', () => {
    expect(decideTracking({ ...message, check: 2 }, undefined, now, policy, 0.5)).toEqual({
      kind: 'failed',
      code: 'AssociationLost',
      message: 'F1 is no longer associated with catalog-search',
    });
    expect(decideTracking(message, { status: 'DISSOCIATING' }, now, policy, 0.5)).toMatchObject({
      code: 'AssociationLost',
    });
  });

  it('still ASSOCIATING is checked again, later each time', () => {
    expect(decideTracking(message, { status: 'ASSOCIATING' }, now, policy, 0.5)).toEqual({
      kind: 'check-again',
      delaySeconds: 30,
    });
    expect(decideTracking({ ...message, check: 3 }, { status: 'ASSOCIATING' }, now, policy, 0.5)).toEqual({
      kind: 'check-again',
      delaySeconds: 120,
    });
  });

  it('never schedules a check past the deadline', () => {
    const late = at('2026-11-28T10:29:50.000Z');
    expect(decideTracking({ ...message, check: 6 }, { status: 'ASSOCIATING' }, late, policy, 0.5)).toEqual({
      kind: 'check-again',
      delaySeconds: 10,
    });
  });

  it('still ASSOCIATING at the deadline times out', () => {
    const deadline = at('2026-11-28T10:30:00.000Z');
    expect(
      decideTracking({ ...message, check: 9 }, { status: 'ASSOCIATING' }, deadline, policy, 0.5),
    ).toEqual({
      kind: 'failed',
      code: 'TimedOut',
      message: 'Still ASSOCIATING at the deadline 2026-11-28T10:30:00.000Z after 9 checks',
    });
  });
});
