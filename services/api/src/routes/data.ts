// The tutorial's data routes (GET /data/read, POST /data/write), kept as its contract.
// Handlers receive the verified principal, never the token.
import type Router from '@koa/router';
import { getPrincipal, requirePermission } from '@koa-entra/bearer';
import { jsonBodyReader } from '../http/json-body.ts';
import type { WriteRateLimit } from '../http/write-rate-limit.ts';
import { READ, WRITE, grantedPermissions, ownerOf } from '../policy.ts';
import type { Quota, Store } from '../store/index.ts';
import { chain, type Middleware } from './compose.ts';
import { readScopeOf, storeErrors } from './items.ts';

export { MAX_DEPTH } from '../http/json-body.ts';
export const READ_LIMIT = 100;
const JSON_TYPE = 'application/json; charset=utf-8';

export interface DataRouteOptions {
  store: Store;
  authenticate: Middleware;
  maxBodyBytes: number;
  quota: Quota;
  rateLimit: WriteRateLimit;
}

export function dataRoutes(router: Router, options: DataRouteOptions): Router {
  const { store, authenticate, maxBodyBytes, quota, rateLimit } = options;
  const readJsonObject = jsonBodyReader(maxBodyBytes);

  router.get(
    '/data/read',
    chain(authenticate, requirePermission(READ), async (ctx) => {
      const principal = getPrincipal(ctx);
      // An app with Data.Read.All reads everyone's items in its tenant; a user reads their own.
      const items = await store.list(readScopeOf(principal), READ_LIMIT);
      // The hot route: headers set on the response directly and the body serialized here, so
      // that Koa's body setter takes its short string path (no type lookup, no stream checks).
      ctx.res.setHeader('cache-control', 'no-store');
      ctx.res.setHeader('content-type', JSON_TYPE);
      ctx.body = JSON.stringify({
        data: items,
        'current-user-scopes': grantedPermissions(principal),
      });
    }),
  );

  router.post(
    '/data/write',
    chain(authenticate, requirePermission(WRITE), async (ctx, next) => {
      const principal = getPrincipal(ctx);
      rateLimit.take(ownerOf(principal));
      // The tutorial's web app POSTs with no body at all: that writes an empty object.
      const data = await readJsonObject(ctx, { empty: {} });
      const item = await storeErrors(() => store.put(ownerOf(principal), data, quota));
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
