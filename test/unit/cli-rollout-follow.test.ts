import { describe, expect, it } from 'vitest';
import { followRollout } from '../../cli/rollout-follow.ts';
import { checkRollout, rolloutFromFlags } from '../../cli/rollout-message.ts';
import type { RolloutSnapshot } from '../../cli/rollout-view.ts';
import { rolloutFingerprintOf } from '../../src/domain/fingerprint.ts';
import type { LedgerRecord, RequestRecord } from '../../src/domain/ledger.ts';
import { parseMessage } from '../../src/domain/request.ts';
import { childKey, type RolloutRecord } from '../../src/domain/rollout.ts';
import { acceptRequest, rejectMessage } from '../../src/domain/transitions.ts';
import { ACCEPTED_AT, acceptedRollout, advanced, contextAt, SUCCEEDED } from '../helpers/rollouts.ts';

describe('rolloutFromFlags', () => {
  it('builds the rollout message, domains split on commas, leaving out what was not given', () => {
    expect(rolloutFromFlags({ package: 'F1', domains: ['orders-*, catalog-search', 'search-eu-1'] })).toEqual(
      {
        action: 'rollout',
        packageId: 'F1',
        domains: ['orders-*', 'catalog-search', 'search-eu-1'],
      },
    );
    expect(
      rolloutFromFlags({
        package: 'F1',
        packageVersion: 'v7',
        domains: ['orders-*'],
        canary: '2',
        waveSize: '3',
        maxFailures: '1',
        key: 'k',
        correlationId: 'c',
        requestedBy: 'me',
      }),
    ).toEqual({
      action: 'rollout',
      packageId: 'F1',
      packageVersion: 'v7',
      domains: ['orders-*'],
      strategy: { canary: 2, waveSize: 3, maxFailures: 1 },
      idempotencyKey: 'k',
      correlationId: 'c',
      requestedBy: 'me',
    });
  });
});

describe('checkRollout', () => {
  it('refuses what the service would, naming each flag and its rule', () => {
    const checked = checkRollout(
      rolloutFromFlags({ package: 'F111111111', domains: ['Orders*'], canary: 'one', waveSize: '0' }),
    );
    expect(checked).toEqual({
      ok: false,
      problem:
        'domains.0 (--domains): must be a domain name or a prefix followed by * (orders-*); strategy.canary (--canary): must be a whole number; strategy.waveSize (--wave-size): must be 1 to 100',
    });
    expect(checkRollout(rolloutFromFlags({ package: 'F111111111', domains: [' , '] }))).toEqual({
      ok: false,
      problem: 'domains (--domains): must name 1 to 100 domains or patterns',
    });
    expect(checkRollout(rolloutFromFlags({ package: 'F1', domains: ['a'], maxFailures: '' }))).toMatchObject({
      problem: expect.stringContaining('strategy.maxFailures (--max-failures): must be a whole number'),
    });
  });

  it("accepts what the service accepts, with the fingerprint the service gives it and the body's key", () => {
    const message = rolloutFromFlags({ package: 'F111111111', domains: ['search-eu-*'], key: 'eu-v3' });
    const checked = checkRollout(message);
    const parsed = parseMessage(JSON.stringify(message), 'm');

    expect(parsed.ok && parsed.kind === 'rollout').toBe(true);
    if (!parsed.ok || parsed.kind !== 'rollout') return;
    expect(checked).toEqual({
      ok: true,
      body: JSON.stringify(message),
      fingerprint: rolloutFingerprintOf(parsed.rollout),
      declaredKey: 'eu-v3',
    });
    expect(checkRollout(rolloutFromFlags({ package: 'F111111111', domains: ['orders-logs'] }))).toMatchObject(
      {
        ok: true,
        declaredKey: undefined,
      },
    );
  });
});

const at = (ms: number) => ACCEPTED_AT + ms;

/** The child request of a domain as its record stands: accepted at `acceptedMs`, decided at `decidedMs`. */
function child(domainName: string, acceptedMs: number, decidedMs?: number): RequestRecord {
  const idempotencyKey = childKey('eu-v3', domainName);
  const request = { idempotencyKey, correlationId: 'eu-v3', domainName, packageId: 'F111111111' };
  const accepted = acceptRequest(contextAt(acceptedMs), {
    request,
    fingerprint: 'f',
    body: '{}',
    messageId: `m-${domainName}`,
    lease: { owner: 'invocation', until: at(acceptedMs + 30_000) },
    lifetimeSeconds: 3600,
  });
  return decidedMs === undefined ? accepted : { ...accepted, state: 'SUCCEEDED', decidedAt: at(decidedMs) };
}

/**
 * A ledger whose rollout record moves through `readings`, one per read (the last one stays), and whose other
 * records appear from the reading given for each (a later entry for the same id replaces an earlier one).
 */
