// Request id (a caller's safe X-Request-Id is reused), a child logger, an access log line and
// request metrics.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Middleware } from 'koa';
import type { Metrics } from './metrics.ts';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    log: Logger;
  }
}

const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export function requestContext(log: Logger, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    const requestId = SAFE_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = log.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Only route patterns as labels: raw paths would let anyone grow the metric without bound.
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      metrics.httpRequests.inc({ method: ctx.method, route, status: String(ctx.status) });
      metrics.httpDuration.observe({ method: ctx.method, route }, seconds);
      // The path only: query strings may carry authorization codes and state.
      // Probes arrive every few seconds: log them at debug unless they fail.
      const level = PROBE_PATHS.has(ctx.path) && ctx.status < 400 ? 'debug' : 'info';
      ctx.state.log[level](
        { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1000) },
        'request',
      );
    }
  };
}
