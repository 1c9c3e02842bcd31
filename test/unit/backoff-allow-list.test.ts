import { describe, expect, it } from 'vitest';
import { parseAllowList } from '../../src/domain/allow-list.ts';
import {
  backoffSeconds,
  domainWaitBackoffSeconds,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  throttleBackoffSeconds,
} from '../../src/domain/backoff.ts';

describe('backoffSeconds', () => {
  const policy = { baseSeconds: 5, maxSeconds: 900 };

  it('grows exponentially with the attempt, between half and all of the ceiling', () => {
    expect(backoffSeconds(1, policy, 0)).toBe(3);
    expect(backoffSeconds(1, policy, 0.999)).toBe(5);
    expect(backoffSeconds(3, policy, 0)).toBe(10);
    expect(backoffSeconds(3, policy, 0.999)).toBe(20);
  });

  it('never passes the cap', () => {
    expect(backoffSeconds(30, policy, 0.999_999)).toBe(900);
    expect(backoffSeconds(30, { baseSeconds: 5, maxSeconds: 10 ** 9 }, 0.999_999)).toBe(
      MAX_VISIBILITY_TIMEOUT_SECONDS,
    );
  });

  it('is at least one second', () => {
    expect(backoffSeconds(1, { baseSeconds: 1, maxSeconds: 1 }, 0)).toBe(1);
  });
});

describe('throttleBackoffSeconds', () => {
  const policy = { baseSeconds: 5, maxSeconds: 900 };

  it('grows like any backoff for the first three attempts, then stops at four times the base', () => {
    expect([1, 2, 3].map((attempt) => throttleBackoffSeconds(attempt, policy, 0.999))).toEqual([5, 10, 20]);
    // A request that waited its turn for a domain many times is not then hidden for minutes by one throttle.
    expect(backoffSeconds(9, policy, 0.999)).toBe(900);
    expect(throttleBackoffSeconds(9, policy, 0.999)).toBe(20);
    expect(throttleBackoffSeconds(9, policy, 0)).toBe(10);
  });
});

describe('domainWaitBackoffSeconds', () => {
  const policy = { baseSeconds: 5, maxSeconds: 900 };

  it('grows like any backoff for six attempts, then stops at 32 times the base', () => {
    expect([1, 6, 7, 40].map((attempt) => domainWaitBackoffSeconds(attempt, policy, 0.999))).toEqual([
      5, 160, 160, 160,
    ]);
    // Forty waits of middling jitter outlast the default retry budget of an hour: the budget ends most of them.
    const middling = Array.from({ length: 40 }, (_, index) =>
      domainWaitBackoffSeconds(index + 1, policy, 0.5),
    );
    expect(middling.reduce((sum, seconds) => sum + seconds, 0)).toBeGreaterThan(3600);
  });
});

describe('parseAllowList', () => {
  it('matches exact names and prefix patterns', () => {
    const list = parseAllowList('catalog-search, orders-*');
    expect(list.allows('catalog-search')).toBe(true);
    expect(list.allows('catalog-search-2')).toBe(false);
    expect(list.allows('orders-logs')).toBe(true);
    expect(list.allows('hr-private')).toBe(false);
  });

  it('allows nothing when empty and everything with *', () => {
    expect(parseAllowList('').allows('anything')).toBe(false);
    expect(parseAllowList('*').allows('anything')).toBe(true);
  });

  it('rejects an entry with a wildcard in the middle', () => {
    expect(() => parseAllowList('or*ders')).toThrow('"or*ders" is neither a domain name');
  });
});
