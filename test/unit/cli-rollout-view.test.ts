import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatRecordView } from '../../cli/format.ts';
import { viewRollout } from '../../cli/ledger.ts';
import { changesBetween, formatChange } from '../../cli/rollout-changes.ts';
import { fitTable, liveModel } from '../../cli/rollout-live.ts';
import { rolloutPrinter } from '../../cli/rollout-printer.ts';
import { formatElapsed, rolloutSnapshot } from '../../cli/rollout-view.ts';
import {
  ACCEPTED_AT,
  acceptedRollout,
  advanced,
  contextAt,
  EU_DOMAINS,
  FAILED,
  SUCCEEDED,
} from '../helpers/rollouts.ts';

// Waves [eu-1] [eu-2 eu-3] [eu-4 eu-5]; eu-2 fails, so the rollout halts after wave 1 and skips wave 2.
const accepted = acceptedRollout();
const canaryDone = advanced(accepted, 10_000, ['search-eu-1', SUCCEEDED]);
const oneFailed = advanced(canaryDone, 20_000, ['search-eu-2', FAILED]);
const halted = advanced(oneFailed, 21_000, ['search-eu-3', SUCCEEDED]);
const at = (ms: number) => ACCEPTED_AT + ms;

describe('rolloutSnapshot', () => {
  it('shows the waves with their domains, the canary running and the rest pending', () => {
    const snapshot = rolloutSnapshot(accepted, new Map([['search-eu-1', { startedAt: at(1000) }]]));

    expect(snapshot).toMatchObject({
      rolloutId: 'eu-v3',
      state: 'RUNNING',
      packageId: 'F111111111',
      packageVersion: 'v3',
      counts: { pending: 4, running: 1, succeeded: 0, failed: 0 },
    });
    expect(snapshot.waves.map((wave) => wave.state)).toEqual(['RUNNING', 'PENDING', 'PENDING']);
    expect(snapshot.waves[0]?.domains).toEqual([
      { domainName: 'search-eu-1', wave: 0, state: 'RUNNING', startedAt: at(1000) },
    ]);
  });

  it('marks the waves a halted rollout never started as skipped, with each outcome', () => {
    const snapshot = rolloutSnapshot(halted);

    expect(snapshot.waves.map((wave) => [wave.state, wave.succeeded, wave.failed])).toEqual([
      ['COMPLETED', 1, 0],
      ['COMPLETED', 1, 1],
      ['SKIPPED', 0, 0],
    ]);
    expect(
      snapshot.waves[1]?.domains.map(({ state, code, packageVersion }) => [state, code, packageVersion]),
    ).toEqual([
      ['FAILED', 'AssociationFailed', undefined],
      ['SUCCEEDED', undefined, 'v3'],
    ]);
  });
});

