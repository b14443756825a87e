// The protected data. Handlers receive the verified principal, never the token.
import { bodyParser } from '@koa/bodyparser';
import type Router from '@koa/router';
import { assertNoBodyToken, getPrincipal, requirePermission } from '@koa-entra/bearer';
import type { Context, Next } from 'koa';
import { HttpError, invalidRequest } from '../http/errors.ts';
import { READ, WRITE, grantedPermissions, ownerOf } from '../policy.ts';
import { REALM } from '../token-verifier.ts';
import type { Store } from '../store/index.ts';

export const READ_LIMIT = 100;
/** JSON.parse accepts any depth, JSON.stringify (store, response) only a few thousand levels. */
export const MAX_DEPTH = 64;

export function dataRoutes(
  router: Router,
  options: {
    store: Store;
    authenticate: (ctx: Context, next: Next) => Promise<void>;
    maxBodyBytes: number;
  },
): Router {
  const { store, authenticate, maxBodyBytes } = options;
  const parse = bodyParser({
    enableTypes: ['json', 'form'],
    jsonLimit: maxBodyBytes,
    formLimit: maxBodyBytes,
    jsonStrict: true,
  });

  router.get(
    '/data/read',
    chain(authenticate, requirePermission(READ), async (ctx) => {
      const principal = getPrincipal(ctx);
      // An app with Data.Read.All reads everyone's items in its tenant; a user reads their own.
      const items = await store.list(
        principal.kind === 'app' ? { tid: principal.tenantId, oid: null } : ownerOf(principal),
        READ_LIMIT,
      );
      ctx.set('cache-control', 'no-store');
      ctx.body = { data: items, 'current-user-scopes': grantedPermissions(principal) };
    }),
  );

  router.post(
    '/data/write',
    chain(authenticate, requirePermission(WRITE), async (ctx, next) => {
      const declared = Number(ctx.get('content-length'));
      if (declared > maxBodyBytes) throw tooLarge(maxBodyBytes);
      try {
        await parse(ctx, async () => undefined);
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status === 413) throw tooLarge(maxBodyBytes);
        if (status === 400)
          throw invalidRequest('The request body is not valid JSON (an object is expected)');
        throw error;
      }
      // Parsed after authentication, so the body's token check is ours (RFC 6750 §2.2).
      assertNoBodyToken(ctx.request.body, { realm: REALM });
      if (!ctx.is('application/json')) {
        throw new HttpError(
          415,
          'unsupported_media_type',
          'The request body must be a JSON object sent as application/json',
        );
      }
      const data = ctx.request.body;
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        throw invalidRequest('The request body must be a JSON object');
      }
      if (depthExceeds(data, MAX_DEPTH)) {
        throw invalidRequest(`The request body is nested deeper than ${MAX_DEPTH} levels`);
      }
      const principal = getPrincipal(ctx);
      const item = await store.put(ownerOf(principal), data);
      ctx.status = 201;
      ctx.set('cache-control', 'no-store');
      ctx.body = {
        result: 'You wrote protected data!',
        item,
        'current-user-scopes': grantedPermissions(principal),
      };
      await next();
    }),
  );

  return router;
}

type Middleware = (ctx: Context, next: Next) => Promise<void>;

/**
 * A route's middleware as one function, composed once: koa-router composes a route's stack
 * anew on every request (koa-compose: flatten, bind, Promise.resolve per step), about 1 µs per
 * request for the two extra steps of a data route.
 */
function chain(...fns: [Middleware, ...Middleware[]]): Middleware {
  let composed = fns[fns.length - 1] as Middleware;
  for (let i = fns.length - 2; i >= 0; i--) {
    const fn = fns[i] as Middleware;
    const inner = composed;
    composed = (ctx, next) => fn(ctx, () => inner(ctx, next));
  }
  return composed;
}

const tooLarge = (limit: number) =>
  new HttpError(413, 'request_too_large', `The request body is larger than ${limit} bytes`);

/** Whether `value` nests objects/arrays deeper than `max` levels (iterative: no recursion on hostile input). */
function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}
