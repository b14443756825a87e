// The verified-token cache on its own: bounded, time claims per hit, keyed by the tail but
// matched on the whole token, and the epoch that keeps overlapping verifications out.
import { describe, expect, test } from '@jest/globals';
import { VerifiedTokenCache } from '../src/token-cache.ts';

const NOW = 1_000_000_000_000;
const exp = NOW / 1000 + 60;

describe('VerifiedTokenCache', () => {
  test('bounded: the oldest entry goes first', () => {
    const cache = new VerifiedTokenCache<string>(2, 0);
    for (const t of ['a', 'b', 'c']) cache.set(t, t.toUpperCase(), exp, undefined, cache.epoch);
    expect(['a', 'b', 'c'].map((t) => cache.get(t, NOW))).toEqual([undefined, 'B', 'C']);
    expect(cache.size).toBe(2);
  });

  test('exp and nbf are checked on every hit, with the tolerance', () => {
    const cache = new VerifiedTokenCache<string>(10, 5);
    cache.set('t', 'T', NOW / 1000 + 10, NOW / 1000 - 1, cache.epoch);
    expect(cache.get('t', NOW)).toBe('T');
    expect(cache.get('t', NOW + 14_999)).toBe('T');
    expect(cache.get('t', NOW + 15_000)).toBeUndefined();
    // An expired entry is gone, not only hidden.
    expect(cache.size).toBe(0);
    cache.set('early', 'E', NOW / 1000 + 100, NOW / 1000 + 10, cache.epoch);
    expect(cache.get('early', NOW)).toBeUndefined();
    cache.set('early', 'E', NOW / 1000 + 100, NOW / 1000 + 5, cache.epoch);
    expect(cache.get('early', NOW)).toBe('E');
  });

  test('keyed by the token tail, but a hit needs the whole token: tokens sharing a tail never stand in for each other', () => {
    const cache = new VerifiedTokenCache<string>(10, 0);
    const tail = 's'.repeat(100);
    const good = `h.good.${tail}`;
    const forged = `h.forged.${tail}`;
    cache.set(good, 'GOOD', exp, undefined, cache.epoch);
    expect(cache.get(forged, NOW)).toBeUndefined();
    expect(cache.get(`x${good}`, NOW)).toBeUndefined();
    expect(cache.get(good.slice(1), NOW)).toBeUndefined();
    expect(cache.get(good, NOW)).toBe('GOOD');
    // A second verified token with the same tail displaces the first: a miss, never a wrong hit.
    cache.set(forged, 'FORGED', exp, undefined, cache.epoch);
    expect(cache.get(good, NOW)).toBeUndefined();
    expect(cache.get(forged, NOW)).toBe('FORGED');
  });

  test('an entry from before a clear() is not stored', () => {
    const cache = new VerifiedTokenCache<string>(10, 0);
    const epoch = cache.epoch;
    cache.clear();
    cache.set('late', 'L', exp, undefined, epoch);
    expect(cache.get('late', NOW)).toBeUndefined();
    cache.set('late', 'L', exp, undefined, cache.epoch);
    expect(cache.get('late', NOW)).toBe('L');
  });

  test('size 0 is off', () => {
    const cache = new VerifiedTokenCache<string>(0, 0);
    cache.set('a', 'A', exp, undefined, cache.epoch);
    expect(cache.get('a', NOW)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
