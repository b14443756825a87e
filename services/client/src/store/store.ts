// One small key-value interface for everything the web app keeps server-side (sessions and the
// per-user MSAL token cache): in process memory for a single instance, Redis for several.
import { Redis } from 'ioredis';

export interface KeyValueStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | undefined>;
  /** Stores `value` for `ttlSeconds` (whole seconds, at least 1). */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Resolves when the store answers; rejects with the reason otherwise (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory';
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(sweepIntervalMs = 60_000) {
    // Expired entries are dropped lazily on read; the sweep bounds memory for abandoned sessions.
    this.#sweeper = setInterval(() => this.#sweep(), sweepIntervalMs);
    this.#sweeper.unref();
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.#entries.set(key, {
      value,
      expiresAt: Date.now() + Math.max(1, Math.ceil(ttlSeconds)) * 1000,
    });
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
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

export async function openStore(redisUrl: string | undefined): Promise<KeyValueStore> {
  if (!redisUrl) return new MemoryStore();
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
