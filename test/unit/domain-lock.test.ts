import { describe, expect, it } from 'vitest';
import {
  type DomainLockRecord,
  type LockWaiter,
  lockedBy,
  MAX_LOCK_WAITERS,
  unlocked,
  withWaiter,
} from '../../src/domain/domain-lock.ts';

const NOW = new Date('2026-12-01T12:00:00.000Z');
const at = (seconds: number) => NOW.getTime() + seconds * 1000;

const lock = (waiters: LockWaiter[] = []): DomainLockRecord => ({
  id: 'domain#orders-a',
  kind: 'domain-lock',
  domainName: 'orders-a',
  idle: false,
  holder: { idempotencyKey: 'holder', incarnation: 'i1', packageId: 'F1', since: at(-60) },
  ...(waiters.length > 0 && { waiters }),
  outbox: {},
  version: 3,
  lastWrite: 'w',
  expiresAt: 0,
});

const waiter = (key: string, since: number, visibleAt: number, receiptHandle = `r-${key}`): LockWaiter => ({
  idempotencyKey: key,
  receiptHandle,
  since: at(since),
  visibleAt: at(visibleAt),
});

const keys = (record: DomainLockRecord | undefined) =>
  record?.waiters?.map((listed) => listed.idempotencyKey);

describe('the waiters of a domain lock', () => {
  it('lists a waiter again once, with its newest handle and the place it first took', () => {
    const listed = withWaiter(
      lock([waiter('a', -30, 20), waiter('b', -20, 20)]),
      waiter('a', 0, 40, 'r-a2'),
      NOW,
    );
    expect(listed?.waiters).toEqual([
      { idempotencyKey: 'a', receiptHandle: 'r-a2', since: at(-30), visibleAt: at(40) },
      waiter('b', -20, 20),
    ]);
  });

  it('drops waiters whose message is back by now: their handle no longer wakes a deferred delivery', () => {
    const listed = withWaiter(lock([waiter('gone', -30, 1), waiter('b', -20, 20)]), waiter('c', 0, 30), NOW);
    expect(keys(listed)).toEqual(['b', 'c']);
  });

  it('lists no more than ten; the eleventh waits its backoff alone', () => {
    const ten = Array.from({ length: MAX_LOCK_WAITERS }, (_, index) => waiter(`w${index}`, -index, 60));
    expect(withWaiter(lock(ten), waiter('eleventh', 0, 60), NOW)).toBeUndefined();
    // One of the ten back already makes room.
    const oneBack = [...ten.slice(1), waiter('w0', -50, 1)];
    expect(keys(withWaiter(lock(oneBack), waiter('eleventh', 0, 60), NOW))).toHaveLength(MAX_LOCK_WAITERS);
  });

  it('wakes the oldest waiter still deferred at unlock and keeps the others', () => {
    const { record, woken } = unlocked(
      lock([waiter('b', -20, 20), waiter('a', -30, 20), waiter('x', -40, 1)]),
      true,
      NOW,
    );
    expect(woken?.idempotencyKey).toBe('a');
    expect(keys(record)).toEqual(['b']);
    expect(record.holder).toBeUndefined();
    expect(record.idle).toBe(true);
  });

  it('takes the new holder off the list when it takes the lock', () => {
    const free = unlocked(lock([waiter('a', -30, 20), waiter('b', -20, 20)]), true, NOW).record;
    const taken = lockedBy(
      free,
      'orders-a',
      { idempotencyKey: 'b', incarnation: 'i2', packageId: 'F2' },
      NOW,
    );
    expect(keys(taken)).toBeUndefined();
    expect(taken.holder?.idempotencyKey).toBe('b');
  });
});
