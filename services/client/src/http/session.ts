// Server-side sessions (koa-session with an external store): the cookie holds only a random id,
// signed with SESSION_KEYS (the first signs, all verify, so keys rotate without signing anyone
// out). Idle expiry: cookie and store entry roll forward on every request. Absolute expiry: a
// signed-in session ends SESSION_ABSOLUTE_TIMEOUT_SECONDS after sign-in, used or not. Only a
// signed-in user has a session in the store: what a sign-in keeps before that is in its own
// cookie (auth/pending-sign-ins.ts).
import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import session from 'koa-session';
import type { Middleware } from 'koa';
import type { SignedInUser } from '../auth/authenticator.ts';
import type { WebAppConfig } from '../config.ts';
import type { KeyValueStore } from '../store/store.ts';
import type { KeptWrite } from './pending-write.ts';

export interface SessionData {
  user?: SignedInUser;
  formTokens?: string[];
  /** Writes kept across an interactive round trip (http/pending-write.ts), by id. */
  pendingWrites?: Record<string, KeptWrite>;
}

export const sessionKey = (id: string): string => `sess:${id}`;

declare module 'koa' {
  interface DefaultState {
    /** The id of the session this request created or regenerated (set by genid). */
    sessionId?: string;
  }
}

/**
 * Cookies are Secure when the configured public origin (REDIRECT_URI) is https, whatever the hop
 * in front says (issue 13 W4): behind a TLS-terminating proxy without TRUST_PROXY the request
 * looks like http, and the cookies module would otherwise refuse to send a Secure cookie.
 */
export function secureCookies(config: WebAppConfig): Middleware {
  return async (ctx, next) => {
    if (config.secureCookies) ctx.cookies.secure = true;
    await next();
  };
}

export function sessions(app: Koa, config: WebAppConfig, store: KeyValueStore): Middleware {
  const idleMs = config.sessionIdleTimeoutSeconds * 1000;
  return session(
    {
      key: config.sessionCookieName,
      maxAge: idleMs,
      rolling: true,
      httpOnly: true,
      sameSite: 'lax',
      signed: true,
      // Derived from the public origin (with the `__Host-` name on https; Path=/, no Domain).
      secure: config.secureCookies,
      genid: (ctx: Koa.Context) => {
        const id = randomBytes(32).toString('base64url');
        ctx.state.sessionId = id;
        return id;
      },
      store: {
        async get(key: string) {
          const data = await store.get(sessionKey(key));
          return data ? (JSON.parse(data) as Record<string, unknown>) : undefined;
        },
        async set(
          key: string,
          value: Record<string, unknown>,
          maxAge: number | 'session' | undefined,
        ) {
          const ttl = typeof maxAge === 'number' ? maxAge / 1000 : config.sessionIdleTimeoutSeconds;
          await store.set(sessionKey(key), JSON.stringify(value), ttl);
        },
        async destroy(key: string) {
          await store.delete(sessionKey(key));
        },
      },
    },
    app,
  ) as Middleware;
}

/** Ends signed-in sessions older than the absolute limit (their token cache is left to its TTL). */
export function absoluteExpiry(config: WebAppConfig): Middleware {
  const limitMs = config.sessionAbsoluteTimeoutSeconds * 1000;
  return async (ctx, next) => {
    const data = ctx.session as (SessionData & Record<string, unknown>) | null;
    // Emptied rather than destroyed: the request goes on with a session (a sign-in answer arriving
    // now still completes; signing in regenerates the id).
    if (data?.user && Date.now() - data.user.signedInAt > limitMs)
      for (const key of Object.keys(data)) delete data[key];
    await next();
  };
}

export function sessionData(ctx: Koa.Context): SessionData {
  const data = ctx.session as unknown as SessionData | null;
  if (!data) throw new Error('no session');
  return data;
}
