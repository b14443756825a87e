// The real process: durable writes across kill -9, graceful shutdown, startup config errors.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { ALICE, FakeEntra, apiEnv, call, read, tempDir, write } from './support/api.ts';
import { runApi, startApiProcess, type ApiProcess } from './support/process.ts';

jest.setTimeout(60_000);

let fake: FakeEntra;
const alive: ApiProcess[] = [];
beforeAll(async () => {
  fake = await FakeEntra.start();
});
afterAll(async () => {
  for (const p of alive) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await fake?.close();
});

async function start(env: Record<string, string | undefined>): Promise<ApiProcess> {
  const p = await startApiProcess(env);
  alive.push(p);
  return p;
}

const alice = () => fake.mintAccessToken({ user: ALICE, scopes: ['data.read', 'data.write'] });

describe('durability', () => {
  test('every acknowledged write survives kill -9', async () => {
    const env = apiEnv(fake, { DATA_DIR: tempDir() });
    const first = await start(env);
    const token = await alice();
    const marker = randomUUID();
    const sequential = [];
    for (let n = 0; n < 20; n++) sequential.push(await write(first, token, { marker, n }));
    const concurrent = await Promise.all(
      Array.from({ length: 20 }, (_, i) => write(first, token, { marker, n: 20 + i })),
    );
    const acknowledged = [...sequential, ...concurrent].filter((r) => r.status === 201);
    expect(acknowledged).toHaveLength(40);
    first.child.kill('SIGKILL');
    expect((await first.exit).signal).toBe('SIGKILL');

    const second = await start(env);
    const r = await read(second, token);
    const ns = (r.body.data as { data: { marker?: string; n: number } }[])
      .filter((i) => i.data.marker === marker)
      .map((i) => i.data.n);
    expect(ns.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    second.child.kill('SIGTERM');
    expect((await second.exit).code).toBe(0);
  });
});

describe('one process per SQLite file', () => {
  test('a second process on the same DATA_DIR refuses to start, naming the reason', async () => {
    const env = apiEnv(fake, { DATA_DIR: tempDir() });
    const first = await start(env);
    const second = runApi(env);
    expect((await second.exit).code).toBe(1);
    expect(second.output()).toContain('is locked by another process');
    expect((await read(first, await alice())).status).toBe(200);
    first.child.kill('SIGTERM');
    expect((await first.exit).code).toBe(0);
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM: stops accepting, finishes the request in flight, closes the store, exits 0', async () => {
    const env = apiEnv(fake, { DATA_DIR: tempDir() });
    const api = await start(env);
    const token = await alice();
    const marker = randomUUID();
    const body = JSON.stringify({ marker, note: 'in flight during shutdown' });
    const { hostname, port } = new URL(api.url);

    // A write whose body is still arriving when the signal comes.
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          hostname,
          port,
          path: '/data/write',
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(async () => {
        api.child.kill('SIGTERM');
        // New connections are refused while the old request is still open.
        const deadline = Date.now() + 5000;
        let refused = false;
        while (!refused && Date.now() < deadline) {
          refused = await fetch(`${api.url}/healthz`).then(
            () => false,
            () => true,
          );
          if (!refused) await new Promise((r) => setTimeout(r, 50));
        }
        expect(refused).toBe(true);
        req.end(body.slice(10));
      }, 300);
    });
    const signalledAt = Date.now() + 300;
    const answer = await response;
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.text).result).toBe('You wrote protected data!');
    const exit = await api.exit;
    expect(exit.code).toBe(0);
    // Well inside the 10 s budget: nothing waits for keep-alive timeouts.
    expect(exit.at - signalledAt).toBeLessThan(3000);
    expect(api.output()).toContain('"api stopped"');

    const again = await start(env);
    const r = await read(again, token);
    expect(
      (r.body.data as { data: { marker?: string } }[]).some((i) => i.data.marker === marker),
    ).toBe(true);
    again.child.kill('SIGINT');
    expect((await again.exit).code).toBe(0);
  });

  test('a request that never finishes does not keep the process past SHUTDOWN_TIMEOUT_MS', async () => {
    const api = await start(apiEnv(fake, { SHUTDOWN_TIMEOUT_MS: '1000' }));
    const token = await alice();
    const { hostname, port } = new URL(api.url);
    const req = request({
      hostname,
      port,
      path: '/data/write',
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': 1000,
      },
    });
    req.on('error', () => undefined);
    req.write('{"stuck":');
    await new Promise((r) => setTimeout(r, 300));
    const signalledAt = Date.now();
    api.child.kill('SIGTERM');
    const exit = await api.exit;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(3000);
    expect(api.output()).toContain('in-flight requests did not finish in time');
    req.destroy();
  });
});

describe('startup configuration errors', () => {
  test.each([
    ['TENANT_ID unset', { TENANT_ID: undefined }, 'TENANT_ID: is required'],
    [
      'TENANT_ID=contoso',
      { TENANT_ID: 'contoso' },
      'TENANT_ID: must be a tenant GUID, organizations or common',
    ],
    ['PORT=eighty', { PORT: 'eighty' }, 'PORT: must be a whole number'],
    [
      'AUTHORITY=http://login.example',
      { AUTHORITY: 'http://login.example' },
      'AUTHORITY: must be an absolute URL with scheme https',
    ],
    [
      'DATABASE_URL=mysql://x',
      { DATABASE_URL: 'mysql://x' },
      'DATABASE_URL: must be an absolute URL with scheme postgres or postgresql',
    ],
  ])(
    '%s stops the process with a message naming the variable',
    async (_name, overrides: Record<string, string | undefined>, message) => {
      const env = { ...apiEnv(fake), ...overrides };
      for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete env[k];
      const p = runApi(env);
      const exit = await p.exit;
      expect(exit.code).toBe(1);
      expect(p.output()).toContain(message);
    },
  );

  test('an unreachable database stops the process with the reason', async () => {
    const p = runApi(apiEnv(fake, { DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none' }));
    expect((await p.exit).code).toBe(1);
    expect(p.output()).toContain('api failed to start');
  });

  test('the process serves /healthz once started', async () => {
    const api = await start(apiEnv(fake));
    expect((await call(`${api.url}/healthz`)).body).toEqual({ status: 'ok' });
    api.child.kill('SIGTERM');
    expect((await api.exit).code).toBe(0);
  });
});
