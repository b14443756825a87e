// Sign-in starts per client address (issue 13 W1): each start sends a browser to the issuer and
// sets a cookie; a flood from one address is refused with 429 and Retry-After instead. A token
// bucket per address (the kit's TokenBuckets: capacity = the per-minute limit, refilled
// continuously, at most 10,000 addresses, least recently seen dropped). Per instance: with several
// instances the effective limit is a multiple (enough for what it guards: CPU and the issuer's
// patience).
import { TokenBuckets } from '@koa-entra/service-kit';

const MAX_ADDRESSES = 10_000;

export class SignInLimiter {
  readonly #buckets: TokenBuckets;

  /** `perMinute` 0: no limit. */
  constructor(perMinute: number) {
    this.#buckets = new TokenBuckets({
      capacity: perMinute,
      windowMs: 60_000,
      maxKeys: MAX_ADDRESSES,
    });
  }

  /** Takes one start for `address`: 0 when allowed, else the seconds until one is. */
  take(address: string, now = Date.now()): number {
    return this.#buckets.take(address, now);
  }
}
