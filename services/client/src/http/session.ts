// Server-side sessions (koa-session with an external store): the cookie holds only a random id,
// signed with SESSION_KEYS (the first signs, all verify, so keys rotate without signing anyone
// out). Idle expiry: cookie and store entry roll forward on every request. Absolute expiry: a
// signed-in session ends SESSION_ABSOLUTE_TIMEOUT_SECONDS after sign-in, used or not.
import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import session from 'koa-session';
import type { Middleware } from 'koa';
import type { PendingSignIn, SignedInUser } from '../auth/authenticator.ts';
import type { WebAppConfig } from '../config.ts';
import type { KeyValueStore } from '../store/store.ts';

export interface SessionData {
  user?: SignedInUser;
  pendingSignIn?: PendingSignIn;
  formTokens?: string[];
  /** Set when MSAL asked for interaction: the next sign-in is a re-authentication. */
  reauthenticationRequested?: boolean;
}

export const sessionKey = (id: string): string => `sess:${id}`;

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
      // `secure` unset: the cookie is Secure exactly when the request is https (ctx.secure, which
      // honours X-Forwarded-Proto when TRUST_PROXY is on).
      genid: () => randomBytes(32).toString('base64url'),
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

/**
 * Ends signed-in sessions older than the absolute limit (their token cache is left to its TTL).
 * The request goes on with an empty session (the routes need one to start or finish a sign-in);
 * a sign-in this browser had already started is kept so that it can still complete.
 */
export function absoluteExpiry(config: WebAppConfig): Middleware {
  const limitMs = config.sessionAbsoluteTimeoutSeconds * 1000;
  return async (ctx, next) => {
    const data = ctx.session as (SessionData & Record<string, unknown>) | null;
    if (data?.user && Date.now() - data.user.signedInAt > limitMs) {
      ctx.session = data.pendingSignIn ? { pendingSignIn: data.pendingSignIn } : {};
    }
    await next();
  };
}

export function sessionData(ctx: Koa.Context): SessionData {
  const data = ctx.session as unknown as SessionData | null;
  if (!data) throw new Error('no session');
  return data;
}
