import { expect, test } from '@jest/globals';
import { TokenBuckets } from '../src/index.ts';

test('capacity at once, then the seconds until one is back; refilled continuously', () => {
  let now = 0;
  const buckets = new TokenBuckets({ capacity: 3, windowMs: 60_000, maxKeys: 10, now: () => now });
  expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
  expect(buckets.take('a')).toBe(20); // one token per 20 s
  expect(buckets.take('b')).toBe(0); // per key
  now = 20_000;
  expect(buckets.take('a')).toBe(0);
  expect(buckets.take('a')).toBe(20);
});

test('the table is bounded: the least recently seen key is forgotten (and starts full again)', () => {
  const buckets = new TokenBuckets({ capacity: 1, windowMs: 60_000, maxKeys: 2, now: () => 0 });
  buckets.take('a');
  buckets.take('b');
  expect(buckets.take('a')).toBe(60); // a is now the most recent
  buckets.take('c'); // drops b
  expect(buckets.take('b')).toBe(0);
  expect(buckets.take('a')).toBe(0); // dropped when b came back
});

test('capacity 0 turns the limit off', () => {
  const buckets = new TokenBuckets({ capacity: 0, windowMs: 60_000, maxKeys: 1 });
  for (let i = 0; i < 100; i++) expect(buckets.take('a')).toBe(0);
});
