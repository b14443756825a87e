// A stand-in for the API's items resource (the contract in PHASE 3: GET /data/items?limit=&cursor=
// → {items, nextCursor}; POST /data/items with Idempotency-Key → 201 + Location + ETag;
// GET/PUT/PATCH/DELETE /data/items/{id} with If-Match → 412 when stale, 404 for others' items),
// verifying every token with jose against the fake issuer, until services/api serves it.
import { once } from 'node:events';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import { DEFAULTS, type FakeEntra } from '@koa-entra/fake-entra';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import Koa, { type Context } from 'koa';

export interface StoredItem {
  id: string;
  owner: string;
  data: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface ItemsApiCall {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  claims: JWTPayload | undefined;
  status: number;
}

const START = Date.parse('2026-03-01T09:00:00Z');

const etagOf = (item: StoredItem) =>
  `"${createHash('sha256').update(`${item.id}:${item.version}`).digest('base64url').slice(0, 16)}"`;

const view = (item: StoredItem) => ({
  id: item.id,
  data: item.data,
  createdAt: item.createdAt,
  updatedAt: item.updatedAt,
  etag: etagOf(item),
});

function challenge(ctx: Context, status: number, error: string, scope?: string) {
  ctx.status = status;
  ctx.set(
    'WWW-Authenticate',
    `Bearer realm="api", error="${error}"${scope ? `, scope="${scope}"` : ''}`,
  );
  ctx.body = { error };
}

export class ItemsApi {
  readonly url: string;
  readonly calls: ItemsApiCall[] = [];
  /** Newest last. */
  readonly items: StoredItem[] = [];
  readonly #server: Server;
  readonly #idempotency = new Map<string, string>();
  #clock = START;

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  static async start(fake: FakeEntra): Promise<ItemsApi> {
    const jwks = createRemoteJWKSet(new URL(`${fake.authority()}/discovery/v2.0/keys`));
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const api = new ItemsApi(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const app = new Koa();
    app.use(bodyParser({ enableTypes: ['json'] }));
    app.use(async (ctx) => {
      const call: ItemsApiCall = {
        method: ctx.method,
        path: ctx.url,
        headers: ctx.headers,
        claims: undefined,
        status: 0,
      };
      try {
        const token = /^Bearer (\S+)$/.exec(ctx.get('authorization'))?.[1];
        if (!token) return challenge(ctx, 401, 'invalid_token');
        try {
          call.claims = (
            await jwtVerify(token, jwks, {
              issuer: fake.issuer(),
              audience: [DEFAULTS.apiClientId, DEFAULTS.apiIdentifier],
            })
          ).payload;
        } catch {
          return challenge(ctx, 401, 'invalid_token');
        }
        await api.#handle(ctx, call.claims);
      } finally {
        call.status = ctx.status;
        api.calls.push(call);
      }
    });
    server.on('request', app.callback());
    return api;
  }

  /** Stores an item directly (as another client of the API would), newest last. */
  seed(upn: string, text: string): StoredItem {
    const oid = Object.values(DEFAULTS.users).find((u) => u.upn === upn)?.oid;
    if (!oid) throw new Error(`unknown user ${upn}`);
    return this.#create(oid, { text });
  }

  /** Changes an item as another device would (a new version). */
  changeElsewhere(id: string, text: string): void {
    const item = this.items.find((i) => i.id === id);
    if (!item) throw new Error(`no item ${id}`);
    Object.assign(item, { data: { text }, updatedAt: this.#now(), version: item.version + 1 });
  }

  /** Forgets every item, call and idempotency key, and restarts the clock (between tests). */
  reset(): void {
    this.items.length = 0;
    this.calls.length = 0;
    this.#idempotency.clear();
    this.#clock = START;
  }

  deleteElsewhere(id: string): void {
    const index = this.items.findIndex((i) => i.id === id);
    if (index >= 0) this.items.splice(index, 1);
  }

  #now(): string {
    this.#clock += 60_000;
    return new Date(this.#clock).toISOString();
  }

  #create(owner: string, data: Record<string, unknown>): StoredItem {
    const now = this.#now();
    const item = { id: randomUUID(), owner, data, createdAt: now, updatedAt: now, version: 1 };
    this.items.push(item);
    return item;
  }

  async #handle(ctx: Context, claims: JWTPayload): Promise<void> {
    const owner = String(claims.oid);
    const scopes = String(claims.scp ?? '').split(' ');
    // Exactly the contract: reads need data.read, writes data.write (one does not imply the other).
    const needs = (scope: string) => {
      if (scopes.includes(scope)) return true;
      challenge(ctx, 403, 'insufficient_scope', scope);
      return false;
    };
    const body = (ctx.request as unknown as { body?: unknown }).body;
    const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
    const mine = this.items.filter((i) => i.owner === owner).reverse();
    ctx.set('Cache-Control', 'no-store');

    if (ctx.path === '/data/items' && ctx.method === 'GET') {
      if (!needs('data.read')) return;
      const limit = Math.min(Number(ctx.query.limit ?? 20) || 20, 100);
      let start = 0;
      if (typeof ctx.query.cursor === 'string') {
        const after = Buffer.from(ctx.query.cursor, 'base64url').toString();
        start = mine.findIndex((i) => i.id === after) + 1;
        if (start === 0) {
          ctx.status = 400;
          ctx.body = { error: 'invalid_request', error_description: 'unknown cursor' };
          return;
        }
      }
      const page = mine.slice(start, start + limit);
      const more = start + limit < mine.length;
      ctx.body = {
        items: page.map(view),
        nextCursor: more ? Buffer.from(page.at(-1)!.id).toString('base64url') : null,
      };
      return;
    }
    if (ctx.path === '/data/items' && ctx.method === 'POST') {
      if (!needs('data.write')) return;
      if (!isObject) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_request' };
        return;
      }
      const key = ctx.get('idempotency-key');
      const earlier = key ? this.#idempotency.get(`${owner}:${key}`) : undefined;
      const item =
        (earlier && this.items.find((i) => i.id === earlier)) ||
        this.#create(owner, body as Record<string, unknown>);
      if (key) this.#idempotency.set(`${owner}:${key}`, item.id);
      ctx.status = 201;
      ctx.set('Location', `/data/items/${item.id}`);
      ctx.set('ETag', etagOf(item));
      ctx.body = view(item);
      return;
    }
    const match = /^\/data\/items\/([^/]+)$/.exec(ctx.path);
    const item = match ? mine.find((i) => i.id === decodeURIComponent(match[1]!)) : undefined;
    if (!match) {
      ctx.status = 404;
      ctx.body = { error: 'not_found' };
      return;
    }
    if (!needs(ctx.method === 'GET' ? 'data.read' : 'data.write')) return;
    if (!item) {
      ctx.status = 404;
      ctx.body = { error: 'not_found' };
      return;
    }
    if (ctx.method === 'GET') {
      ctx.set('ETag', etagOf(item));
      ctx.body = view(item);
      return;
    }
    if (ctx.get('if-match') !== etagOf(item)) {
      ctx.status = 412;
      ctx.body = { error: 'precondition_failed' };
      return;
    }
    if (ctx.method === 'DELETE') {
      this.items.splice(this.items.indexOf(item), 1);
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'PUT' || ctx.method === 'PATCH') {
      if (!isObject) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_request' };
        return;
      }
      const data = ctx.method === 'PUT' ? body : { ...item.data, ...(body as object) };
      Object.assign(item, { data, updatedAt: this.#now(), version: item.version + 1 });
      ctx.set('ETag', etagOf(item));
      ctx.body = view(item);
      return;
    }
    ctx.status = 405;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
