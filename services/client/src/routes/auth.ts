// Sign-in (authorization code + PKCE through the Authenticator) and sign-out.
import Router from '@koa/router';
import { safeReturnPath } from '../auth/return-to.ts';
import { consumeFormToken } from '../http/forms.ts';
import { session, type RouteDeps } from './common.ts';

export function authRoutes(deps: RouteDeps): Router {
  const { auth, metrics, ownOrigin } = deps;
  const router = new Router();

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

  return router;
}
