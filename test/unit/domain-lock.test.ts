import { describe, expect, it } from 'vitest';
import {
  type DomainLockRecord,
  isHeldBy,
  type LockWaiter,
  lockedBy,
  lockMembers,
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

const HOLDER = { idempotencyKey: 'holder', incarnation: 'i1' };

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

  it('takes every waiter still deferred off the list at unlock, oldest first, to be woken together', () => {
    const { record, woken } = unlocked(
      lock([waiter('b', -20, 20), waiter('a', -30, 20), waiter('x', -40, 1)]),
      [{ member: HOLDER, idle: true }],
      NOW,
    );
    expect(woken.map((listed) => listed.idempotencyKey)).toEqual(['a', 'b']);
    expect(keys(record)).toBeUndefined();
    expect(record.holder).toBeUndefined();
    expect(record.idle).toBe(true);
  });

  it('takes the new holder off the list when it takes the lock', () => {
    const { holder: _holder, ...free } = lock([waiter('a', -30, 20), waiter('b', -20, 20)]);
    const taken = lockedBy(
      free,
      'orders-a',
      { idempotencyKey: 'b', incarnation: 'i2', packageId: 'F2' },
      NOW,
    );
    expect(keys(taken)).toEqual(['a']);
    expect(taken.holder?.idempotencyKey).toBe('b');
  });
});

describe('a domain lock held by a group', () => {
  const member = (key: string) => ({ idempotencyKey: key, incarnation: `i-${key}`, packageId: `P-${key}` });
  const group = () =>
    lockedBy(lock([waiter('w', -10, 30)]), 'orders-a', member('a'), NOW, [member('b'), member('c')]);

  it('names every member, the first as the holder, and takes none of them off as a waiter', () => {
    const held = lockedBy(lock([waiter('b', -10, 30), waiter('w', -5, 30)]), 'orders-a', member('a'), NOW, [
      member('b'),
    ]);
    expect(lockMembers(held).map((listed) => listed.idempotencyKey)).toEqual(['a', 'b']);
    expect(isHeldBy(held, member('b'))).toBe(true);
    expect(isHeldBy(held, { idempotencyKey: 'b', incarnation: 'another' })).toBe(false);
    expect(keys(held)).toEqual(['w']);
  });

  it('stays held by the others while members leave, and wakes the waiters only when the last one does', () => {
    const first = unlocked(group(), [{ member: member('a'), idle: true }], NOW);
    expect(first.woken).toEqual([]);
    expect(first.record.holder?.idempotencyKey).toBe('b');
    expect(lockMembers(first.record).map((listed) => listed.idempotencyKey)).toEqual(['b', 'c']);
    expect(keys(first.record)).toEqual(['w']);

    const second = unlocked(first.record, [{ member: member('c'), idle: true }], NOW);
    expect(lockMembers(second.record).map((listed) => listed.idempotencyKey)).toEqual(['b']);
    const last = unlocked(second.record, [{ member: member('b'), idle: true }], NOW);
    expect(lockMembers(last.record)).toEqual([]);
    expect(last.woken.map((listed) => listed.idempotencyKey)).toEqual(['w']);
    expect(last.record.idle).toBe(true);
  });

  it('is left idle only when every member saw its operation end', () => {
    const timedOut = unlocked(group(), [{ member: member('b'), idle: false }], NOW).record;
    const rest = unlocked(
      unlocked(timedOut, [{ member: member('a'), idle: true }], NOW).record,
      [{ member: member('c'), idle: true }],
      NOW,
    );
    expect(rest.record.idle).toBe(false);
    expect(rest.record.unsettled).toBeUndefined();
  });

  it('takes several members off at once: the one decided and those found decided before it', () => {
    const { record, woken } = unlocked(
      group(),
      [
        { member: member('c'), idle: true },
        { member: member('a'), idle: true },
        { member: member('b'), idle: true },
      ],
      NOW,
    );
    expect(lockMembers(record)).toEqual([]);
    expect(record.idle).toBe(true);
    expect(woken.map((listed) => listed.idempotencyKey)).toEqual(['w']);
  });

  it('stays marked as a group lock while members remain', () => {
    expect(group().grouped).toBe(true);
    expect(unlocked(group(), [{ member: member('a'), idle: true }], NOW).record.grouped).toBe(true);
  });
});
