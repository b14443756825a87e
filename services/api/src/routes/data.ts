// The tutorial's data routes (GET /data/read, POST /data/write), kept as its contract.
// Handlers receive the verified principal, never the token.
import type Router from '@koa/router';
import { getPrincipal, requirePermission, type Principal } from '@koa-entra/bearer';
import type { Context } from 'koa';
import { jsonBodyReader } from '../http/json-body.ts';
import type { WriteRateLimit } from '../http/write-rate-limit.ts';
import { READ, WRITE, grantedPermissions, ownerOf } from '../policy.ts';
import type { Item, Quota, Store } from '../store/index.ts';
import { chain, type Middleware } from './compose.ts';
import { readScopeOf, storeErrors } from './items.ts';

export { MAX_DEPTH } from '../http/json-body.ts';
export const READ_LIMIT = 100;
const JSON_TYPE = 'application/json; charset=utf-8';

// The body of GET /data/read for a frozen list (the SQLite store's cached read) and the granted
// permissions (the same array while the verified-token cache holds the caller's token): both
// unchanged, so is their JSON, which is made once instead of on every read (about 0.5 µs).
const readBodies = new WeakMap<readonly Item[], { permissions: readonly string[]; json: string }>();

function readBody(items: readonly Item[], permissions: readonly string[]): string {
  const known = readBodies.get(items);
  if (known !== undefined && known.permissions === permissions) return known.json;
  const json = JSON.stringify({ data: items, 'current-user-scopes': permissions });
  if (Object.isFrozen(items) && Object.isFrozen(permissions))
    readBodies.set(items, { permissions, json });
  return json;
}

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

  // The hot route: a list the store holds in memory is answered without an asynchronous step;
  // headers are set on the response directly and the body is a string, so that Koa's body
  // setter takes its short path (no type lookup, no stream checks).
  const answerRead = (ctx: Context, principal: Principal, items: readonly Item[]) => {
    ctx.res.setHeader('cache-control', 'no-store');
    ctx.res.setHeader('content-type', JSON_TYPE);
    ctx.body = readBody(items, grantedPermissions(principal));
  };
  router.get(
    '/data/read',
    chain(authenticate, requirePermission(READ), (ctx) => {
      const principal = getPrincipal(ctx);
      // An app with Data.Read.All reads everyone's items in its tenant; a user reads their own.
      const scope = readScopeOf(principal);
      const held = store.listNow?.(scope, READ_LIMIT);
      if (held !== undefined) {
        answerRead(ctx, principal, held);
        return Promise.resolve();
      }
      return store.list(scope, READ_LIMIT).then((items) => answerRead(ctx, principal, items));
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
