// Sign-in (authorization code + PKCE through the Authenticator), the return of an interactive
// request (consent, step-up) with the write it kept, sign-out, and front-channel logout.
import Router from '@koa/router';
import { stateId } from '../auth/pending-sign-ins.ts';
import { safeReturnPath } from '../auth/return-to.ts';
import { SID_PATTERN } from '../auth/session-index.ts';
import { SignInError } from '../errors.ts';
import { consumeFormToken } from '../http/forms.ts';
import { session, type RouteDeps } from './common.ts';

export function authRoutes(deps: RouteDeps): Router {
  const { auth, metrics, ownOrigin, signIns, pendingSignIns, sessionIndex, store, writes } = deps;
  const router = new Router();

  router.get('/auth/signin', async (ctx) => {
    const returnTo = safeReturnPath(ctx.query.returnTo);
    const user = session(ctx)?.user;
    const url = await signIns.start(ctx, {
      returnTo,
      loginHint: user ? (user.loginHint ?? user.username) : undefined,
    });
    ctx.redirect(url);
  });

  router.get('/auth/redirect', async (ctx) => {
    const data = session(ctx);
    if (!data) throw new Error('no session');
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const othersHeld = pendingSignIns.holdsAny(ctx);
    // One answer per sign-in: its cookie is gone whatever happens next, and a marker in the store
    // (10 minutes, written only when an answer arrives) refuses a replay with a copied cookie.
    let pending = state ? pendingSignIns.take(ctx, state) : undefined;
    if (pending && !(await store.setIfAbsent(`signin-used:${stateId(state)}`, '1', 600)))
      pending = undefined;
    if (!pending && othersHeld && state) {
      throw new SignInError(
        'state_mismatch',
        'The sign-in answer does not match the sign-in this browser started (state mismatch).',
      );
    }
    // A round trip that ends without a code ends its kept write too: show back what was typed.
    const kept =
      pending?.resumeWrite && ctx.query.error
        ? writes.discard(ctx, pending.resumeWrite)
        : undefined;
    let completed;
    try {
      completed = await auth.completeSignIn(
        ctx.query as Record<string, unknown>,
        pending,
        data.user,
        kept,
      );
    } catch (error) {
      metrics.signIns.inc({ outcome: 'failed' });
      throw error;
    }
    metrics.signIns.inc({ outcome: 'ok' });
    const { user } = completed;
    if (completed.sameUser) {
      // An interactive request for the signed-in user's action: same session, same account. A
      // new issuer session (the old one had ended) gets this app session in its index entry.
      const previousSid = data.user?.sid;
      data.user = user;
      const id = (ctx.session as unknown as { externalKey?: string }).externalKey;
      if (user.sid && user.sid !== previousSid && id)
        await sessionIndex.add(user.sid, id, user.homeAccountId);
      ctx.state.log.info({ interaction: pending?.need ?? 'sign-in' }, 'interaction completed');
    } else {
      // New session id after sign-in (no session fixation); nothing from before is carried over.
      for (const key of Object.keys(data)) delete (data as Record<string, unknown>)[key];
      data.user = user;
      await (ctx.session as unknown as { regenerate(): Promise<void> }).regenerate();
      if (user.sid && ctx.state.sessionId)
        await sessionIndex.add(user.sid, ctx.state.sessionId, user.homeAccountId);
      ctx.state.log.info({ signIn: 'ok' }, 'signed in');
    }
    ctx.status = 303;
    if (completed.sameUser && pending?.resumeWrite)
      ctx.redirect(`/auth/resume/${encodeURIComponent(pending.resumeWrite)}`);
    else ctx.redirect(pending?.returnTo ?? '/');
  });

  // The write a form POST kept for the round trip: performed once, its form token re-checked.
  router.get('/auth/resume/:id', async (ctx) => {
    await writes.resume(ctx, ctx.params.id ?? '');
  });

  router.post('/auth/signout', async (ctx) => {
    consumeFormToken(ctx, ownOrigin);
    const user = session(ctx)?.user;
    // The sid's index entry stays: the issuer's sign-out page ends the other app sessions of
    // this issuer session through front-channel logout, which needs it.
    if (user) await auth.forget(user.homeAccountId);
    ctx.session = null;
    const url = await auth.endSessionUrl(user);
    ctx.status = 303;
    ctx.redirect(url);
  });

  // Loaded by the issuer's sign-out page in a (cross-site) frame, with `?sid=` only: the session
  // cookie does not come along, so the sid's sessions are found through the index.
  router.get('/auth/front-channel-logout', async (ctx) => {
    const origin = auth.signOutPageOrigin();
    ctx.state.frameAncestors = origin ? [origin] : [];
    const sid = typeof ctx.query.sid === 'string' ? ctx.query.sid : '';
    let ended = 0;
    if (SID_PATTERN.test(sid)) ended = await sessionIndex.endSessions(sid);
    // Same-site (e.g. the app's own tab): the cookie came along, end that session too.
    const user = session(ctx)?.user;
    if (user && user.sid === sid) ctx.session = null;
    ctx.state.log.info({ frontChannelLogout: ended }, 'front-channel logout');
    ctx.type = 'html';
    ctx.body = '<!doctype html><title>Signed out</title><p>Signed out of the web app.</p>\n';
  });

  return router;
}