describe('changesBetween', () => {
  it('starts with the rollout and its canary, then each decision, wave and the next wave in order', () => {
    const first = rolloutSnapshot(accepted);
    expect(changesBetween(undefined, first, at(0)).map((change) => change.change)).toEqual([
      'started',
      'wave',
      'domain',
    ]);
    const second = rolloutSnapshot(canaryDone);
    expect(changesBetween(first, second, at(10_000))).toEqual([
      {
        change: 'domain',
        rolloutId: 'eu-v3',
        wave: 0,
        domainName: 'search-eu-1',
        state: 'SUCCEEDED',
        packageVersion: 'v3',
      },
      {
        change: 'wave',
        rolloutId: 'eu-v3',
        wave: 0,
        state: 'COMPLETED',
        domains: ['search-eu-1'],
        succeeded: 1,
        failed: 0,
      },
      {
        change: 'wave',
        rolloutId: 'eu-v3',
        wave: 1,
        state: 'RUNNING',
        domains: ['search-eu-2', 'search-eu-3'],
        succeeded: 0,
        failed: 0,
      },
      { change: 'domain', rolloutId: 'eu-v3', wave: 1, domainName: 'search-eu-2', state: 'RUNNING' },
      { change: 'domain', rolloutId: 'eu-v3', wave: 1, domainName: 'search-eu-3', state: 'RUNNING' },
    ]);
    expect(changesBetween(second, second, at(10_500))).toEqual([]);
  });

  it('says halting with the failure, then the skipped wave and the decision', () => {
    const before = rolloutSnapshot(canaryDone);
    const failing = rolloutSnapshot(oneFailed);
    expect(changesBetween(before, failing, at(20_000)).map((change) => change.change)).toEqual([
      'domain',
      'halting',
    ]);
    expect(changesBetween(failing, rolloutSnapshot(halted), at(21_000))).toEqual([
      {
        change: 'domain',
        rolloutId: 'eu-v3',
        wave: 1,
        domainName: 'search-eu-3',
        state: 'SUCCEEDED',
        packageVersion: 'v3',
      },
      {
        change: 'wave',
        rolloutId: 'eu-v3',
        wave: 1,
        state: 'COMPLETED',
        domains: ['search-eu-2', 'search-eu-3'],
        succeeded: 1,
        failed: 1,
      },
      {
        change: 'wave',
        rolloutId: 'eu-v3',
        wave: 2,
        state: 'SKIPPED',
        domains: ['search-eu-4', 'search-eu-5'],
        succeeded: 0,
        failed: 0,
      },
      {
        change: 'decided',
        rolloutId: 'eu-v3',
        state: 'HALTED',
        counts: { pending: 2, running: 0, succeeded: 2, failed: 1 },
      },
    ]);
  });

  it('gives a decided domain the time from its start to its decision', () => {
    const times = new Map([['search-eu-1', { startedAt: at(1000), decidedAt: at(13_300) }]]);
    const [change] = changesBetween(
      rolloutSnapshot(accepted),
      rolloutSnapshot(canaryDone, times),
      at(14_000),
    );
    expect(change).toMatchObject({ domainName: 'search-eu-1', state: 'SUCCEEDED', elapsedMs: 12_300 });
  });
});

describe('formatChange', () => {
  it('writes one line per change, saying what, where and how it ended', () => {
    const lines = [
      ...changesBetween(undefined, rolloutSnapshot(accepted), at(0)),
      ...changesBetween(rolloutSnapshot(oneFailed), rolloutSnapshot(halted), at(21_000)),
    ].map((change) => formatChange(change, accepted.strategy));

    expect(lines).toEqual([
      'rollout eu-v3: F111111111 at v3 on 5 domains in 3 waves (canary 1, wave size 2, max failures 0)',
      'wave 0 (canary) started: search-eu-1',
      '  search-eu-1  RUNNING',
      '  search-eu-3  SUCCEEDED  v3',
      'wave 1 completed: 1 succeeded, 1 failed',
      'wave 2 skipped: search-eu-4, search-eu-5',
      'rollout eu-v3 HALTED: 2 succeeded, 1 failed, 2 not started',
    ]);
    const [failure, halting] = changesBetween(rolloutSnapshot(canaryDone), rolloutSnapshot(oneFailed), 0);
    expect(
      failure?.change === 'domain' && formatChange({ ...failure, elapsedMs: 9050 }, accepted.strategy),
    ).toBe('  search-eu-2  FAILED  AssociationFailed  9.1 s');
    expect(halting && formatChange(halting, accepted.strategy)).toBe(
      'rollout eu-v3 halting: 1 failed, more than max failures 0; no further wave starts, running domains finish',
    );
  });

  it('writes elapsed times for people', () => {
    expect([undefined, 850, 12_340, 245_000].map(formatElapsed)).toEqual([
      '-',
      '850 ms',
      '12.3 s',
      '4 min 05 s',
    ]);
  });
});

