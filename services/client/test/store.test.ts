// The session/token-cache store: memory always; Redis when TEST_REDIS_URL is set.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { describeWith, redis, redisUrl } from '../../../tests/support/prerequisites.ts';
import { MemoryStore, openStore, type KeyValueStore } from '../src/store/store.ts';

function behavesAsAStore(open: () => Promise<KeyValueStore>) {
  let store: KeyValueStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => {
    await store.close();
  });

  test('set, get, delete; values expire after their TTL', async () => {
    const key = `test:${randomUUID()}`;
    expect(await store.get(key)).toBeUndefined();
    await store.set(key, 'v1', 60);
    expect(await store.get(key)).toBe('v1');
    await store.delete(key);
    expect(await store.get(key)).toBeUndefined();
    await store.set(key, 'short', 1);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await store.get(key)).toBeUndefined();
    await expect(store.ping()).resolves.toBeUndefined();
  });
}

describe('memory store', () => {
  behavesAsAStore(async () => new MemoryStore());
});

describeWith([redis], 'Redis store', () => {
  behavesAsAStore(() => openStore(redisUrl));
});

test('an unreachable Redis is a start-up error naming REDIS_URL', async () => {
  await expect(openStore('redis://127.0.0.1:9')).rejects.toThrow(
    /^REDIS_URL: cannot connect to Redis/,
  );
});
