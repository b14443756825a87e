// A token bucket per key (a client address, a user): `capacity` requests at once, refilled
// continuously at `capacity` per `windowMs`. In this process's memory (each replica counts on its
// own); the table is bounded, dropping the least recently seen key first.
export interface TokenBucketsOptions {
  /** Requests per window; 0 turns the limit off. */
  capacity: number;
  windowMs: number;
  /** Most keys tracked at once. */
  maxKeys: number;
  now?: () => number;
}

export class TokenBuckets {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** Tokens left and when they were counted; Map order = least recently used first. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: TokenBucketsOptions) {
    this.#capacity = options.capacity;
    this.#perMs = options.capacity / options.windowMs;
    this.#maxKeys = options.maxKeys;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one request for `key`: 0 when allowed, else the whole seconds until one is. */
  take(key: string, now = this.#now()): number {
    if (this.#capacity === 0) return 0;
    const bucket = this.#buckets.get(key);
    let tokens = this.#capacity;
    if (bucket) {
      tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
      this.#buckets.delete(key); // re-inserted below: the Map's order is recency
    } else if (this.#buckets.size >= this.#maxKeys) {
      this.#buckets.delete(this.#buckets.keys().next().value as string);
    }
    const allowed = tokens >= 1;
    this.#buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.#perMs / 1000));
  }
}
