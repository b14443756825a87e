// Shared by the route modules: what they are given, and the session they read.
import type { Context } from 'koa';
import type { Authenticator } from '../auth/authenticator.ts';
import type { PendingSignIns } from '../auth/pending-sign-ins.ts';
import type { SessionIndex } from '../auth/session-index.ts';
import type { SignInFlow } from '../auth/sign-in-flow.ts';
import { issueFormToken } from '../http/forms.ts';
import type { Metrics } from '../http/metrics.ts';
import type { PendingWrites } from '../http/pending-write.ts';
import type { SessionData } from '../http/session.ts';
import type { KeyValueStore } from '../store/store.ts';
import type { Upstreams } from '../upstream.ts';
import { layout } from '../views/pages.ts';

export interface RouteDeps {
  auth: Authenticator;
  upstreams: Upstreams;
  store: KeyValueStore;
  metrics: Metrics;
  ownOrigin: string;
  /** Starts a sign-in or an interactive request (rate limited; state in its own cookie). */
  signIns: SignInFlow;
  pendingSignIns: PendingSignIns;
  sessionIndex: SessionIndex;
  /** Form POSTs that write: kept across a consent/step-up round trip (http/pending-write.ts). */
  writes: PendingWrites;
}

export const session = (ctx: Context) => ctx.session as unknown as SessionData | null;

/** Renders `body` in the layout, with the navigation and sign-out form when signed in. */
export function page(ctx: Context, title: string, body: Parameters<typeof layout>[1]): void {
  const user = session(ctx)?.user;
  ctx.type = 'html';
  ctx.body = layout(
    title,
    body,
    user ? { name: user.name || user.username, signOutToken: issueFormToken(ctx) } : undefined,
  );
}

/** The signed-in user, or a trip through sign-in that comes back here. */
export function requireUser(ctx: Context) {
  const user = session(ctx)?.user;
  if (!user) {
    const back = ctx.method === 'GET' ? ctx.originalUrl : ctx.path;
    ctx.redirect(`/auth/signin?returnTo=${encodeURIComponent(back)}`);
    return undefined;
  }
  return user;
}
