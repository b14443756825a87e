// Outermost middleware: request id, access log, duration metric, and the one error mapper.
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { toResponse } from './errors.ts';
import type { Metrics } from './metrics.ts';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export function requestContext(logger: Logger, metrics: Metrics) {
  return async function handleRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    const requestId = SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('x-request-id', requestId);
    ctx.set('x-content-type-options', 'nosniff');
    let failure: unknown;
    try {
      await next();
      // Statuses set without a body (404, 405 from the router) get the same JSON error body.
      if (ctx.status >= 400 && (ctx.body === undefined || ctx.body === null)) ctx.throw(ctx.status);
    } catch (error) {
      failure = error;
      const response = toResponse(error);
      ctx.status = response.status;
      ctx.set(response.headers);
      ctx.set('cache-control', 'no-store');
      ctx.body = response.body;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
    metrics.requestDuration.observe(
      { method: ctx.method, route: String(route), status: String(ctx.status) },
      seconds,
    );
    const entry = {
      requestId,
      method: ctx.method,
      path: ctx.path,
      route: String(route),
      status: ctx.status,
      durationMs: Math.round(seconds * 1e5) / 100,
      ip: ctx.ip,
      ...(ctx.state.principal
        ? {
            tid: ctx.state.principal.tenantId,
            oid: ctx.state.principal.objectId,
            clientId: ctx.state.principal.clientId,
          }
        : {}),
    };
    if (ctx.status === 500) {
      logger.error(
        {
          ...entry,
          err:
            failure instanceof Error
              ? { type: failure.name, message: failure.message, stack: failure.stack }
              : undefined,
        },
        'request failed',
      );
    } else if (ctx.status > 500) {
      logger.warn(
        { ...entry, reason: failure instanceof Error ? failure.message : undefined },
        'request not served',
      );
    } else if (PROBE_PATHS.has(ctx.path) && ctx.status < 400) {
      // Probes arrive every few seconds: log them at debug unless they fail.
      logger.debug(entry, 'request');
    } else {
      logger.info(entry, 'request');
    }
  };
}