describe('liveModel', () => {
  it('has a bar per wave and a table row per domain with its state, outcome and elapsed time', () => {
    const times = new Map([
      ['search-eu-1', { startedAt: at(1000), decidedAt: at(9000) }],
      ['search-eu-2', { startedAt: at(11_000) }],
      ['search-eu-3', { startedAt: at(11_000) }],
    ]);
    const model = liveModel(rolloutSnapshot(canaryDone, times), at(14_500));

    expect(model.header).toBe('rollout eu-v3  F111111111 at v3  RUNNING  1/5 done, 0 failed');
    expect(model.waves).toEqual([
      { label: 'wave 0 (canary)', decided: 1, total: 1, state: 'COMPLETED' },
      { label: 'wave 1         ', decided: 0, total: 2, state: 'RUNNING' },
      { label: 'wave 2         ', decided: 0, total: 2, state: 'PENDING' },
    ]);
    expect(model.table).toEqual([
      'DOMAIN       WAVE  STATE      VERSION/CODE  ELAPSED',
      'search-eu-1  0     SUCCEEDED  v3            8.0 s',
      'search-eu-2  1     RUNNING                  3.5 s',
      'search-eu-3  1     RUNNING                  3.5 s',
      'search-eu-4  2     PENDING',
      'search-eu-5  2     PENDING',
    ]);
  });

  it('says halting while the running domains finish', () => {
    expect(liveModel(rolloutSnapshot(oneFailed), at(20_000)).header).toBe(
      'rollout eu-v3  F111111111 at v3  RUNNING  2/5 done, 1 failed  halting: running domains finish',
    );
  });

  it('fits the table to the terminal: running and failed domains first, the rest counted', () => {
    const snapshot = rolloutSnapshot(oneFailed);
    const table = liveModel(snapshot, at(20_000)).table;

    expect(fitTable(table, snapshot, 10)).toEqual(table);
    expect(fitTable(table, snapshot, 4).map((line) => line.split(' ')[0])).toEqual([
      'DOMAIN',
      'search-eu-3',
      'search-eu-2',
      '…',
    ]);
    expect(fitTable(table, snapshot, 4)[3]).toBe('… 3 more: 1 succeeded, 2 not started');
  });
});

/** A terminal that records what is drawn on it. */
function fakeTerminal(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns: 120, rows: 30 });
  return { stream, text: () => stripVTControlCharacters(chunks.join('')) };
}

function sinks(terminal?: NodeJS.WriteStream) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    sinks: { out: (line: string) => out.push(line), err: (line: string) => err.push(line), terminal },
  };
}

describe('rolloutPrinter', () => {
  it('prints one JSON object per change with the time it was seen, and nothing more at the end', () => {
    const { out, sinks: io } = sinks();
    const printer = rolloutPrinter(io, true, 'eu-v3');
    printer.snapshot(rolloutSnapshot(accepted), at(500));
    printer.snapshot(rolloutSnapshot(accepted), at(1000));
    printer.snapshot(rolloutSnapshot(canaryDone), at(10_500));
    printer.end({ kind: 'decided', snapshot: rolloutSnapshot(canaryDone) }, at(10_500));

    const parsed = out.map((line) => JSON.parse(line) as { change: string; at: string });
    expect(parsed.map((change) => change.change)).toEqual([
      'started',
      'wave',
      'domain',
      'domain',
      'wave',
      'wave',
      'domain',
      'domain',
    ]);
    expect(parsed[0]?.at).toBe('2026-03-01T10:00:00.500Z');
    expect(parsed[7]).toMatchObject({
      domainName: 'search-eu-3',
      state: 'RUNNING',
      at: '2026-03-01T10:00:10.500Z',
    });
  });

  it('prints plain lines when not on a terminal, even with one at hand for --json', () => {
    const { stream, text } = fakeTerminal();
    const json = sinks(stream);
    rolloutPrinter(json.sinks, true, 'eu-v3').snapshot(rolloutSnapshot(accepted), at(0));
    expect(text()).toBe('');
    expect(json.out).toHaveLength(3);

    const plain = sinks();
    const printer = rolloutPrinter(plain.sinks, false, 'eu-v3');
    printer.snapshot(rolloutSnapshot(halted), at(21_000));
    printer.end({ kind: 'decided', snapshot: rolloutSnapshot(halted) }, at(21_000));
    expect(plain.out[0]).toBe(
      '2026-03-01T10:00:21.000Z  rollout eu-v3: F111111111 at v3 on 5 domains in 3 waves (canary 1, wave size 2, max failures 0)',
    );
    expect(plain.out.at(-1)).toBe(
      '2026-03-01T10:00:21.000Z  rollout eu-v3 HALTED: 2 succeeded, 1 failed, 2 not started',
    );
    expect(plain.out).toHaveLength(11);
  });

  it('draws bars and the domain table on a terminal, and leaves the last reading with a summary line', () => {
    const { stream, text } = fakeTerminal();
    const { out, sinks: io } = sinks(stream);
    const printer = rolloutPrinter(io, false, 'eu-v3');
    printer.snapshot(rolloutSnapshot(accepted), at(0));
    printer.snapshot(rolloutSnapshot(halted), at(21_000));
    printer.end({ kind: 'decided', snapshot: rolloutSnapshot(halted) }, at(21_000));

    const drawn = text();
    expect(drawn).toContain('rollout eu-v3  F111111111 at v3  HALTED  3/5 done, 1 failed');
    expect(drawn).toMatch(/wave 0 \(canary\) \[█+\] 1\/1 {2}COMPLETED/);
    expect(drawn).toMatch(/wave 2 +\[░+\] 0\/2 {2}SKIPPED/);
    expect(drawn).toMatch(/search-eu-2 +1 +FAILED +AssociationFailed/);
    expect(out).toEqual(['rollout eu-v3 HALTED: 2 succeeded, 1 failed, 2 not started']);
  });

  it('says on stderr how following ended when the rollout was rejected or the user stopped', () => {
    const { out, err, sinks: io } = sinks();
    rolloutPrinter(io, true, 'eu-v3').end({ kind: 'rejected', reason: 'DomainNotAllowed' }, at(0));
    rolloutPrinter(io, false, 'eu-v3').end({ kind: 'stopped', snapshot: undefined }, at(0));

    expect(out.map((line) => JSON.parse(line))).toEqual([
      { change: 'rejected', rolloutId: 'eu-v3', reason: 'DomainNotAllowed', at: '2026-03-01T10:00:00.000Z' },
    ]);
    expect(err).toEqual([
      'rollout eu-v3 was rejected: DomainNotAllowed (its message is on the requests DLQ: associator dlq list)',
      'stopped following rollout eu-v3; it goes on: associator status --rollout eu-v3',
    ]);
  });
});

