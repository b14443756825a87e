// Route handlers. They read the signed-in user from the session, get tokens from the
// Authenticator and data from Upstreams; errors go to http/errors.ts.
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import { healthRoutes } from '@koa-entra/service-kit';
import type { Context } from 'koa';
import type { Authenticator } from '../auth/authenticator.ts';
import { safeReturnPath } from '../auth/return-to.ts';
import { InteractionRequiredError, PageError } from '../errors.ts';
import { consumeFormToken, issueFormToken } from '../http/forms.ts';
import type { Metrics } from '../http/metrics.ts';
import type { SessionData } from '../http/session.ts';
import type { KeyValueStore } from '../store/store.ts';
import type { Upstreams } from '../upstream.ts';
import { homeSignedIn, homeSignedOut, layout, readPage, writePage } from '../views/pages.ts';
import { STYLESHEET } from '../views/styles.ts';

export const MAX_TEXT_LENGTH = 500;

export interface RouteDeps {
  auth: Authenticator;
  upstreams: Upstreams;
  store: KeyValueStore;
  metrics: Metrics;
  ownOrigin: string;
}

const session = (ctx: Context) => ctx.session as unknown as SessionData | null;

function page(ctx: Context, title: string, body: Parameters<typeof layout>[1]): void {
  const user = session(ctx)?.user;
  ctx.type = 'html';
  ctx.body = layout(
    title,
    body,
    user ? { name: user.name || user.username, signOutToken: issueFormToken(ctx) } : undefined,
  );
}

/** The signed-in user, or a trip through sign-in that comes back here. */
function requireUser(ctx: Context) {
  const user = session(ctx)?.user;
  if (!user) {
    const back = ctx.method === 'GET' ? ctx.originalUrl : ctx.path;
    ctx.redirect(`/auth/signin?returnTo=${encodeURIComponent(back)}`);
    return undefined;
  }
  return user;
}

/** Probes, metrics and the stylesheet: mounted before the session middleware (no session I/O). */
export function operationalRoutes(
  deps: Pick<RouteDeps, 'store' | 'metrics'> & { isStopping?: () => boolean },
): Router {
  const { store, metrics, isStopping } = deps;
  const stylesheetEtag = `"${createHash('sha256').update(STYLESHEET).digest('base64url').slice(0, 16)}"`;

  const router = healthRoutes({
    registry: metrics.registry,
    readiness: {
      checks: { store: () => store.ping() },
      timeoutMs: 2000,
      isStopping,
      body: (report) => {
        if (report.ready) return { status: 'ready', store: store.kind };
        const check = report.checks.store;
        return {
          status: 'not ready',
          reason:
            check && !check.ok
              ? `${store.kind} store unreachable: ${check.reason}`
              : 'shutting down',
        };
      },
    },
  });

  router.get('/static/app.css', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('ETag', stylesheetEtag);
    if (ctx.get('If-None-Match') === stylesheetEtag) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'text/css; charset=utf-8';
    ctx.body = STYLESHEET;
  });

  return router;
}

export function routes(deps: RouteDeps): Router {
  const { auth, upstreams, metrics, ownOrigin } = deps;
  const router = new Router();

  router.get('/', async (ctx) => {
    const user = session(ctx)?.user;
    if (!user) {
      page(ctx, 'Welcome', homeSignedOut());
      return;
    }
    const token = await auth.accessToken(user, 'graph');
    const profile = await upstreams.profile(token.accessToken);
    page(ctx, 'Home', homeSignedIn(profile));
  });

  router.get('/auth/signin', async (ctx) => {
    const returnTo = safeReturnPath(ctx.query.returnTo);
    const data = session(ctx);
    if (!data) throw new Error('no session');
    const { url, pending } = await auth.beginSignIn(returnTo, {
      loginHint: data.user?.username,
      reauthentication: data.reauthenticationRequested === true,
    });
    delete data.reauthenticationRequested;
    data.pendingSignIn = pending;
    ctx.redirect(url);
  });

  router.get('/auth/redirect', async (ctx) => {
    const data = session(ctx);
    if (!data) throw new Error('no session');
    const pending = data.pendingSignIn;
    // One answer per sign-in: the pending state is gone whatever happens next.
    delete data.pendingSignIn;
    let user;
    try {
      user = await auth.completeSignIn(ctx.query as Record<string, unknown>, pending);
    } catch (error) {
      metrics.signIns.inc({ outcome: 'failed' });
      throw error;
    }
    metrics.signIns.inc({ outcome: 'ok' });
    // New session id after sign-in (no session fixation); nothing from before is carried over.
    for (const key of Object.keys(data)) delete (data as Record<string, unknown>)[key];
    data.user = user;
    await (ctx.session as unknown as { regenerate(): Promise<void> }).regenerate();
    ctx.state.log.info({ signIn: 'ok' }, 'signed in');
    ctx.status = 303;
    ctx.redirect(pending?.returnTo ?? '/');
  });

  router.post('/auth/signout', async (ctx) => {
    consumeFormToken(ctx, ownOrigin);
    const user = session(ctx)?.user;
    if (user) await auth.forget(user.homeAccountId);
    ctx.session = null;
    const url = await auth.endSessionUrl();
    ctx.status = 303;
    ctx.redirect(url);
  });

  router.get('/read', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const token = await auth.accessToken(user, 'api');
    const { items, scopes } = await upstreams.readData(token.accessToken);
    page(ctx, 'Read data', readPage(items, scopes));
  });

  router.get('/write', (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    page(ctx, 'Write data', writePage(issueFormToken(ctx), MAX_TEXT_LENGTH));
  });

  router.post('/write', async (ctx) => {
    consumeFormToken(ctx, ownOrigin);
    const user = session(ctx)?.user;
    if (!user) throw new InteractionRequiredError('signed_out');
    const body = ((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>;
    const text = typeof body.text === 'string' ? body.text.trim() : '';
    if (!text)
      throw new PageError(
        400,
        'Nothing to save',
        'The text field was empty.',
        'Go back and type something.',
      );
    if (text.length > MAX_TEXT_LENGTH) {
      throw new PageError(
        400,
        'Text too long',
        `At most ${MAX_TEXT_LENGTH} characters can be saved.`,
        'Go back and shorten it.',
      );
    }
    const token = await auth.accessToken(user, 'api');
    await upstreams.writeData(token.accessToken, text);
    ctx.status = 303;
    ctx.redirect('/read');
  });

  return router;
}
