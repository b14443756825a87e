// Sign-in starts per client address (issue 13 W1): each start sends a browser to the issuer and
// sets a cookie; a flood from one address is refused with 429 and Retry-After instead. A token
// bucket per address (capacity = the per-minute limit, refilled continuously); the table of
// addresses is bounded, dropping the least recently seen. Per instance: with several instances
// the effective limit is a multiple (enough for what it guards: CPU and the issuer's patience).
const MAX_ADDRESSES = 10_000;

export class SignInLimiter {
  readonly #perMinute: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** `perMinute` 0: no limit. */
  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Takes one start for `address`: 0 when allowed, else the seconds until one is. */
  take(address: string, now = Date.now()): number {
    if (this.#perMinute === 0) return 0;
    const ratePerMs = this.#perMinute / 60_000;
    const bucket = this.#buckets.get(address) ?? { tokens: this.#perMinute, at: now };
    this.#buckets.delete(address); // re-inserted below: the Map's order is recency
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + (now - bucket.at) * ratePerMs);
    bucket.at = now;
    let wait = 0;
    if (bucket.tokens >= 1) bucket.tokens -= 1;
    else wait = Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
    this.#buckets.set(address, bucket);
    if (this.#buckets.size > MAX_ADDRESSES) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    return wait;
  }
}
