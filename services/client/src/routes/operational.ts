// Probes and the static assets (stylesheet, icon): mounted before the session middleware (no
// session I/O). /metrics is on METRICS_PORT (server.ts); readiness bodies say what is down, the
// log says why.
import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import { healthRoutes } from '@koa-entra/service-kit';
import type { Logger } from 'pino';
import { FAVICON_ICO, FAVICON_SVG } from '../views/assets.ts';
import { STYLESHEET } from '../views/styles.ts';
import type { RouteDeps } from './common.ts';

export function operationalRoutes(
  deps: Pick<RouteDeps, 'store'> & { logger: Logger; isStopping?: () => boolean },
): Router {
  const { store, logger, isStopping } = deps;
  const router = healthRoutes({
    readiness: {
      logger,
      checks: { store: () => store.ping() },
      timeoutMs: 2000,
      isStopping,
      body: (report) => {
        if (report.ready) return { status: 'ready', store: store.kind };
        const check = report.checks.store;
        return {
          status: 'not ready',
          reason: check && !check.ok ? `${store.kind} store unreachable` : 'shutting down',
        };
      },
    },
  });

  asset(router, '/static/app.css', 'text/css; charset=utf-8', STYLESHEET);
  asset(router, '/static/favicon.svg', 'image/svg+xml', FAVICON_SVG);
  asset(router, '/favicon.ico', 'image/x-icon', FAVICON_ICO);

  return router;
}

/** A constant file of the app, cacheable for an hour and revalidated by its hash. */
function asset(router: Router, path: string, type: string, body: string | Buffer): void {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
  router.get(path, (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('ETag', etag);
    if (ctx.get('If-None-Match') === etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = type;
    ctx.body = body;
  });
}
