// DNS mode: one listener answers as two hosts, like Entra's: the sign-in host
// (login.microsoftonline.com) serves the identity endpoints and no Graph, the Graph host
// (graph.microsoft.com) serves Graph and nothing of the identity platform. Requests are told
// apart by their Host header; outside DNS mode one host serves everything.
import type { Middleware } from 'koa';
import { randomUUID } from 'node:crypto';
import type { Harness } from './context.ts';
import { errors } from './errors.ts';

const isGraphPath = (path: string) =>
  path.startsWith('/v1.0/') || path.startsWith('/beta/') || path === '/oidc/userinfo';

export function virtualHosts(h: Harness): Middleware {
  return async (ctx, next) => {
    const hosts = h.virtualHosts;
    if (!hosts || ctx.path === '/healthz') return next();
    if (ctx.hostname.toLowerCase() === hosts.graph) {
      if (isGraphPath(ctx.path)) return next();
      // Graph reads the first path segment as its API version.
      const version = ctx.path.split('/').filter(Boolean)[0] ?? '';
      ctx.status = 400;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        error: {
          code: 'BadRequest',
          message: `Invalid version: ${version}`,
          innerError: {
            date: new Date().toISOString().replace(/\.\d+Z$/, ''),
            'request-id': randomUUID(),
            'client-request-id': ctx.get('client-request-id') || randomUUID(),
          },
        },
      };
      return;
    }
    if (isGraphPath(ctx.path)) throw errors.notFound(ctx.path);
    return next();
  };
}
