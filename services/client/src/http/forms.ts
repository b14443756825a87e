// CSRF protection for every POST: a one-time token, issued into the session when a form is
// rendered and consumed when it is submitted. A forged form (no token or a wrong one) and a
// replayed one (token already used) are refused with 403. The Origin header, when the browser
// sends one, must be this site's, and Fetch Metadata must not say cross-site.
import { randomBytes } from 'node:crypto';
import { constantTimeEqual } from '@koa-entra/service-kit';
import type { Context } from 'koa';
import { ForbiddenFormError } from '../errors.ts';

const MAX_OUTSTANDING = 20;

interface FormSession {
  formTokens?: string[];
}

const formSession = (ctx: Context) => ctx.session as (FormSession & Record<string, unknown>) | null;

export function issueFormToken(ctx: Context): string {
  const session = formSession(ctx);
  if (!session) throw new Error('issueFormToken needs a session');
  const token = randomBytes(32).toString('base64url');
  session.formTokens = [...(session.formTokens ?? []), token].slice(-MAX_OUTSTANDING);
  return token;
}

/** Removes `token` from the session's outstanding tokens; whether it was one of them. */
export function takeFormToken(ctx: Context, token: string): boolean {
  const session = formSession(ctx);
  const tokens = session?.formTokens ?? [];
  const index = token ? tokens.findIndex((t) => constantTimeEqual(t, token)) : -1;
  if (index < 0) return false;
  if (session) session.formTokens = tokens.filter((_, i) => i !== index);
  return true;
}

/** Makes a consumed token valid once more (a write kept across a sign-in round trip). */
export function keepFormToken(ctx: Context, token: string): void {
  const session = formSession(ctx);
  if (session) session.formTokens = [...(session.formTokens ?? []), token].slice(-MAX_OUTSTANDING);
}

/** Checks and consumes the POST's form token (CSRF); returns it. */
export function consumeFormToken(ctx: Context, ownOrigin: string): string {
  const fetchSite = ctx.get('Sec-Fetch-Site');
  if (fetchSite === 'cross-site') {
    throw new ForbiddenFormError('This form was sent from another web site.');
  }
  const origin = ctx.get('Origin');
  if (origin && origin !== 'null' && origin !== ownOrigin) {
    throw new ForbiddenFormError('This form was sent from another web site.');
  }
  if (origin === 'null') throw new ForbiddenFormError('This form was sent from an opaque origin.');
  const body = ((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>;
  const submitted = typeof body._csrf === 'string' ? body._csrf : '';
  if (!takeFormToken(ctx, submitted)) {
    throw new ForbiddenFormError(
      submitted
        ? 'This form was already submitted or has expired.'
        : 'This form has no security token; it was not sent from this site.',
    );
  }
  return submitted;
}
