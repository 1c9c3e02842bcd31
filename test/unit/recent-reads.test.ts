import { describe, expect, it } from 'vitest';
import type { PackageAssociations } from '../../src/adapters/opensearch.ts';
import { withRecentReads } from '../../src/adapters/recent-reads.ts';

/** An adapter that counts its reads and answers what `state` says at the time of each call. */
function counting() {
  const calls = { describePackage: 0, isProcessing: 0, find: 0 };
  const state = { version: 'v1', fail: false };
  const adapter = {
    async describePackage() {
      calls.describePackage += 1;
      if (state.fail) throw new Error('throttled');
      return { status: 'AVAILABLE', availableVersion: state.version };
    },
    async isProcessing() {
      calls.isProcessing += 1;
      return false;
    },
    async find() {
      calls.find += 1;
      return undefined;
    },
  } as unknown as PackageAssociations;
  return { adapter, calls, state };
}

describe('recent reads', () => {
  it('answers the same package from one read within the window, and reads again after it', async () => {
    const { adapter, calls, state } = counting();
    let clock = 0;
    const reads = withRecentReads(adapter, 2000, () => clock);

    const [first, second] = await Promise.all([reads.describePackage('F1'), reads.describePackage('F1')]);
    state.version = 'v2';
    clock = 1999;
    const third = await reads.describePackage('F1');
    clock = 2000;
    const fourth = await reads.describePackage('F1');

    expect([first, second, third, fourth].map((pkg) => pkg?.availableVersion)).toEqual([
      'v1',
      'v1',
      'v1',
      'v2',
    ]);
    expect(calls.describePackage).toBe(2);
  });

  it('reads afresh when asked, and never keeps a failed read', async () => {
    const { adapter, calls, state } = counting();
    const reads = withRecentReads(adapter, 2000, () => 0);
    state.fail = true;
    await expect(reads.describePackage('F1')).rejects.toThrow('throttled');
    state.fail = false;
    await reads.describePackage('F1');
    await reads.describePackage('F1', { fresh: true });
    expect(calls.describePackage).toBe(3);
  });

  it('reuses domains apart from packages, and passes every other read through', async () => {
    const { adapter, calls } = counting();
    const reads = withRecentReads(adapter, 2000, () => 0);
    await reads.isProcessing('orders-a');
    await reads.isProcessing('orders-a');
    await reads.isProcessing('orders-b');
    await reads.find('orders-a', 'F1');
    await reads.find('orders-a', 'F1');
    expect(calls).toEqual({ describePackage: 0, isProcessing: 2, find: 2 });
  });

  it('is the adapter itself with a window of 0', () => {
    const { adapter } = counting();
    expect(withRecentReads(adapter, 0)).toBe(adapter);
  });
});
