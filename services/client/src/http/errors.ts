// The one error-to-response mapper: every failure becomes a page a person understands, with the
// request id to quote. Interaction required is handled first, inside the session (below).
import type { Context, Middleware, Next } from 'koa';
import { InteractionRequiredError, PageError } from '../errors.ts';
import { renderPage } from '../views/document.ts';
import { errorPage } from '../views/pages.ts';
import type { SessionData } from './session.ts';

/**
 * A re-authentication this recent that still leaves MSAL needing interaction would loop: show
 * why instead (e.g. consent for a required permission is missing).
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
      // With the navigation and sign-out (a new form token: the session is saved once more,
      // it was committed before the error reached here).
      renderPage(
        ctx,
        view.title,
        errorPage({ ...view, requestId: ctx.state.requestId, signedIn: Boolean(user) }),
      );
      if (user) await commitSession(ctx);
    }
  };
}

/**
 * Interaction required (consent missing, refresh token expired or revoked, cache empty): send the
 * user through sign-in and back to the page asked for. Runs inside the session middleware so
 * that the re-authentication mark is saved. A re-authentication that did not help is shown as a
 * page instead of looping.
 */
export function interactionRedirect(): Middleware {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof InteractionRequiredError)) throw err;
      const session = ctx.session as unknown as SessionData | null;
      const user = session?.user;
      const looping =
        user?.reauthentication === true && Date.now() - user.signedInAt < LOOP_GUARD_MS;
      if (looping) {
        throw new PageError(
          403,
          'Access could not be granted',
          `Signing in again did not give this app access (${err.reason}). Consent for a required permission may be missing.`,
          'Ask an administrator to grant this app the permissions it needs, then sign out and sign in.',
          { cause: err },
        );
      }
      ctx.state.log.info({ reason: err.reason }, 'interaction required: signing in again');
      if (session) session.reauthenticationRequested = true;
      const back = ctx.method === 'GET' ? ctx.originalUrl : ctx.path;
      ctx.status = 303;
      ctx.redirect(`/auth/signin?returnTo=${encodeURIComponent(back)}`);
    }
  };
}

async function commitSession(ctx: Context): Promise<void> {
  try {
    await (ctx.session as unknown as { manuallyCommit(): Promise<void> } | null)?.manuallyCommit();
  } catch {
    // the store failed: the page still renders; its sign-out form will be refused
  }
}
