// What a sign-in keeps between its start and the issuer's answer (state, nonce, PKCE verifier,
// where to return, what to redeem the code for), kept in the browser instead of the server
// store: one cookie per pending sign-in, named after its state, encrypted and authenticated
// with a key derived from SESSION_KEYS (AES-256-GCM; the cookie name is the associated data).
// So an anonymous `GET /auth/signin` costs the server nothing to keep (issue 13 W1), several
// sign-ins can be in progress in one browser without replacing each other (W10), and the
// answer is bound to the browser that started it (login CSRF). The cookie lives 10 minutes,
// as long as the issuer's authorization code.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { InteractionNeed } from '../errors.ts';

export const PENDING_MAX_AGE_MS = 10 * 60 * 1000;
/** Sign-ins one browser may have in progress at once; a new one beyond that drops the oldest. */
export const MAX_PENDING_SIGN_INS = 3;
/** Browsers keep cookies up to about 4 KB (name and value); stay well below with several. */
const MAX_COOKIE_VALUE = 3000;

export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** A same-origin path to return to. */
  returnTo: string;
  startedAt: number;
  /** What the code is redeemed for: the scopes of one resource. */
  resource: 'graph' | 'api';
  scopes: string[];
  /** A claims challenge passed on to the issuer, redeemed with the code too. */
  claims?: string | undefined;
  /** Set when a signed-in user's action needed this interaction: their home account id. */
  forUser?: string | undefined;
  /** What needed the interaction (the loop guard compares it with the next one). */
  need?: InteractionNeed | undefined;
  interactionKey?: string | undefined;
  /** A kept write (pending-write.ts) to perform once after the round trip. */
  resumeWrite?: string | undefined;
}

export interface PendingSignInCookies {
  /** The session cookie's name (`__Host-` prefixed on https); pending cookies extend it. */
  sessionCookieName: string;
  secureCookies: boolean;
  sessionKeys: readonly string[];
}

const keyOf = (secret: string) =>
  Buffer.from(hkdfSync('sha256', secret, '', 'koa-entra web app: pending sign-in', 32));

/** The short, stable id of a sign-in derived from its state (cookie names, replay markers). */
export const stateId = (state: string): string =>
  createHash('sha256').update(state).digest('base64url').slice(0, 22);

export class PendingSignIns {
  readonly #prefix: string;
  readonly #keys: Buffer[];
  readonly #cookie: {
    httpOnly: true;
    sameSite: 'lax';
    secure: boolean;
    path: string;
    overwrite: true;
    signed: false;
  };

  constructor(options: PendingSignInCookies) {
    this.#prefix = `${options.sessionCookieName}.signin.`;
    this.#keys = options.sessionKeys.map(keyOf);
    // `__Host-` cookies must have Path=/; on http the cookies only travel to /auth/.
    this.#cookie = {
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookies,
      path: options.secureCookies ? '/' : '/auth/',
      overwrite: true,
      signed: false,
    };
  }

  /** Keeps `pending` in a cookie of its own; beyond MAX_PENDING_SIGN_INS the oldest goes. */
  save(ctx: Context, pending: PendingSignIn): void {
    let value = this.#seal(this.#name(pending.state), pending);
    // A long return path is the only part that can grow: give it up before the cookie breaks.
    if (value.length > MAX_COOKIE_VALUE) {
      value = this.#seal(this.#name(pending.state), { ...pending, returnTo: '/' });
    }
    if (value.length > MAX_COOKIE_VALUE) {
      throw new Error('the pending sign-in does not fit in a cookie (claims challenge too large)');
    }
    const others = this.#list(ctx)
      .map(({ name, value: v }) => ({ name, startedAt: this.#open(name, v)?.startedAt ?? 0 }))
      .sort((a, b) => a.startedAt - b.startedAt);
    const now = Date.now();
    for (const [i, other] of others.entries()) {
      const expired = now - other.startedAt > PENDING_MAX_AGE_MS;
      if (expired || others.length - i >= MAX_PENDING_SIGN_INS) this.#drop(ctx, other.name);
    }
    ctx.cookies.set(this.#name(pending.state), value, {
      ...this.#cookie,
      maxAge: PENDING_MAX_AGE_MS,
    });
  }

  /**
   * The pending sign-in the answer's `state` names, if this browser holds it and it has not
   * expired. Its cookie is removed whatever happens next: one answer per sign-in.
   */
  take(ctx: Context, state: string): PendingSignIn | undefined {
    const name = this.#name(state);
    const value = ctx.cookies.get(name);
    if (value === undefined) return undefined;
    this.#drop(ctx, name);
    const pending = this.#open(name, value);
    if (!pending || pending.state !== state) return undefined;
    return pending;
  }

  /** Whether this browser holds any pending sign-in of this app (a wrong state, not none). */
  holdsAny(ctx: Context): boolean {
    return this.#list(ctx).length > 0;
  }

  #name(state: string): string {
    return `${this.#prefix}${stateId(state)}`;
  }

  #drop(ctx: Context, name: string): void {
    // An empty value makes the cookies module send an expired cookie.
    ctx.cookies.set(name, '', this.#cookie);
  }

  /** This app's pending sign-in cookies the request carries. */
  #list(ctx: Context): { name: string; value: string }[] {
    const found: { name: string; value: string }[] = [];
    for (const part of (ctx.get('cookie') || '').split(';')) {
      const eq = part.indexOf('=');
      const name = part.slice(0, eq).trim();
      if (eq > 0 && name.startsWith(this.#prefix))
        found.push({ name, value: part.slice(eq + 1).trim() });
    }
    return found;
  }

  #seal(name: string, pending: PendingSignIn): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys[0] as Buffer, iv);
    cipher.setAAD(Buffer.from(name));
    const body = Buffer.concat([cipher.update(JSON.stringify(pending), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** Decrypts with each of SESSION_KEYS (the first seals, all open: keys rotate). */
  #open(name: string, value: string): PendingSignIn | undefined {
    const raw = Buffer.from(value, 'base64url');
    if (raw.length < 12 + 16 + 2) return undefined;
    for (const key of this.#keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAAD(Buffer.from(name));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const json = Buffer.concat([
          decipher.update(raw.subarray(12, raw.length - 16)),
          decipher.final(),
        ]).toString('utf8');
        const pending = JSON.parse(json) as PendingSignIn;
        if (Date.now() - pending.startedAt > PENDING_MAX_AGE_MS) return undefined;
        return pending;
      } catch {
        // another key, or not ours
      }
    }
    return undefined;
  }
}
