// The data routes on both stores: SQLite under DATA_DIR, and PostgreSQL when TEST_DATABASE_URL is set.
import { afterAll, beforeAll, describe, expect, test, jest } from '@jest/globals';

jest.setTimeout(30_000);
import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import pg from 'pg';
import { describeWith, databaseUrl, postgres } from '../../../tests/support/prerequisites.ts';
import {
  ALICE,
  BOB,
  DEFAULTS,
  FakeEntra,
  call,
  read,
  startTestApi,
  write,
  type TestApi,
} from './support/api.ts';

let fake: FakeEntra;
beforeAll(async () => {
  fake = await FakeEntra.start();
});
afterAll(async () => {
  await fake?.close();
});

function dataSuite(storeEnv: () => Promise<Record<string, string>>, expectedKind: string) {
  let api: TestApi;
  const alice = () => fake.mintAccessToken({ user: ALICE, scopes: ['data.read', 'data.write'] });
  const bob = () => fake.mintAccessToken({ user: BOB, scopes: ['data.read'] });

  beforeAll(async () => {
    api = await startTestApi(fake, { MAX_BODY_BYTES: '1024', ...(await storeEnv()) });
  });
  afterAll(async () => {
    await api?.close();
  });

  test(`the store in use is ${expectedKind}`, async () => {
    const ready = await call(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ store: `ok (${expectedKind})` });
  });

  test('a write is stored for its owner and read back, newest first', async () => {
    const token = await alice();
    const marker = randomUUID();
    const first = await write(api, token, { marker, n: 1, nested: { list: [1, 'two', null] } });
    expect(first.status).toBe(201);
    expect(first.body.result).toBe('You wrote protected data!');
    expect(first.body['current-user-scopes']).toEqual(['data.read', 'data.write']);
    const item = first.body.item as {
      id: number;
      owner: { tid: string; oid: string };
      data: unknown;
      createdAt: string;
    };
    expect(item.owner).toEqual({ tid: DEFAULTS.tenantId, oid: DEFAULTS.users.alice.oid });
    expect(item.data).toEqual({ marker, n: 1, nested: { list: [1, 'two', null] } });
    expect(new Date(item.createdAt).toISOString()).toBe(item.createdAt);
    await write(api, token, { marker, n: 2 });
    const r = await read(api, token);
    expect(r.status).toBe(200);
    const mine = (r.body.data as { data: { marker?: string; n: number } }[]).filter(
      (i) => i.data.marker === marker,
    );
    expect(mine.map((i) => i.data.n)).toEqual([2, 1]);
  });

  test("one user never sees another's items; an app with Data.Read.All sees all", async () => {
    const marker = randomUUID();
    expect((await write(api, await alice(), { marker, who: 'alice' })).status).toBe(201);
    const bobView = await read(api, await bob());
    expect(bobView.status).toBe(200);
    const bobItems = bobView.body.data as { owner: { oid: string }; data: { marker?: string } }[];
    expect(bobItems.some((i) => i.data.marker === marker)).toBe(false);
    expect(bobItems.every((i) => i.owner.oid === DEFAULTS.users.bob.oid)).toBe(true);
    const appView = await read(
      api,
      await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'] }),
    );
    expect(
      (appView.body.data as { data: { marker?: string } }[]).some((i) => i.data.marker === marker),
    ).toBe(true);
  });

  test('same oid in another tenant is another owner', async () => {
    const other = '11111111-2222-4333-8444-555555555555';
    const multi = await startTestApi(fake, { ALLOWED_TENANTS: other, ...(await storeEnv()) });
    try {
      const marker = randomUUID();
      await write(multi, await alice(), { marker });
      const foreign = await fake.mintAccessToken({
        user: ALICE,
        scopes: ['data.read'],
        tenant: other,
      });
      const r = await read(multi, foreign);
      expect(r.status).toBe(200);
      expect(
        (r.body.data as { data: { marker?: string } }[]).some((i) => i.data.marker === marker),
      ).toBe(false);
    } finally {
      await multi.close();
    }
  });

  test("an app with Data.Read.All reads all items of its own tenant, never another tenant's", async () => {
    const other = '11111111-2222-4333-8444-555555555555';
    const multi = await startTestApi(fake, { ALLOWED_TENANTS: other, ...(await storeEnv()) });
    try {
      const marker = randomUUID();
      expect((await write(multi, await alice(), { marker })).status).toBe(201);
      const has = (r: { body: Record<string, unknown> }) =>
        (r.body.data as { data: { marker?: string } }[]).some((i) => i.data.marker === marker);
      const home = await read(
        multi,
        await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'] }),
      );
      expect(home.status).toBe(200);
      expect(has(home)).toBe(true);
      const foreign = await read(
        multi,
        await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'], tenant: other }),
      );
      expect(foreign.status).toBe(200);
      expect(has(foreign)).toBe(false);
      expect(
        (foreign.body.data as { owner: { tid: string } }[]).every((i) => i.owner.tid === other),
      ).toBe(true);
    } finally {
      await multi.close();
    }
  });

  test('body limits: 413 over MAX_BODY_BYTES (declared or streamed), 400 on malformed JSON, 415 on other types', async () => {
    const token = await alice();
    const big = await write(api, token, { pad: 'x'.repeat(2000) });
    expect(big.status).toBe(413);
    expect(big.body).toEqual({
      error: 'request_too_large',
      error_description: 'The request body is larger than 1024 bytes',
    });
    const chunked = await call(`${api.url}/data/write`, {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(`{"pad":"${'y'.repeat(3000)}"}`));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    for (const body of ['{"a":', 'not json', '[1,2', '"just a string"']) {
      const r = await write(api, token, body);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_request');
    }
    const array = await write(api, token, [1, 2]);
    expect(array.status).toBe(400);
    expect(array.body.error_description).toBe('The request body must be a JSON object');
    const text = await write(api, token, 'hello', { headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
  });

  test('deeply nested JSON is refused with 400 and cannot break later reads', async () => {
    // Within the default 16 KB limit JSON.parse accepts thousands of levels that JSON.stringify
    // (storing, or answering a read) cannot handle: one such item would break every read of it.
    const roomy = await startTestApi(fake, { ...(await storeEnv()) });
    try {
      const token = await alice();
      for (const depth of [100, 3000, 4400]) {
        const r = await write(roomy, token, `{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`);
        expect(r.status).toBe(400);
        expect(r.body).toEqual({
          error: 'invalid_request',
          error_description: 'The request body is nested deeper than 64 levels',
        });
      }
      expect((await read(roomy, token)).status).toBe(200);
      expect(
        (await read(roomy, await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'] })))
          .status,
      ).toBe(200);
      expect((await write(roomy, token, { nested: { a: [[{ b: 1 }]] } })).status).toBe(201);
    } finally {
      await roomy.close();
    }
  });

  test('an unauthenticated oversized body gets 401, not 413: credentials first', async () => {
    const r = await write(api, undefined, { pad: 'x'.repeat(5000) });
    expect(r.status).toBe(401);
  });
}

describe('SQLite store', () => {
  dataSuite(async () => ({}), 'sqlite');
});

describeWith([postgres], 'PostgreSQL store', () => {
  // A schema of its own per run: the suite starts from an empty database and leaves no tables behind.
  // (describe.skip still runs this body, so nothing here may need the database.)
  const schema = `api_test_${randomUUID().replaceAll('-', '')}`;
  const url = new URL(databaseUrl ?? 'postgres://unset');
  url.searchParams.set('options', `-c search_path=${schema}`);
  beforeAll(async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.end();
  });
  afterAll(async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.end();
  });
  dataSuite(async () => ({ DATABASE_URL: url.toString() }), 'postgres');
  const alice = () => fake.mintAccessToken({ user: ALICE, scopes: ['data.read', 'data.write'] });

  test('database outage: 503 with Retry-After and /readyz not ready; recovers when it returns', async () => {
    // A TCP relay between the API and PostgreSQL that the test can cut.
    const target = new URL(databaseUrl as string);
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as AddressInfo).port;
    const viaRelay = new URL(url);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(port);
    const relayed = await startTestApi(fake, { DATABASE_URL: viaRelay.toString() });
    try {
      const token = await alice();
      expect((await write(relayed, token, { before: 'outage' })).status).toBe(201);
      await new Promise<void>((r) => {
        relay.close(() => r());
        for (const s of sockets) s.destroy();
      });
      const r = await read(relayed, token);
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('5');
      expect(r.body).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'The data store cannot be reached; try again later',
      });
      const ready = await call(`${relayed.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(String((ready.body.checks as Record<string, string>).store)).toMatch(/^unavailable/);
      await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
      expect((await read(relayed, token)).status).toBe(200);
    } finally {
      await relayed.close();
      relay.close();
      for (const s of sockets) s.destroy();
    }
  });

  test('migrations run once, also when replicas start together', async () => {
    const starts = await Promise.all(
      [0, 1, 2].map(() => startTestApi(fake, { DATABASE_URL: url.toString() })),
    );
    await Promise.all(starts.map((s) => s.close()));
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const { rows } = await client.query('SELECT version FROM schema_migrations ORDER BY version');
    await client.end();
    expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
  });
});
