// Items as a resource (/data/items) on both stores: paging, ownership, ETag/If-Match,
// Idempotency-Key, quotas and the write rate limit, and the migration of existing tables.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { describeWith, databaseUrl, postgres } from '../../../tests/support/prerequisites.ts';
import {
  ALICE,
  BOB,
  DEFAULTS,
  FakeEntra,
  call,
  startTestApi,
  tempDir,
  write,
  type Answer,
  type TestApi,
} from './support/api.ts';

jest.setTimeout(30_000);

let fake: FakeEntra;
beforeAll(async () => {
  fake = await FakeEntra.start();
});
afterAll(async () => {
  await fake?.close();
});

interface Item {
  id: number;
  owner: { tid: string; oid: string };
  data: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  etag: string;
}

/** A token of alice's shape for a user of its own (a fresh oid): tests never see each other's items. */
const freshUser = (oid: string = randomUUID(), scopes = ['data.read', 'data.write']) =>
  fake.mintAccessToken({ user: ALICE, scopes, claims: { oid } });

const json = { 'content-type': 'application/json' };

function client(api: { url: string }, token: string) {
  const items = `${api.url}/data/items`;
  return {
    create: (data: unknown, headers: Record<string, string> = {}) =>
      call(items, {
        method: 'POST',
        token,
        headers: { ...json, ...headers },
        body: JSON.stringify(data),
      }),
    list: (query = '') => call(`${items}${query}`, { token }),
    get: (id: number | string, headers: Record<string, string> = {}) =>
      call(`${items}/${id}`, { token, headers }),
    put: (id: number | string, data: unknown, headers: Record<string, string> = {}) =>
      call(`${items}/${id}`, {
        method: 'PUT',
        token,
        headers: { ...json, ...headers },
        body: JSON.stringify(data),
      }),
    patch: (id: number | string, data: unknown, headers: Record<string, string> = {}) =>
      call(`${items}/${id}`, {
        method: 'PATCH',
        token,
        headers: { 'content-type': 'application/merge-patch+json', ...headers },
        body: JSON.stringify(data),
      }),
    remove: (id: number | string, headers: Record<string, string> = {}) =>
      call(`${items}/${id}`, { method: 'DELETE', token, headers }),
  };
}

const itemOf = (r: Answer) => r.body as unknown as Item;

