// One small key-value interface for everything the web app keeps server-side (sessions and the
// per-user MSAL token cache): in process memory for a single instance, Redis for several.
import { Redis } from 'ioredis';

export interface KeyValueStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | undefined>;
  /** Stores `value` for `ttlSeconds` (whole seconds, at least 1). */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Stores `value` only if `key` holds nothing (atomically); whether it did. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Resolves when the store answers; rejects with the reason otherwise (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Roughly what an entry costs: its key and value (UTF-16 in memory) plus the Map's overhead. */
const entryBytes = (key: string, value: string) => 2 * (key.length + value.length) + 64;

export interface MemoryStoreOptions {
  /** Above this many bytes the least recently written entries are dropped (default 64 MiB). */
  maxBytes?: number;
  sweepIntervalMs?: number;
}

export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory';
  // A Map keeps insertion order: each write re-inserts its key, so the first keys are the least
  // recently written (sessions are rewritten on every request they serve).
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    // Expired entries are dropped lazily on read; the sweep bounds memory for abandoned sessions.
    this.#sweeper = setInterval(() => this.#sweep(), options.sweepIntervalMs ?? 60_000);
    this.#sweeper.unref();
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#remove(key);
      return undefined;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.#remove(key);
    this.#entries.set(key, {
      value,
      expiresAt: Date.now() + Math.max(1, Math.ceil(ttlSeconds)) * 1000,
    });
    this.#bytes += entryBytes(key, value);
    // Bounded (issue 13 W1): the oldest writes go first, so a flood of new entries evicts
    // abandoned ones and, at worst, signs out the longest-idle users (the store's owner decides
    // what an entry is worth; this store only keeps its size).
    for (const oldest of this.#entries.keys()) {
      if (this.#bytes <= this.#maxBytes || oldest === key) break;
      this.#remove(oldest);
    }
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if ((await this.get(key)) !== undefined) return false;
    await this.set(key, value, ttlSeconds);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.#remove(key);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** What the entries cost, as counted against `maxBytes`. */
  get bytes(): number {
    return this.#bytes;
  }

  #remove(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entryBytes(key, entry.value);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#remove(key);
  }
}

export class RedisStore implements KeyValueStore {
  readonly kind = 'redis';
  readonly #redis: Redis;

  constructor(url: string, keyPrefix = 'webapp:') {
    this.#redis = new Redis(url, {
      keyPrefix,
      lazyConnect: true,
      // Fail a command quickly while Redis is away instead of queueing it for ever: a page then
      // shows an error and /readyz reports the outage.
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      enableOfflineQueue: true,
    });
    // Without a listener ioredis prints every reconnect failure; readiness reports it instead.
    this.#redis.on('error', () => {});
  }

  async connect(): Promise<void> {
    await this.#redis.connect();
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#redis.get(key)) ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.#redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    const answer = await this.#redis.set(
      key,
      value,
      'EX',
      Math.max(1, Math.ceil(ttlSeconds)),
      'NX',
    );
    return answer === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.#redis.del(key);
  }

  async ping(): Promise<void> {
    const answer = await this.#redis.ping();
    if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`);
  }

  /** Drops the connection without waiting (failed start). */
  abandon(): void {
    this.#redis.disconnect(false);
  }

  async close(): Promise<void> {
    if (this.#redis.status !== 'ready') {
      this.#redis.disconnect(false);
      return;
    }
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }
}

export async function openStore(
  redisUrl: string | undefined,
  memory: MemoryStoreOptions = {},
): Promise<KeyValueStore> {
  if (!redisUrl) return new MemoryStore(memory);
  const store = new RedisStore(redisUrl);
  try {
    await store.connect();
  } catch (error) {
    store.abandon();
    throw new Error(`REDIS_URL: cannot connect to Redis (${(error as Error).message})`, {
      cause: error,
    });
  }
  return store;
}
