// Items as a resource: /data/items (list with cursor paging, create with Idempotency-Key) and
// /data/items/{id} (read, replace, merge-patch, delete), each on the caller's own items, with
// ETag / If-Match (RFC 9110 §13) so that a write based on an old version fails with 412.
import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import { getPrincipal, requirePermission, type Principal } from '@koa-entra/bearer';
import type { Context } from 'koa';
import { HttpError, invalidRequest } from '../http/errors.ts';
import { MERGE_PATCH, jsonBodyReader, mergePatch, tooLarge } from '../http/json-body.ts';
import type { WriteRateLimit } from '../http/write-rate-limit.ts';
import { READ, WRITE, ownerOf } from '../policy.ts';
import {
  IdempotencyKeyMismatchError,
  QuotaExceededError,
  type Item,
  type Precondition,
  type Quota,
  type ReadScope,
  type Store,
} from '../store/index.ts';
import { chain, type Middleware } from './compose.ts';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const ITEMS_PATH = '/data/items';

const readScopes = new WeakMap<Principal, ReadScope>();

/**
 * Whose items a principal reads: a user their own, an app with Data.Read.All its whole tenant.
 * One frozen object per principal (a cached token's principal is reused), so that the store
 * can key its read cache by it without building and hashing a string on every read.
 */
export function readScopeOf(principal: Principal): ReadScope {
  let scope = readScopes.get(principal);
  if (scope === undefined) {
    scope = Object.freeze(
      principal.kind === 'app' ? { tid: principal.tenantId, oid: null } : ownerOf(principal),
    );
    readScopes.set(principal, scope);
  }
  return scope;
}

/** The store's refusals as the responses they get (409 full quota, 422 reused key). */
export async function storeErrors<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof QuotaExceededError)
      throw new HttpError(409, 'quota_exceeded', error.message);
    if (error instanceof IdempotencyKeyMismatchError)
      throw new HttpError(422, 'idempotency_key_mismatch', error.message);
    throw error;
  }
}

export interface ItemRouteOptions {
  store: Store;
  authenticate: Middleware;
  maxBodyBytes: number;
  quota: Quota;
  rateLimit: WriteRateLimit;
}

export function itemRoutes(router: Router, options: ItemRouteOptions): Router {
  const { store, authenticate, maxBodyBytes, quota, rateLimit } = options;
  const readJsonObject = jsonBodyReader(maxBodyBytes);
  const reader = (fn: Middleware) => chain(authenticate, requirePermission(READ), fn);
  const writer = (fn: Middleware) =>
    chain(authenticate, requirePermission(WRITE), async (ctx, next) => {
      rateLimit.take(ownerOf(getPrincipal(ctx)));
      await fn(ctx, next);
    });

  router.get(
    ITEMS_PATH,
    reader(async (ctx) => {
      const limit = pageSize(ctx.query.limit);
      const before = cursorPosition(ctx.query.cursor);
      const rows = await store.page(readScopeOf(getPrincipal(ctx)), limit + 1, before);
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      ctx.set('cache-control', 'no-store');
      ctx.body = {
        items,
        nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
      };
    }),
  );

  router.post(
    ITEMS_PATH,
    writer(async (ctx) => {
      const key = idempotencyKey(ctx.get('idempotency-key'));
      const data = await readJsonObject(ctx);
      const principal = getPrincipal(ctx);
      const { item, replayed } = await storeErrors(() =>
        store.create(ownerOf(principal), data, {
          quota,
          idempotency: key === undefined ? undefined : { key, requestHash: hashOf(data) },
        }),
      );
      if (replayed) ctx.set('idempotent-replayed', 'true');
      ctx.set('location', itemPath(item.id));
      answerItem(ctx, item, 201);
    }),
  );

  router.get(
    `${ITEMS_PATH}/:id`,
    reader(async (ctx) => {
      const item = await found(store.get(readScopeOf(getPrincipal(ctx)), itemId(ctx)));
      const ifNoneMatch = ctx.get('if-none-match');
      if (ifNoneMatch && weakMatch(ifNoneMatch, item.etag)) {
        ctx.status = 304;
        ctx.set('etag', item.etag);
        ctx.set('cache-control', 'no-store');
        return;
      }
      answerItem(ctx, item, 200);
    }),
  );

  /** PUT replaces the data; PATCH merges an RFC 7396 merge patch into it. */
  const change = (merge: boolean): Middleware =>
    writer(async (ctx) => {
      const id = itemId(ctx);
      const ifMatch = precondition(ctx.get('if-match'));
      const body = await readJsonObject(
        ctx,
        merge ? { types: [MERGE_PATCH, 'application/json'] } : {},
      );
      const result = await storeErrors(() =>
        store.update(
          ownerOf(getPrincipal(ctx)),
          id,
          (current) => {
            const next = merge ? mergePatch(current, body) : body;
            if (Buffer.byteLength(JSON.stringify(next)) > maxBodyBytes)
              throw tooLarge(maxBodyBytes, 'The patched item');
            return next;
          },
          { ifMatch, quota },
        ),
      );
      answerItem(ctx, await outcome(result), 200);
    });
  router.put(`${ITEMS_PATH}/:id`, change(false));
  router.patch(`${ITEMS_PATH}/:id`, change(true));

  router.delete(
    `${ITEMS_PATH}/:id`,
    writer(async (ctx) => {
      const id = itemId(ctx);
      const ifMatch = precondition(ctx.get('if-match'));
      await outcome(await store.remove(ownerOf(getPrincipal(ctx)), id, ifMatch));
      ctx.status = 204;
      ctx.set('cache-control', 'no-store');
    }),
  );

  return router;
}

