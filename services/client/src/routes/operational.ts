// Probes and the stylesheet: mounted before the session middleware (no session I/O). /metrics is
// on METRICS_PORT (server.ts); readiness bodies say what is down, the log says why.
import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import { healthRoutes } from '@koa-entra/service-kit';
import type { Logger } from 'pino';
import { STYLESHEET } from '../views/styles.ts';
import type { RouteDeps } from './common.ts';

export function operationalRoutes(
  deps: Pick<RouteDeps, 'store'> & { logger: Logger; isStopping?: () => boolean },
): Router {
  const { store, logger, isStopping } = deps;
  const stylesheetEtag = `"${createHash('sha256').update(STYLESHEET).digest('base64url').slice(0, 16)}"`;

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
