// Issue 13, web app side: each finding of the attack run, reproduced against the real app (real
// MSAL, the fake issuer in-process) and shown fixed.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import { DEFAULTS, FakeEntra } from '@koa-entra/fake-entra';
import { loadConfig } from '../src/config.ts';
import { startWebApp } from '../src/server.ts';
import { MemoryStore } from '../src/store/store.ts';
import {
  Agent,
  finishSignIn,
  signIn,
  startSignIn,
  startTestApp,
  type TestApp,
} from './support/agent.ts';

const { alice } = DEFAULTS.users;

let fake: FakeEntra;
const apps: TestApp[] = [];
const stores: MemoryStore[] = [];

beforeAll(async () => {
  fake = await FakeEntra.start();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
  fake.reset();
});

afterAll(async () => {
  await fake?.close();
});

async function app(
  env: Record<string, string> = {},
): Promise<{ app: TestApp; store: MemoryStore }> {
  const store = new MemoryStore();
  stores.push(store);
  const started = await startTestApp({ fake }, env, store);
  apps.push(started);
  return { app: started, store };
}

describe('W1: anonymous sign-in starts cost the server nothing to keep', () => {
  test('50 anonymous GET /auth/signin leave no store entry and no session cookie', async () => {
    const { app: web, store } = await app({ SIGN_IN_LIMIT_PER_MINUTE: '0' });
    for (let i = 0; i < 50; i++) {
      const answer = await new Agent(web.base).get('/auth/signin?returnTo=%2Fread');
      expect(answer.status).toBe(302);
      expect(answer.setCookies.some((c) => c.startsWith('webapp.sid='))).toBe(false);
    }
    expect(store.size).toBe(0);
  }, 30_000);

  test('sign-in starts are limited per client address: 429 with Retry-After', async () => {
    const { app: web } = await app({ SIGN_IN_LIMIT_PER_MINUTE: '3' });
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await new Agent(web.base).get('/auth/signin');
      statuses.push(last.status);
    }
    expect(statuses).toEqual([302, 302, 302, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(last!.text).toContain('Too many sign-in attempts');
  });

  test('the memory store is bounded: the least recently written entries go first', async () => {
    const store = new MemoryStore({ maxBytes: 100_000 });
    stores.push(store);
    for (let i = 0; i < 1000; i++) await store.set(`sess:${i}`, 'x'.repeat(500), 3600);
    expect(store.bytes).toBeLessThanOrEqual(100_000);
    expect(store.size).toBeLessThan(1000);
    expect(await store.get('sess:0')).toBeUndefined();
    expect(await store.get('sess:999')).toBe('x'.repeat(500));
  });
});

describe('W10: several sign-ins in progress in one browser', () => {
  test('a second (e.g. cross-site) sign-in start does not break the first one', async () => {
    const { app: web } = await app();
    const agent = new Agent(web.base);
    const first = await startSignIn(agent, '/read');
    const second = await startSignIn(agent, '/');
    const done = await finishSignIn(agent, fake, first, alice.upn);
    expect(done.status).toBe(303);
    expect(done.location).toBe('/read');
    // The other one is still pending and completes too.
    const again = await finishSignIn(agent, fake, second, alice.upn);
    expect(again.status).toBe(303);
    expect(again.location).toBe('/');
  });
});

describe('W6: returnTo never leads back into /auth/, whatever the case or encoding', () => {
  test.each(['/AUTH/signin', '/Auth/Redirect?code=x', '/%61uth/signin', '/auth'])(
    'returnTo=%s returns to /',
    async (returnTo) => {
      const { app: web } = await app();
      const answer = await signIn(new Agent(web.base), fake, alice.upn, returnTo);
      expect(answer.status).toBe(303);
      expect(answer.location).toBe('/');
    },
  );
});

describe('W2: a body that cannot be decoded is the client’s fault', () => {
  const post = (web: TestApp, encoding: string, body: Uint8Array) =>
    fetch(`${web.base}/write`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-encoding': encoding,
      },
      body,
    });

  test.each([
    ['gzip', 400],
    ['deflate', 400],
    ['br', 400],
    ['x-unknown', 415],
  ])('corrupt or unknown %s → %d, logged at warn without a stack', async (encoding, status) => {
    const { app: web } = await app();
    const answer = await post(web, encoding, new TextEncoder().encode('not compressed at all'));
    expect(answer.status).toBe(status);
    expect(await answer.text()).toContain(status === 415 ? 'Unsupported' : 'Bad request');
    const lines = web.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const warn = lines.find((l) => l.msg === 'request body could not be decoded');
    expect(warn).toMatchObject({ level: 'warn', status });
    expect(web.logs.text).not.toContain('"stack"');
    expect(lines.some((l) => l.level === 'error')).toBe(false);
  });

  test('a valid gzip body is read (then refused for its missing form token, not its encoding)', async () => {
    const { app: web } = await app();
    const answer = await post(web, 'gzip', gzipSync('text=hello'));
    expect(answer.status).toBe(403);
  });
});

describe('W5: slow requests are bounded as in the API', () => {
  test('the listening server closes slow headers after 10 s and slow bodies after 30 s', async () => {
    const running = await startWebApp(
      loadConfig({
        PORT: '0',
        METRICS_PORT: '0',
        HOST: '127.0.0.1',
        TENANT_ID: DEFAULTS.tenantId,
        CLIENT_ID: DEFAULTS.webClientId,
        CLIENT_SECRET: DEFAULTS.webClientSecret,
        AUTHORITY: fake.baseUrl,
        API_SCOPES: DEFAULTS.apiScopes.join(' '),
        SESSION_KEYS: 'k'.repeat(32),
        LOG_LEVEL: 'silent',
      }),
    );
    try {
      // Node's defaults would be 60 s and 300 s (the attack run held a body 326 s).
      expect(running.server.headersTimeout).toBe(10_000);
      expect(running.server.requestTimeout).toBe(30_000);
    } finally {
      await running.close();
    }
  });
});
