// Per-owner write rate limit: a token bucket per owner (tenant + object id) holding up to
// `limit` writes and refilling `limit` per `windowSeconds`, in this process's memory (each
// replica counts on its own). A refused write gets 429 with Retry-After (RFC 6585 §4).
import { HttpError } from './errors.ts';

export interface WriteRateLimitOptions {
  /** Writes per window; 0 turns the limit off. */
  limit: number;
  windowSeconds: number;
  /** Most owners tracked at once; the least recently seen is dropped first. */
  maxOwners?: number;
  now?: () => number;
}

export class WriteRateLimit {
  readonly #limit: number;
  readonly #perMs: number;
  readonly #maxOwners: number;
  readonly #now: () => number;
  /** Tokens left and when they were counted, by owner; Map order = least recently used first. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: WriteRateLimitOptions) {
    this.#limit = options.limit;
    this.#perMs = options.limit / (options.windowSeconds * 1000);
    this.#maxOwners = options.maxOwners ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one write from the owner's bucket, or throws the 429 to answer. */
  take(owner: { tid: string; oid: string }): void {
    if (this.#limit === 0) return;
    const key = `${owner.tid}/${owner.oid}`;
    const now = this.#now();
    const bucket = this.#buckets.get(key);
    let tokens = this.#limit;
    if (bucket) {
      tokens = Math.min(this.#limit, bucket.tokens + (now - bucket.at) * this.#perMs);
      this.#buckets.delete(key);
    } else if (this.#buckets.size >= this.#maxOwners) {
      this.#buckets.delete(this.#buckets.keys().next().value as string);
    }
    if (tokens < 1) {
      this.#buckets.set(key, { tokens, at: now });
      const seconds = Math.max(1, Math.ceil((1 - tokens) / this.#perMs / 1000));
      throw new HttpError(
        429,
        'rate_limited',
        `Too many writes: at most ${this.#limit} per ${Math.round(this.#limit / this.#perMs / 1000)} s per user; retry after ${seconds} s`,
        { 'retry-after': String(seconds) },
      );
    }
    this.#buckets.set(key, { tokens: tokens - 1, at: now });
  }
}
