// Per-owner write rate limit: a token bucket per owner (tenant + object id) holding up to
// `limit` writes and refilling `limit` per `windowSeconds`, in this process's memory (each
// replica counts on its own). A refused write gets 429 with Retry-After (RFC 6585 §4).
import { TokenBuckets } from '@koa-entra/service-kit';
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
  readonly #buckets: TokenBuckets;
  readonly #limit: number;
  readonly #windowSeconds: number;

  constructor(options: WriteRateLimitOptions) {
    this.#limit = options.limit;
    this.#windowSeconds = options.windowSeconds;
    this.#buckets = new TokenBuckets({
      capacity: options.limit,
      windowMs: options.windowSeconds * 1000,
      maxKeys: options.maxOwners ?? 100_000,
      now: options.now,
    });
  }

  /** Takes one write from the owner's bucket, or throws the 429 to answer. */
  take(owner: { tid: string; oid: string }): void {
    const seconds = this.#buckets.take(`${owner.tid}/${owner.oid}`);
    if (seconds === 0) return;
    throw new HttpError(
      429,
      'rate_limited',
      `Too many writes: at most ${this.#limit} per ${this.#windowSeconds} s per user; retry after ${seconds} s`,
      { 'retry-after': String(seconds) },
    );
  }
}
