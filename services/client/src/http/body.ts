// Form bodies (application/x-www-form-urlencoded, 16 kB) for every POST. A body whose
// Content-Encoding cannot be decoded is the client's fault (issue 13 W2): 400 for corrupt
// gzip/deflate/br data, 415 for an encoding the app does not know, logged once at warn with the
// reason and no stack (zlib's and brotli's errors carry no HTTP status, so Koa would make them
// a 500 with a stack).
import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';

const KNOWN_ENCODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity']);

/** The HTTP error for a body that could not be decoded, if that is what `error` is. */
export function bodyDecodingError(
  error: unknown,
  encoding: string,
): (Error & { status: number; expose: true }) | undefined {
  const e = error as { status?: unknown; code?: unknown };
  const name = encoding.trim().toLowerCase();
  const make = (status: number, message: string) =>
    Object.assign(new Error(message), { status, expose: true as const });
  if (e.status === 415 || (name && !KNOWN_ENCODINGS.has(name)))
    return make(415, `The body's Content-Encoding “${encoding}” is not supported.`);
  const zlib = typeof e.code === 'string' && /^(Z_|ERR__ERROR|ERR_BROTLI)/.test(e.code);
  if (name && name !== 'identity' && (zlib || e.status === undefined))
    return make(400, `The body is not valid ${name} data.`);
  return undefined;
}

export function formBodies(): Middleware {
  const parse = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  return async (ctx, next) => {
    try {
      await parse(ctx, async () => undefined);
    } catch (error) {
      const decoding = bodyDecodingError(error, ctx.get('content-encoding'));
      if (!decoding) throw error;
      ctx.state.log.warn(
        { reason: decoding.message, status: decoding.status },
        'request body could not be decoded',
      );
      throw decoding;
    }
    await next();
  };
}
