import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { acceptRollout, advance, type RolloutRecord, resolveDomains } from '../../src/domain/rollout.ts';
import { DYNAMODB_ITEM_LIMIT, itemSize } from '../../tools/bench/lib/item-size.ts';

// A rollout is one ledger item, written whole at every step (docs/DESIGN.md, "Rollouts", "At scale"). With many
// domains its largest write is the last: every domain's outcome in the record and twice more in the two events
// it owes (the last wave's and the decision). DynamoDB refuses an item over 400 KB, so a rollout accepted with more
// domains than fit would run every wave and then never be decided.

/** Names as long as AWS allows (28 characters), all distinct. */
const longNames = (count: number) =>
  Array.from({ length: count }, (_, index) => `d${String(index).padStart(27, '0')}`);

const ctx = {
  now: new Date('2026-06-01T00:00:00Z'),
  newId: randomUUID,
  windowSeconds: 86_400,
};

/** Runs a rollout to its end, every domain succeeding at a 64-character version; the size of its largest write. */
function largestWrite(domains: string[]): number {
  const key = 'k'.repeat(128);
  const version = 'v'.repeat(64);
  let record: RolloutRecord = acceptRollout(ctx, {
    rollout: {
      action: 'rollout',
      packageId: 'F9001',
      domains: ['d*'],
      idempotencyKey: key,
      correlationId: key,
      requestedBy: 'r'.repeat(256),
      strategy: { canary: 1, waveSize: 100, maxFailures: 0 },
    },
    fingerprint: 'f'.repeat(64),
    domains,
    packageVersion: version,
    lifetimeSeconds: 86_400,
  });
  let largest = itemSize(record);
  for (const domainName of domains) {
    // As the outbox's flush leaves it before the next child's outcome.
    const next = advance(ctx, { ...record, outbox: {} }, domainName, {
      state: 'SUCCEEDED',
      packageVersion: version,
    });
    if (next === undefined) continue;
    record = next;
    largest = Math.max(largest, itemSize(record));
  }
  expect(record.state).toBe('COMPLETED');
  return largest;
}

describe("a rollout's ledger item", () => {
  it('stays under the 400 KB item limit at its largest write, for the most domains a rollout takes', () => {
    const domains = longNames(500);
    expect(resolveDomains(['d*'], domains, () => true)).toEqual({ ok: true, domains });
    expect(largestWrite(domains)).toBeLessThan(0.8 * DYNAMODB_ITEM_LIMIT);
  });

  it('is refused at acceptance when its domains could not fit', () => {
    expect(resolveDomains(['d*'], longNames(501), () => true)).toMatchObject({
      ok: false,
      code: 'InvalidRequest',
    });
  });
});