describe('status of a rollout', () => {
  it('shows its target, strategy, counts, each wave with its domains, and what it still owes', () => {
    const lines = formatRecordView(viewRollout(halted, contextAt(22_000).now));

    expect(lines).toEqual([
      'rollout eu-v3: HALTED',
      '  package       F111111111 at v3',
      '  strategy      canary 1, wave size 2, max failures 0',
      '  correlation   eu-v3',
      '  requested by  Zoë',
      '  accepted      2026-03-01T10:00:00.000Z',
      '  decided       2026-03-01T10:00:21.000Z',
      '  domains       2 succeeded, 1 failed, 2 not started',
      '  wave 0 (canary)  COMPLETED  1/1 done',
      '    search-eu-1  SUCCEEDED  v3',
      '  wave 1  COMPLETED  2/2 done',
      '    search-eu-2  FAILED     AssociationFailed',
      '    search-eu-3  SUCCEEDED  v3',
      '  wave 2  SKIPPED  0/2 done',
      '    search-eu-4  PENDING',
      '    search-eu-5  PENDING',
      '  window        ends 2026-03-02T10:00:21.000Z',
      expect.stringMatching(/^ {2}pending {7}event PackageRolloutStarted event-\d+$/),
      expect.stringMatching(/^ {16}event PackageRolloutWaveCompleted event-\d+$/),
      expect.stringMatching(/^ {16}event PackageRolloutHalted event-\d+$/),
      '                2 child requests of wave 1',
    ]);
  });

  it('says halting while a failed rollout waits for its running domains', () => {
    const view = viewRollout(oneFailed, contextAt(20_500).now);
    expect(formatRecordView(view)[0]).toBe('rollout eu-v3: RUNNING (halting)');
    expect(view).toMatchObject({ kind: 'rollout', id: 'rollout#eu-v3', halting: true, expired: false });
    expect(
      EU_DOMAINS.map(
        (name) => view.waves.flatMap((wave) => wave.domains).find((d) => d.domainName === name)?.state,
      ),
    ).toEqual(['SUCCEEDED', 'FAILED', 'RUNNING', 'PENDING', 'PENDING']);
  });
});
