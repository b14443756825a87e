// The Koa application: outage switch, Entra-shaped error mapping, body parsing, routes.
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import { randomUUID } from 'node:crypto';
import type { Harness } from './context.ts';
import { EntraError, errorBody, errors } from './errors.ts';
import { QueuedEntraError } from './hooks.ts';
import { endpointOf, recordOf } from './recorder.ts';
import { registerDiscovery } from './routes/discovery.ts';
import { registerAuthorize } from './routes/authorize.ts';
import { registerDeviceCode } from './routes/device-code.ts';
import { registerGraph } from './routes/graph.ts';
import { registerHarness } from './routes/harness.ts';
import { registerLogout } from './routes/logout.ts';
import { registerToken } from './routes/token.ts';
import { virtualHosts } from './virtual-hosts.ts';

/** Maps anything thrown (Koa/http-errors, body parser, ours) to an EntraError; unknown → 500. */
export function toEntraError(error: unknown, path: string, method: string): EntraError {
  if (error instanceof EntraError) return error;
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 404) return errors.notFound(path);
    if (status === 405 || status === 501) return errors.methodNotAllowed(method);
    if (status === 413) return errors.malformed('The request body is too large.');
    return errors.malformed((error as Error).message);
  }
  return new EntraError(
    500,
    'server_error',
    90100,
    'An unexpected error occurred in the fake issuer.',
  );
}

/** The Entra-shaped error for a body whose Content-Encoding cannot be decoded, if it is one. */
export function bodyDecodingError(error: unknown, encoding: string): EntraError | undefined {
  const e = error as { status?: unknown; code?: unknown; type?: unknown };
  if (e.status === 415 || e.type === 'encoding.unsupported')
    return new EntraError(
      415,
      'invalid_request',
      9002313,
      `Invalid request. Request is malformed or invalid. The Content-Encoding '${encoding}' is not supported; send the body uncompressed.`,
    );
  // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR, brotli's ERR_*) carry no HTTP status.
  const zlib = typeof e.code === 'string' && /^(Z_|ERR__ERROR|ERR_BROTLI)/.test(e.code);
  if (encoding && encoding !== 'identity' && (zlib || e.status === undefined))
    return errors.malformed(`The body is not valid '${encoding}' data.`);
  return undefined;
}

export function createApp(h: Harness): Koa {
  const app = new Koa();
  app.silent = true;

  // Outermost, so that the record holds the final answer (after error mapping).
  app.use(async (ctx, next) => {
    const where = endpointOf(ctx.path);
    if (!where) return next();
    const seq = h.recorder.nextSeq();
    const time = new Date();
    try {
      await next();
    } finally {
      try {
        h.recorder.add(recordOf(ctx, seq, time, where));
      } catch (error) {
        console.error(`fake-entra: could not record ${ctx.method} ${ctx.path}:`, error);
      }
    }
  });

  app.use(async (ctx, next) => {
    const correlation = ctx.get('client-request-id');
    if (correlation) ctx.set('client-request-id', correlation);
    ctx.set('x-ms-request-id', randomUUID());
    try {
      if (h.outage) throw errors.unavailable();
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw errors.notFound(ctx.path);
    } catch (error) {
      const err = toEntraError(error, ctx.path, ctx.method);
      if (err.status >= 500 && !h.outage && !(err instanceof QueuedEntraError))
        console.error(`fake-entra: ${ctx.method} ${ctx.path} failed:`, error);
      ctx.status = err.status;
      ctx.set('Cache-Control', 'no-store');
      if (err.status === 503) ctx.set('Retry-After', '1');
      const graphHost = !h.virtualHosts || ctx.hostname.toLowerCase() === h.virtualHosts.graph;
      if (ctx.path.startsWith('/v1.0/') && graphHost) {
        ctx.body = {
          error: {
            code: err.status === 404 ? 'Request_ResourceNotFound' : 'BadRequest',
            message: err.message,
            innerError: {
              date: new Date().toISOString(),
              'request-id': randomUUID(),
              'client-request-id': correlation || randomUUID(),
            },
          },
        };
      } else {
        ctx.body = errorBody(err, correlation, h.baseUrl);
      }
    }
  });

  app.use(virtualHosts(h));

  // Bodies are parsed before routing; a body that cannot be decoded is the client's fault: 400
  // for a corrupt gzip/deflate/br body, 415 for an encoding we do not know, logged in one line.
  const parseBody = bodyParser({
    enableTypes: ['form', 'json'],
    formLimit: '64kb',
    jsonLimit: '64kb',
    jsonStrict: true,
  });
  app.use(async (ctx, next) => {
    try {
      await parseBody(ctx, async () => undefined);
    } catch (error) {
      const decoding = bodyDecodingError(error, ctx.get('content-encoding'));
      if (!decoding) throw error;
      console.warn(
        `fake-entra: ${ctx.method} ${ctx.path}: ${decoding.message.replace(/^AADSTS\d+: /, '')} (${decoding.status})`,
      );
      throw decoding;
    }
    await next();
  });

  const router = new Router();
  registerHarness(router, h);
  registerDiscovery(router, h);
  registerAuthorize(router, h);
  registerToken(router, h);
  registerDeviceCode(router, h);
  registerLogout(router, h);
  registerGraph(router, h);
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}
