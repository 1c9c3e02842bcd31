import { describe, expect, it } from 'vitest';
import { packageReadGatherer } from '../../src/adapters/package-reads.ts';

/** DescribePackages as a fake: every id it is asked for exists, except `F0`; `fail` refuses the call. */
function describer(fail = false) {
  const calls: string[][] = [];
  const describe = async (ids: string[]) => {
    calls.push(ids);
    if (fail) throw new Error('throttled');
    return ids
      .filter((id) => id !== 'F0')
      .map((id) => ({
        PackageID: id,
        PackageStatus: 'AVAILABLE' as const,
        AvailablePackageVersion: `v-${id}`,
      }));
  };
  return { calls, describe };
}

describe('package reads gathered into one DescribePackages', () => {
  it('answers the packages asked for at once from one call, each with its own state', async () => {
    const read = packageReadGatherer();
    const { calls, describe } = describer();

    const states = await Promise.all(['F1', 'F2', 'F1', 'F0'].map((id) => read(id, describe)));

    expect(calls).toEqual([['F1', 'F2', 'F0']]);
    expect(states.map((state) => state?.availableVersion)).toEqual(['v-F1', 'v-F2', 'v-F1', undefined]);
  });

  it('asks at most twenty packages per call, and reads again once the moment has passed', async () => {
    const read = packageReadGatherer();
    const { calls, describe } = describer();

    await Promise.all(Array.from({ length: 25 }, (_, index) => read(`F${index + 1}`, describe)));
    await read('F1', describe);

    expect(calls.map((ids) => ids.length)).toEqual([20, 5, 1]);
  });

  it('fails every read the call carried when it fails', async () => {
    const read = packageReadGatherer();
    const { describe } = describer(true);

    const results = await Promise.allSettled([read('F1', describe), read('F2', describe)]);

    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });
});
