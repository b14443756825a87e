// The API's response policy around every route: nosniff on every answer, and the one
// error-to-response mapper (errors.ts, RFC 6750 for bearer-token errors). The error it answers
// is recorded on ctx.state.error, so that the kit's access log line carries it (a 500 with its
// stack, a 503 with its reason): each request is logged once, with its final status.
import type { Middleware } from 'koa';
import { isBodyDecodingError, toResponse } from './errors.ts';

export function apiResponses(): Middleware {
  return async function answer(ctx, next) {
    ctx.res.setHeader('x-content-type-options', 'nosniff');
    let response;
    try {
      await next();
      // Statuses set without a body (404, 405 from the router) get the same JSON error body.
      if (ctx.status < 400 || (ctx.body !== undefined && ctx.body !== null)) return;
      response = toResponse({ status: ctx.status, expose: true });
    } catch (error) {
      ctx.state.error = error;
      const contentEncoding = ctx.get('content-encoding');
      response = toResponse(error, { contentEncoding });
      // A body that does not decompress is the caller's fault: a warn line, no stack (W2).
      if (isBodyDecodingError(error))
        ctx.state.log.warn(
          { contentEncoding, code: error.code, reason: error.message },
          'request body could not be decoded',
        );
    }
    ctx.status = response.status;
    ctx.set(response.headers);
    ctx.set('cache-control', 'no-store');
    ctx.body = response.body;
  };
}
