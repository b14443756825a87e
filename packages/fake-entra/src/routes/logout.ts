// /logout: ends the browser session and returns to post_logout_redirect_uri when that URI is
// registered for the client (named by client_id or by the id_token_hint's audience).
import type Router from '@koa/router';
import type { Context } from 'koa';
import { decodeJwt } from 'jose';
import type { ClientConfig } from '../config.ts';
import { SESSION_COOKIE, type Harness } from '../context.ts';
import { Directory } from '../directory.ts';
import { EntraError, errors } from '../errors.ts';
import { entraErrorOf } from '../hooks.ts';
import { escapeHtml, sendPage } from '../html.ts';
import { readParams, type Params } from '../params.ts';

function clientOf(h: Harness, p: Params): ClientConfig | undefined {
  if (p.client_id) return h.directory.client(p.client_id);
  if (p.id_token_hint) {
    try {
      const aud = decodeJwt(p.id_token_hint).aud;
      return h.directory.client(String(Array.isArray(aud) ? aud[0] : aud));
    } catch {
      throw errors.malformed('The id_token_hint is not a JWT.');
    }
  }
  return undefined;
}

export function registerLogout(router: Router, h: Harness): void {
  const handler = (ctx: Context & { params: Record<string, string> }) => {
    h.count('logout');
    try {
      h.directory.requireTenant(ctx.params.tenant!);
      const p =
        ctx.method === 'POST'
          ? readParams((ctx.request as unknown as { body?: unknown }).body)
          : readParams(ctx.query);
      const queued = h.hooks.takeError('logout', { clientId: p.client_id });
      if (queued) throw entraErrorOf(queued);
      const session = ctx.cookies.get(SESSION_COOKIE);
      if (session) h.sessions.delete(session);
      ctx.cookies.set(SESSION_COOKIE, '', {
        httpOnly: true,
        sameSite: 'lax',
        path: '/',
        expires: new Date(0),
        overwrite: true,
      });

      const target = p.post_logout_redirect_uri;
      if (target) {
        const client = clientOf(h, p);
        const candidates = client ? [client] : h.directory.config.clients;
        if (candidates.some((c) => Directory.uriMatches(c.postLogoutRedirectUris, target))) {
          const url = new URL(target);
          if (p.state) url.searchParams.set('state', p.state);
          ctx.set('Cache-Control', 'no-store');
          return ctx.redirect(url.toString());
        }
        return sendPage(
          ctx,
          400,
          'Sign out',
          `<h1>You signed out of your account</h1><p>The post_logout_redirect_uri <code>${escapeHtml(target)}</code> is not registered for ${
            client
              ? `the application <code>${escapeHtml(client.clientId)}</code>`
              : 'any application'
          }, so you were not sent back.</p>`,
        );
      }
      return sendPage(
        ctx,
        200,
        'Sign out',
        "<h1>You signed out of your account</h1><p>It's a good idea to close all browser windows.</p>",
      );
    } catch (error) {
      if (!(error instanceof EntraError)) throw error;
      return sendPage(
        ctx,
        error.status,
        'Sign out - error',
        `<h1>Sign out failed</h1><p><code>${escapeHtml(error.message)}</code></p>`,
      );
    }
  };
  router.get('/:tenant/oauth2/v2.0/logout', handler);
  router.post('/:tenant/oauth2/v2.0/logout', handler);
}
