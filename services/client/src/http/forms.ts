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

export function issueFormToken(ctx: Context): string {
  const session = ctx.session as (FormSession & Record<string, unknown>) | null;
  if (!session) throw new Error('issueFormToken needs a session');
  const token = randomBytes(32).toString('base64url');
  session.formTokens = [...(session.formTokens ?? []), token].slice(-MAX_OUTSTANDING);
  return token;
}

export function consumeFormToken(ctx: Context, ownOrigin: string): void {
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
  const session = ctx.session as (FormSession & Record<string, unknown>) | null;
  const tokens = session?.formTokens ?? [];
  const index = submitted ? tokens.findIndex((t) => constantTimeEqual(t, submitted)) : -1;
  if (index < 0) {
    throw new ForbiddenFormError(
      submitted
        ? 'This form was already submitted or has expired.'
        : 'This form has no security token; it was not sent from this site.',
    );
  }
  if (session) session.formTokens = tokens.filter((_, i) => i !== index);
}
