// The one error-to-response mapper: every failure becomes a page a person understands, with the
// request id to quote. Interaction required is handled first, inside the session (below).
import type { Context, Middleware, Next } from 'koa';
import { safeReturnPath } from '../auth/return-to.ts';
import type { SignInFlow } from '../auth/sign-in-flow.ts';
import {
  InteractionRequiredError,
  PageError,
  TooManySignInsError,
  authenticationContexts,
} from '../errors.ts';
import { errorPage, layout } from '../views/pages.ts';
import type { SessionData } from './session.ts';

/**
 * The same interaction needed again this soon after it completed would loop: show why instead.
 */
const LOOP_GUARD_MS = 60_000;

const STATUS_TEXT: Record<number, [string, string]> = {
  400: ['Bad request', 'The request could not be understood.'],
  404: ['Page not found', 'There is no page at this address.'],
  405: ['Method not allowed', 'This page cannot be used that way.'],
  413: ['Too large', 'What you sent is too large.'],
  415: ['Unsupported form', 'This form encoding is not supported.'],
};

export function errorPages(): Middleware {
  return async (ctx, next) => {
    let noRoute = false;
    try {
      await next();
      noRoute = ctx.status === 404 && ctx.body === undefined;
      if (noRoute) ctx.throw(404);
    } catch (caught) {
      const err: unknown = caught;
      // Not logged here: the kit's access log line carries the recorded error (a 500 with its
      // stack, a refused request with its reason), so each request is logged once.
      if (!noRoute) ctx.state.error = err;
      let user: SessionData['user'];
      try {
        user = (ctx.session as unknown as SessionData | null)?.user;
      } catch {
        user = undefined; // the session store itself may be what failed
      }
      let view: { status: number; title: string; detail: string; advice?: string | undefined };
      if (err instanceof PageError) {
        view = err;
      } else {
        const status = (err as { status?: number; expose?: boolean }).status;
        const known =
          typeof status === 'number' && status >= 400 && status < 500
            ? STATUS_TEXT[status]
            : undefined;
        if (typeof status === 'number' && status >= 400 && status < 500) {
          view = {
            status,
            title: known?.[0] ?? 'Request refused',
            detail: known?.[1] ?? 'The request could not be handled.',
          };
        } else {
          view = {
            status: 500,
            title: 'Something went wrong',
            detail: 'The web app failed to answer this request.',
            advice: 'Try again; if it keeps happening, quote the request id below.',
          };
        }
      }
      ctx.status = view.status;
      if (err instanceof TooManySignInsError) ctx.set('Retry-After', String(err.retryAfterSeconds));
      ctx.type = 'html';
      ctx.body = layout(
        view.title,
        errorPage({ ...view, requestId: ctx.state.requestId, signedIn: Boolean(user) }),
      );
    }
  };
}

/** What identifies an interaction for the loop guard: what was needed, for what. */
export function interactionKey(err: InteractionRequiredError): string {
  return [err.need, err.resource ?? 'graph', (err.scopes ?? []).join(' '), err.claims ?? ''].join(
    '|',
  );
}

/** The same interaction was needed again right after it completed: the real cause, as a page. */
function stillNeeded(err: InteractionRequiredError): PageError {
  const scopes = (err.scopes ?? []).map((s) => s.slice(s.lastIndexOf('/') + 1)).join(', ');
  if (err.need === 'consent') {
    return new PageError(
      403,
      'Permission not granted',
      `Signing in again did not give this app the permission “${scopes}”: the sign-in service still says consent is required (${err.reason}).`,
      'Ask an administrator to grant this app the permission for your organization (admin consent), then try again.',
      { cause: err },
    );
  }
  if (err.need === 'step-up') {
    const contexts = authenticationContexts(err.claims);
    return new PageError(
      403,
      'Additional verification not completed',
      contexts.length
        ? `This action needs the authentication context ${contexts.join(', ')} (a Conditional Access policy of your organization), and signing in again did not satisfy it (${err.reason}).`
        : `Your organization requires additional verification (multifactor authentication or another Conditional Access control) for this, and signing in again did not complete it (${err.reason}).`,
      'Try again and complete the verification the sign-in page asks for; if it keeps happening, ask an administrator to check the Conditional Access policy.',
      { cause: err },
    );
  }
  return new PageError(
    403,
    'Signing in did not help',
    `The sign-in service still needs you to sign in after you just did (${err.reason}).`,
    'Sign out, then sign in again; if it keeps happening, quote the request id below.',
    { cause: err },
  );
}

/**
 * Interaction required (consent missing, a claims challenge, refresh token expired or revoked,
 * cache empty): an interactive request for exactly what is missing (the error's scopes and
 * claims), with the signed-in user as login hint, and back to the page (or, for a kept write,
 * to /auth/resume). The same interaction needed again within a minute of completing is shown
 * as a page naming its cause instead of looping. Runs inside the session middleware.
 */
export function interactionRedirect(flow: SignInFlow): Middleware {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof InteractionRequiredError)) throw err;
      const user = (ctx.session as unknown as SessionData | null)?.user;
      const key = interactionKey(err);
      const last = user?.lastInteraction;
      if (last && last.key === key && Date.now() - last.at < LOOP_GUARD_MS) throw stillNeeded(err);
      ctx.state.log.info(
        { reason: err.reason, need: err.need, resource: err.resource ?? 'graph' },
        'interaction required: interactive request',
      );
      const here = ctx.method === 'GET' ? ctx.originalUrl : ctx.path;
      const url = await flow.start(ctx, {
        returnTo: safeReturnPath(err.returnTo ?? here),
        resource: err.resource,
        scopes: err.scopes,
        claims: err.claims,
        loginHint: user ? (user.loginHint ?? user.username) : undefined,
        forUser: user?.homeAccountId,
        need: err.need,
        interactionKey: user ? key : undefined,
        resumeWrite: err.pendingWrite,
      });
      ctx.status = 303;
      ctx.redirect(url);
    }
  };
}
