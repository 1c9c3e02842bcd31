import { describe, expect, it } from 'vitest';
import type { PackageAssociations } from '../../src/adapters/opensearch.ts';
import { withSharedListings } from '../../src/adapters/shared-listings.ts';

/** An adapter that counts its listings by domain, and fails them while `state.fail` is set. */
function counting() {
  const listed: string[] = [];
  const state = { fail: false };
  const adapter = {
    async list(domainName: string) {
      listed.push(domainName);
      if (state.fail) throw new Error('throttled');
      return [
        { packageId: 'F1', status: 'ACTIVE', packageVersion: 'v1' },
        { packageId: 'F2', status: 'ASSOCIATING' },
      ];
    },
  } as unknown as PackageAssociations;
  return { adapter, listed, state };
}

describe('shared listings', () => {
  it('answers every check of one domain from one listing, and each domain from its own', async () => {
    const { adapter, listed } = counting();
    const shared = withSharedListings(adapter);

    const [first, second, missing, other] = await Promise.all([
      shared.find('orders-1', 'F1'),
      shared.find('orders-1', 'F2'),
      shared.find('orders-1', 'F9'),
      shared.find('orders-2', 'F1'),
    ]);
    const later = await shared.find('orders-1', 'F2');

    expect([first, second, missing, other, later]).toEqual([
      { status: 'ACTIVE', packageVersion: 'v1' },
      { status: 'ASSOCIATING' },
      undefined,
      { status: 'ACTIVE', packageVersion: 'v1' },
      { status: 'ASSOCIATING' },
    ]);
    expect(listed).toEqual(['orders-1', 'orders-2']);
  });

  it('does not share a failed listing with the checks after it', async () => {
    const { adapter, listed, state } = counting();
    const shared = withSharedListings(adapter);
    state.fail = true;

    const failures = await Promise.allSettled([shared.find('orders-1', 'F1'), shared.find('orders-1', 'F2')]);
    state.fail = false;
    const after = await shared.find('orders-1', 'F1');

    expect(failures.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(after).toEqual({ status: 'ACTIVE', packageVersion: 'v1' });
    expect(listed).toEqual(['orders-1', 'orders-1']);
  });
});
