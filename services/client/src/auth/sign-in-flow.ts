// Starting a sign-in, the one way: whether from "Sign in with Microsoft", a page that needs a
// signed-in user, or an action that needs the user again (consent, a claims challenge). Each
// start is rate limited per client address and keeps its state in a cookie of its own.
import type { Context } from 'koa';
import { TooManySignInsError } from '../errors.ts';
import type { SignInLimiter } from '../http/rate-limit.ts';
import type { Authenticator, SignInRequest } from './authenticator.ts';
import type { PendingSignIns } from './pending-sign-ins.ts';

export class SignInFlow {
  readonly #auth: Authenticator;
  readonly #pending: PendingSignIns;
  readonly #limiter: SignInLimiter;

  constructor(auth: Authenticator, pending: PendingSignIns, limiter: SignInLimiter) {
    this.#auth = auth;
    this.#pending = pending;
    this.#limiter = limiter;
  }

  /** Starts `request`: its pending state goes into a cookie; answers the issuer URL to go to. */
  async start(ctx: Context, request: SignInRequest): Promise<string> {
    const wait = this.#limiter.take(ctx.ip);
    if (wait > 0) throw new TooManySignInsError(wait);
    const { url, pending } = await this.#auth.beginSignIn(request);
    this.#pending.save(ctx, pending);
    return url;
  }
}