export const itemPath = (id: number) => `${ITEMS_PATH}/${id}`;

function answerItem(ctx: Context, item: Item, status: number): void {
  ctx.status = status;
  ctx.set('etag', item.etag);
  ctx.set('cache-control', 'no-store');
  ctx.body = item;
}

const notFound = () =>
  new HttpError(404, 'not_found', 'No such item (or it belongs to someone else)');

async function found(item: Promise<Item | undefined>): Promise<Item> {
  const value = await item;
  if (!value) throw notFound();
  return value;
}

async function outcome<T>(result: T | 'not_found' | 'precondition_failed'): Promise<T> {
  if (result === 'not_found') throw notFound();
  if (result === 'precondition_failed')
    throw new HttpError(
      412,
      'precondition_failed',
      'The item changed since the version If-Match names; GET it again and retry with its ETag',
    );
  return result;
}

/** Item ids are positive integers; anything else names no item (404, as an unknown id). */
function itemId(ctx: Context): number {
  const raw = String(ctx.params.id ?? '');
  const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw notFound();
  return id;
}

function pageSize(raw: unknown): number {
  if (raw === undefined) return DEFAULT_PAGE_SIZE;
  const n = typeof raw === 'string' && /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_PAGE_SIZE))
    throw invalidRequest(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  return n;
}

/** Cursors are opaque to callers: base64url of the last item's id, versioned. */
const encodeCursor = (id: number) => Buffer.from(`v1:${id}`).toString('base64url');

function cursorPosition(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const text = typeof raw === 'string' ? Buffer.from(raw, 'base64url').toString('utf8') : '';
  const match = /^v1:([1-9][0-9]{0,15})$/.exec(text);
  const id = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(id))
    throw invalidRequest('cursor is not valid: use the nextCursor of the previous page');
  return id;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function idempotencyKey(raw: string): string | undefined {
  if (raw === '') return undefined;
  if (!IDEMPOTENCY_KEY.test(raw))
    throw invalidRequest(
      'Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good key)',
    );
  return raw;
}

const hashOf = (data: unknown) =>
  createHash('sha256').update(JSON.stringify(data)).digest('base64url');

const ENTITY_TAG = /^(W\/)?"[\x21\x23-\x7e]*"$/;

/** If-Match (RFC 9110 §13.1.1): required on writes, `*` or entity tags; weak tags never match. */
function precondition(raw: string): Precondition {
  if (raw === '')
    throw new HttpError(
      428,
      'precondition_required',
      'Send If-Match with the ETag of the version you change (or * to change any version)',
    );
  if (raw.trim() === '*') return '*';
  const tags = raw.split(',').map((t) => t.trim());
  if (!tags.every((t) => ENTITY_TAG.test(t)))
    throw invalidRequest('If-Match must be * or a list of quoted entity tags such as "3"');
  return tags.filter((t) => !t.startsWith('W/'));
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2). */
function weakMatch(raw: string, etag: string): boolean {
  if (raw.trim() === '*') return true;
  return raw
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .includes(etag);
}