function itemSuite(storeEnv: () => Promise<Record<string, string>>) {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi(fake, { MAX_BODY_BYTES: '2048', ...(await storeEnv()) });
  });
  afterAll(async () => {
    await api?.close();
  });

  test('POST creates an item: 201, Location, ETag; GET reads it back; If-None-Match gives 304', async () => {
    const oid = randomUUID();
    const alice = client(api, await freshUser(oid));
    const created = await alice.create({ text: 'hello' });
    expect(created.status).toBe(201);
    const item = itemOf(created);
    expect(item).toEqual({
      id: expect.any(Number),
      owner: { tid: DEFAULTS.tenantId, oid },
      data: { text: 'hello' },
      createdAt: item.createdAt,
      updatedAt: item.createdAt,
      etag: '"1"',
    });
    expect(new Date(item.createdAt).toISOString()).toBe(item.createdAt);
    expect(created.headers.get('location')).toBe(`/data/items/${item.id}`);
    expect(created.headers.get('etag')).toBe('"1"');
    const read = await call(`${api.url}${created.headers.get('location')}`, {
      token: await freshUser(oid),
    });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(item);
    expect(read.headers.get('etag')).toBe('"1"');
    expect(read.headers.get('cache-control')).toBe('no-store');
    const unchanged = await alice.get(item.id, { 'if-none-match': '"1"' });
    expect(unchanged.status).toBe(304);
    expect(unchanged.headers.get('etag')).toBe('"1"');
  });

  test('the list pages newest first with an opaque cursor; no item twice, none skipped', async () => {
    const alice = client(api, await freshUser());
    const ids: number[] = [];
    for (let n = 1; n <= 5; n++) ids.push(itemOf(await alice.create({ n })).id);
    const first = await alice.list('?limit=2');
    expect(first.status).toBe(200);
    const page1 = first.body.items as Item[];
    expect(page1.map((i) => i.data.n)).toEqual([5, 4]);
    expect(typeof first.body.nextCursor).toBe('string');
    expect(String(first.body.nextCursor)).not.toContain(String(ids[3]));
    // An item created while paging appears on no later page and shifts nothing.
    await alice.create({ n: 6 });
    const second = await alice.list(`?limit=2&cursor=${first.body.nextCursor as string}`);
    expect((second.body.items as Item[]).map((i) => i.data.n)).toEqual([3, 2]);
    const third = await alice.list(`?limit=2&cursor=${second.body.nextCursor as string}`);
    expect((third.body.items as Item[]).map((i) => i.data.n)).toEqual([1]);
    expect(third.body.nextCursor).toBeNull();
    const all = await alice.list();
    expect((all.body.items as Item[]).map((i) => i.data.n)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(all.body.nextCursor).toBeNull();
    for (const query of ['?limit=0', '?limit=101', '?limit=abc', '?cursor=bogus', '?cursor=']) {
      const bad = await alice.list(query);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toBe('invalid_request');
    }
  });

  test("another user's item is 404 for every method and absent from their list; an app with Data.Read.All reads it", async () => {
    const alice = client(api, await freshUser());
    const item = itemOf(await alice.create({ secret: 'mine' }));
    const other = client(api, await freshUser());
    expect((await other.get(item.id)).status).toBe(404);
    expect((await other.put(item.id, { x: 1 }, { 'if-match': item.etag })).status).toBe(404);
    expect((await other.patch(item.id, { x: 1 }, { 'if-match': '*' })).status).toBe(404);
    const removed = await other.remove(item.id, { 'if-match': item.etag });
    expect(removed.status).toBe(404);
    expect(removed.body).toEqual({
      error: 'not_found',
      error_description: 'No such item (or it belongs to someone else)',
    });
    expect((await other.list()).body.items).toEqual([]);
    expect((await alice.get(item.id)).body).toEqual(item);
    const daemon = client(api, await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'] }));
    expect((await daemon.get(item.id)).body).toEqual(item);
    const denied = await daemon.put(item.id, { x: 1 }, { 'if-match': item.etag });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    for (const id of ['0', '-1', 'abc', '1e3', '99999999999999999999'])
      expect((await alice.get(id)).status).toBe(404);
  });

  test('PUT and PATCH need If-Match: 428 without, 412 on a stale ETag, 200 with the new ETag', async () => {
    const alice = client(api, await freshUser());
    const item = itemOf(await alice.create({ a: 1, b: { c: 2 } }));
    const missing = await alice.put(item.id, { a: 2 });
    expect(missing.status).toBe(428);
    expect(missing.body.error).toBe('precondition_required');
    const put = await alice.put(item.id, { a: 2, b: { c: 2 } }, { 'if-match': item.etag });
    expect(put.status).toBe(200);
    const v2 = itemOf(put);
    expect(v2).toMatchObject({ id: item.id, data: { a: 2, b: { c: 2 } }, etag: '"2"' });
    expect(put.headers.get('etag')).toBe('"2"');
    expect(v2.createdAt).toBe(item.createdAt);
    expect(v2.updatedAt >= item.updatedAt).toBe(true);
    const stale = await alice.put(item.id, { lost: true }, { 'if-match': item.etag });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toBe('precondition_failed');
    expect((await alice.patch(item.id, { lost: true }, { 'if-match': '"1"' })).status).toBe(412);
    expect((await alice.patch(item.id, { lost: true }, { 'if-match': 'W/"2"' })).status).toBe(412);
    const patched = await alice.patch(
      item.id,
      { b: { c: null, d: 3 }, e: 'x' },
      { 'if-match': `"9", ${v2.etag}` },
    );
    expect(patched.status).toBe(200);
    expect(itemOf(patched)).toMatchObject({ data: { a: 2, b: { d: 3 }, e: 'x' }, etag: '"3"' });
    const anyVersion = await alice.patch(item.id, { a: null }, { 'if-match': '*' });
    expect(itemOf(anyVersion)).toMatchObject({ data: { b: { d: 3 }, e: 'x' }, etag: '"4"' });
    expect((await alice.get(item.id)).body).toEqual(itemOf(anyVersion));
    expect((await alice.put(item.id, [1], { 'if-match': '*' })).status).toBe(400);
    const text = await call(`${api.url}/data/items/${item.id}`, {
      method: 'PATCH',
      token: await freshUser(item.owner.oid),
      headers: { 'content-type': 'text/plain', 'if-match': '*' },
      body: 'a=1',
    });
    expect(text.status).toBe(415);
    expect((await alice.put(item.id, { a: 1 }, { 'if-match': 'nonsense' })).status).toBe(400);
    const big = await alice.patch(item.id, { pad: 'x'.repeat(1500) }, { 'if-match': '*' });
    expect(big.status).toBe(200);
    const tooBig = await alice.patch(item.id, { pad2: 'y'.repeat(1500) }, { 'if-match': '*' });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error_description).toBe('The patched item is larger than 2048 bytes');
    expect((await alice.get(item.id)).headers.get('etag')).toBe('"5"');
  });

  test('DELETE needs If-Match: 412 when stale, 204, then 404', async () => {
    const alice = client(api, await freshUser());
    const item = itemOf(await alice.create({ n: 1 }));
    expect((await alice.remove(item.id)).status).toBe(428);
    expect((await alice.remove(item.id, { 'if-match': '"7"' })).status).toBe(412);
    const removed = await alice.remove(item.id, { 'if-match': item.etag });
    expect(removed.status).toBe(204);
    expect(removed.text).toBe('');
    expect((await alice.get(item.id)).status).toBe(404);
    expect((await alice.remove(item.id, { 'if-match': '*' })).status).toBe(404);
    expect((await alice.list()).body.items).toEqual([]);
  });

  test('a retried POST with the same Idempotency-Key writes once and answers the same item', async () => {
    const oid = randomUUID();
    const alice = client(api, await freshUser(oid));
    const key = randomUUID();
    const first = await alice.create({ text: 'once' }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await alice.create({ text: 'once' }, { 'idempotency-key': key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    // Retries racing each other also write once.
    const key2 = randomUUID();
    const racing = await Promise.all(
      Array.from({ length: 5 }, () => alice.create({ text: 'race' }, { 'idempotency-key': key2 })),
    );
    expect(racing.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(racing.map((r) => itemOf(r).id)).size).toBe(1);
    const mismatch = await alice.create({ text: 'other' }, { 'idempotency-key': key });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.error).toBe('idempotency_key_mismatch');
    // Keys are per user: another user's same key is another item.
    const bob = client(api, await freshUser());
    const bobs = await bob.create({ text: 'once' }, { 'idempotency-key': key });
    expect(itemOf(bobs).id).not.toBe(itemOf(first).id);
    const items = (await alice.list()).body.items as Item[];
    expect(items.map((i) => i.data.text)).toEqual(['race', 'once']);
    const bad = await alice.create({ text: 'x' }, { 'idempotency-key': 'has space' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_request');
  });

  test('writes need data.write, reads data.read; no token is 401', async () => {
    const bob = client(api, await fake.mintAccessToken({ user: BOB, scopes: ['data.read'] }));
    const denied = await bob.create({ x: 1 });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toContain('scope="data.write"');
    expect((await bob.list()).status).toBe(200);
    const writeOnly = client(api, await freshUser(randomUUID(), ['data.write']));
    expect((await writeOnly.list()).status).toBe(403);
    expect((await call(`${api.url}/data/items`)).status).toBe(401);
    const empty = await call(`${api.url}/data/items`, {
      method: 'POST',
      token: await freshUser(),
    });
    expect(empty.status).toBe(400);
    expect(empty.body.error_description).toBe('The request has no body: a JSON object is expected');
  });

  test('POST /data/write with no body (the tutorial web app) writes an empty object', async () => {
    const oid = randomUUID();
    const r = await call(`${api.url}/data/write`, { method: 'POST', token: await freshUser(oid) });
    expect(r.status).toBe(201);
    expect(r.body.result).toBe('You wrote protected data!');
    expect((r.body.item as Item).data).toEqual({});
    const alice = client(api, await freshUser(oid));
    expect(((await alice.list()).body.items as Item[]).map((i) => i.data)).toEqual([{}]);
    // A body of another type is still refused.
    const text = await write(api, await freshUser(oid), 'hi', {
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
  });

  test('a corrupt compressed body is 400, an unknown Content-Encoding 415', async () => {
    const token = await freshUser();
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const r = await call(`${api.url}/data/items`, {
        method: 'POST',
        token,
        headers: { ...json, 'content-encoding': encoding },
        body: 'this is not compressed at all',
      });
      expect({ encoding, status: r.status, error: r.body.error }).toEqual({
        encoding,
        status: 400,
        error: 'invalid_request',
      });
    }
    const unknown = await call(`${api.url}/data/write`, {
      method: 'POST',
      token,
      headers: { ...json, 'content-encoding': 'zstd-nonsense' },
      body: '{}',
    });
    expect(unknown.status).toBe(415);
  });
}

function limitSuite(storeEnv: () => Promise<Record<string, string>>) {
  test('a full item quota answers 409 quota_exceeded, on /data/items and /data/write; deleting frees it', async () => {
    const api = await startTestApi(fake, { ITEMS_QUOTA_COUNT: '3', ...(await storeEnv()) });
    try {
      const oid = randomUUID();
      const alice = client(api, await freshUser(oid));
      const made: Item[] = [];
      for (let n = 0; n < 3; n++) made.push(itemOf(await alice.create({ n })));
      const full = await alice.create({ n: 3 });
      expect(full.status).toBe(409);
      expect(full.body).toEqual({
        error: 'quota_exceeded',
        error_description: 'The item quota is full: at most 3 items per user; delete some first',
      });
      expect((await write(api, await freshUser(oid), { n: 3 })).status).toBe(409);
      // Concurrent creates cannot overshoot the quota either.
      const other = client(api, await freshUser());
      const burst = await Promise.all(Array.from({ length: 6 }, (_, n) => other.create({ n })));
      expect(burst.filter((r) => r.status === 201)).toHaveLength(3);
      expect(burst.filter((r) => r.status === 409)).toHaveLength(3);
      const first = made[0] as Item;
      expect((await alice.remove(first.id, { 'if-match': first.etag })).status).toBe(204);
      expect((await alice.create({ n: 4 })).status).toBe(201);
    } finally {
      await api.close();
    }
  });

  test('a full byte quota answers 409; a PUT may shrink an item but not grow past it', async () => {
    const api = await startTestApi(fake, { ITEMS_QUOTA_BYTES: '2048', ...(await storeEnv()) });
    try {
      const alice = client(api, await freshUser());
      const pad = (n: number) => ({ pad: 'x'.repeat(n) });
      const a = itemOf(await alice.create(pad(900)));
      const b = itemOf(await alice.create(pad(900)));
      const full = await alice.create(pad(900));
      expect(full.status).toBe(409);
      expect(full.body.error_description).toBe(
        'The storage quota is full: at most 2048 bytes of item data per user; delete or shrink items first',
      );
      expect((await alice.put(a.id, pad(1200), { 'if-match': a.etag })).status).toBe(409);
      expect((await alice.put(b.id, pad(100), { 'if-match': b.etag })).status).toBe(200);
      expect((await alice.create(pad(900))).status).toBe(201);
    } finally {
      await api.close();
    }
  });

  test('writes past WRITE_RATE_LIMIT answer 429 with Retry-After, per user; reads go on', async () => {
    const api = await startTestApi(fake, {
      WRITE_RATE_LIMIT: '3',
      WRITE_RATE_WINDOW_SECONDS: '60',
      ...(await storeEnv()),
    });
    try {
      const token = await freshUser();
      const alice = client(api, token);
      for (let n = 0; n < 3; n++) expect((await alice.create({ n })).status).toBe(201);
      const limited = await alice.create({ n: 3 });
      expect(limited.status).toBe(429);
      // One write comes back every 20 s; the time the three writes took already counts.
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(15);
      expect(retryAfter).toBeLessThanOrEqual(20);
      expect(limited.body).toEqual({
        error: 'rate_limited',
        error_description: `Too many writes: at most 3 per 60 s per user; retry after ${retryAfter} s`,
      });
      expect((await write(api, token, { n: 3 })).status).toBe(429);
      expect((await alice.list()).status).toBe(200);
      const bob = client(api, await freshUser());
      expect((await bob.create({ n: 0 })).status).toBe(201);
    } finally {
      await api.close();
    }
  });
}

describe('SQLite store', () => {
  itemSuite(async () => ({}));
  limitSuite(async () => ({}));

  test('a database of the first schema is migrated: its items get an ETag and can be changed', async () => {
    const dataDir = tempDir();
    mkdirSync(dataDir, { recursive: true });
    const db = new DatabaseSync(join(dataDir, 'api.sqlite'));
    db.exec(`CREATE TABLE items (
       id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, owner_id TEXT NOT NULL,
       data TEXT NOT NULL, created_at TEXT NOT NULL);
     CREATE INDEX items_owner ON items (tenant_id, owner_id, id DESC);
     PRAGMA user_version = 1;`);
    const oid = randomUUID();
    db.prepare('INSERT INTO items (tenant_id, owner_id, data, created_at) VALUES (?, ?, ?, ?)').run(
      DEFAULTS.tenantId,
      oid,
      JSON.stringify({ old: true }),
      '2026-01-02T03:04:05.000Z',
    );
    db.close();
    const api = await startTestApi(fake, { DATA_DIR: dataDir, ITEMS_QUOTA_COUNT: '1' });
    try {
      await expectMigrated(api, oid);
    } finally {
      await api.close();
    }
  });
});

async function expectMigrated(api: TestApi, oid: string) {
  const alice = client(api, await freshUser(oid));
  const [old] = (await alice.list()).body.items as Item[];
  expect(old).toMatchObject({
    data: { old: true },
    createdAt: '2026-01-02T03:04:05.000Z',
    updatedAt: '2026-01-02T03:04:05.000Z',
    etag: '"1"',
  });
  // The old item counts against the quota (ITEMS_QUOTA_COUNT=1).
  expect((await alice.create({ n: 1 })).status).toBe(409);
  const changed = await alice.patch((old as Item).id, { new: 1 }, { 'if-match': '"1"' });
  expect(itemOf(changed)).toMatchObject({ data: { old: true, new: 1 }, etag: '"2"' });
}

describeWith([postgres], 'PostgreSQL store', () => {
  const schema = `api_test_${randomUUID().replaceAll('-', '')}`;
  const inSchema = (name: string) => {
    const url = new URL(databaseUrl ?? 'postgres://unset');
    url.searchParams.set('options', `-c search_path=${name}`);
    return url.toString();
  };
  const legacy = `${schema}_v1`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  beforeAll(async () => {
    await admin(`CREATE SCHEMA ${schema}; CREATE SCHEMA ${legacy}`);
  });
  afterAll(async () => {
    await admin(`DROP SCHEMA ${schema} CASCADE; DROP SCHEMA ${legacy} CASCADE`);
  });
  itemSuite(async () => ({ DATABASE_URL: inSchema(schema) }));
  limitSuite(async () => ({ DATABASE_URL: inSchema(schema) }));

  test('a database of the first schema is migrated: its items get an ETag and can be changed', async () => {
    const oid = randomUUID();
    const c = new pg.Client({ connectionString: inSchema(legacy) });
    await c.connect();
    try {
      await c.query(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE TABLE items (id BIGSERIAL PRIMARY KEY, tenant_id TEXT NOT NULL, owner_id TEXT NOT NULL,
          data JSON NOT NULL, created_at TIMESTAMPTZ NOT NULL);
        CREATE INDEX items_owner ON items (tenant_id, owner_id, id DESC);
        INSERT INTO schema_migrations (version) VALUES (1);`);
      await c.query(
        'INSERT INTO items (tenant_id, owner_id, data, created_at) VALUES ($1, $2, $3, $4)',
        [DEFAULTS.tenantId, oid, JSON.stringify({ old: true }), '2026-01-02T03:04:05.000Z'],
      );
    } finally {
      await c.end();
    }
    const api = await startTestApi(fake, {
      DATABASE_URL: inSchema(legacy),
      ITEMS_QUOTA_COUNT: '1',
    });
    try {
      await expectMigrated(api, oid);
    } finally {
      await api.close();
    }
  });
});