function scriptedLedger(readings: (RolloutRecord | undefined)[], others: [number, LedgerRecord][] = []) {
  let reading = -1;
  const reads: string[] = [];
  return {
    reads,
    async get(id: string): Promise<LedgerRecord | undefined> {
      reads.push(id);
      if (id.startsWith('rollout#')) {
        reading += 1;
        return readings[Math.min(reading, readings.length - 1)];
      }
      return others.filter(([from, record]) => record.id === id && from <= reading).at(-1)?.[1];
    },
  };
}

async function follow(ledger: ReturnType<typeof scriptedLedger>, signal = new AbortController().signal) {
  const snapshots: RolloutSnapshot[] = [];
  let waited = 0;
  let clock = at(0);
  const end = await followRollout(
    { rolloutId: 'eu-v3', messageId: 'message-1', fingerprint: 'fingerprint-eu-v3' },
    {
      ledger,
      intervalMs: 0,
      now: () => {
        clock += 500;
        return clock;
      },
      signal,
      onSnapshot: (snapshot) => snapshots.push(snapshot),
      onWaiting: () => {
        waited += 1;
      },
    },
  );
  return { end, snapshots, waited };
}

describe('followRollout', () => {
  const strategy = { canary: 1, waveSize: 1, maxFailures: 0 };
  const accepted = acceptedRollout(strategy, ['search-eu-1', 'search-eu-2']);
  const canaryDone = advanced(accepted, 9000, ['search-eu-1', SUCCEEDED]);
  const completed = advanced(canaryDone, 20_000, ['search-eu-2', SUCCEEDED]);

  it('waits for the record, then reads it until COMPLETED, with each domain timed by its child request', async () => {
    const ledger = scriptedLedger(
      [undefined, undefined, accepted, accepted, canaryDone, completed],
      [
        [3, child('search-eu-1', 800, 8800)],
        [4, child('search-eu-2', 9100)],
        [5, child('search-eu-2', 9100, 19_900)],
      ],
    );
    const { end, snapshots, waited } = await follow(ledger);

    expect(waited).toBe(1);
    expect(snapshots.map((snapshot) => snapshot.counts.succeeded)).toEqual([0, 0, 1, 2]);
    expect(end).toEqual({ kind: 'decided', snapshot: snapshots.at(-1) });
    const domains = snapshots.at(-1)?.waves.flatMap((wave) => wave.domains);
    expect(domains?.map(({ startedAt, decidedAt }) => [startedAt, decidedAt])).toEqual([
      [at(800), at(8800)],
      [at(9100), at(19_900)],
    ]);
    // First seen running before its child was read: timed from that reading until the child's record says.
    expect(snapshots[0]?.waves[0]?.domains[0]?.startedAt).toBe(at(1500));
  });

  it('reads no child again once its times are settled', async () => {
    const ledger = scriptedLedger(
      [canaryDone, canaryDone, canaryDone, completed],
      [[0, child('search-eu-1', 800, 8800)]],
    );
    await follow(ledger);

    const childReads = (domainName: string) =>
      ledger.reads.filter((id) => id === `request#${childKey('eu-v3', domainName)}`).length;
    expect(childReads('search-eu-1')).toBe(1);
    // Running without a child record: read each time until it appears, then once more for its decision.
    expect(childReads('search-eu-2')).toBe(4);
  });

  it('ends with the reason when the message was rejected instead', async () => {
    const rejection = rejectMessage(contextAt(100), {
      messageId: 'message-1',
      body: '{}',
      attempt: 1,
      hint: {},
      code: 'DomainNotAllowed',
      message: 'domains: hr-private is not in the allow-list of this service',
    });
    const { end, snapshots } = await follow(scriptedLedger([undefined], [[2, rejection]]));

    expect(end).toEqual({ kind: 'rejected', reason: 'DomainNotAllowed' });
    expect(snapshots).toEqual([]);
  });

  it("does not show another rollout's record under the same key", async () => {
    const other = { ...accepted, fingerprint: 'another rollout' };
    const conflict = rejectMessage(contextAt(100), {
      messageId: 'message-1',
      body: '{}',
      attempt: 1,
      hint: {},
      code: 'IdempotencyKeyConflict',
      message: 'idempotencyKey: eu-v3 was already used for another request',
    });
    const { end, snapshots } = await follow(scriptedLedger([other], [[1, conflict]]));

    expect(end).toEqual({ kind: 'rejected', reason: 'IdempotencyKeyConflict' });
    expect(snapshots).toEqual([]);
  });

  it('stops when the signal aborts, with the last reading', async () => {
    const stop = new AbortController();
    const ledger = scriptedLedger([accepted]);
    const original = ledger.get.bind(ledger);
    let reads = 0;
    ledger.get = async (id) => {
      if (id.startsWith('rollout#') && ++reads === 3) stop.abort();
      return original(id);
    };
    const { end, snapshots } = await follow(ledger, stop.signal);

    expect(end).toEqual({ kind: 'stopped', snapshot: snapshots.at(-1) });
    expect(snapshots).toHaveLength(3);
  });
});
