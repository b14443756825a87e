// The web app against the real MSAL library, with Entra, Graph and the API imitated by nock.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { MemoryStore } from '../src/store/store.ts';
import { accountsInSerializedCache, tokenCacheKey } from '../src/auth/msal-token-cache.ts';
import { Agent, SESSION_KEY, signIn, startTestApp, type TestApp } from './support/agent.ts';
import {
  AUTHORITY,
  NockEntra,
  TENANT,
  USERS,
  removeNock,
  resetNock,
} from './support/nock-entra.ts';

const homeId = (oid: string) => `${oid}.${TENANT}`;

let entra: NockEntra;
let app: TestApp;
let store: MemoryStore;

beforeEach(async () => {
  entra = new NockEntra().install();
  store = new MemoryStore();
  app = await startTestApp({}, store);
});

afterEach(async () => {
  await app.close();
  await store.close();
  resetNock();
});

afterAll(() => {
  removeNock();
});

describe('sign-in', () => {
  test('sends the browser to the issuer with PKCE S256, state, nonce, User.Read and API consent', async () => {
    const agent = new Agent(app.base);
    const answer = await agent.get('/auth/signin?returnTo=%2Fread');
    expect(answer.status).toBe(302);
    const url = new URL(answer.location);
    expect(`${url.origin}${url.pathname}`).toBe(`${AUTHORITY}/${TENANT}/oauth2/v2.0/authorize`);
    const p = url.searchParams;
    expect(p.get('response_type')).toBe('code');
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('redirect_uri')).toBe(`${app.base}/auth/redirect`);
    expect(p.get('scope')?.split(' ')).toEqual(
      expect.arrayContaining([
        'User.Read',
        'openid',
        'offline_access',
        'api://c750c37c-6c67-4211-a9e2-6f035a897cfa/data.write',
      ]),
    );
    // The session cookie carries an id only; httpOnly, SameSite=Lax, not Secure over http.
    const cookie = answer.setCookies.find((c) => c.startsWith('webapp.sid='));
    expect(cookie).toMatch(/httponly/i);
    expect(cookie).toMatch(/samesite=lax/i);
    expect(cookie).not.toMatch(/secure/i);
    expect(cookie).not.toContain(p.get('state'));
  });

  test('redeems the code with the PKCE verifier, regenerates the session id and returns to the page asked for', async () => {
    const agent = new Agent(app.base);
    const start = await agent.get('/auth/signin?returnTo=%2Fread%3Fx%3D1');
    const before = agent.cookies.get('webapp.sid');
    const { code, state } = entra.authorize(start.location, USERS.alice!);
    const done = await agent.get(`/auth/redirect?code=${code}&state=${state}`);
    expect(done.status).toBe(303);
    expect(done.location).toBe('/read?x=1');
    const call = entra.tokenCalls.at(-1)!;
    expect(call.grant_type).toBe('authorization_code');
    const challenge = new URL(start.location).searchParams.get('code_challenge');
    expect(createHash('sha256').update(call.code_verifier!).digest('base64url')).toBe(challenge);
    const after = agent.cookies.get('webapp.sid');
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    // The old session id is gone from the store (no fixation).
    expect(await store.get(`sess:${before}`)).toBeUndefined();
    const home = await agent.get('/');
    expect(home.status).toBe(200);
    // Graph's display name, escaped.
    expect(home.text).toContain('Alice &lt;b&gt;Example&lt;/b&gt;');
    expect(home.text).not.toContain('<b>Example</b>');
    expect(home.text).toContain('alice@contoso.test');
  });

  test('refuses an answer whose state does not match, without redeeming the code', async () => {
    const agent = new Agent(app.base);
    const start = await agent.get('/auth/signin');
    const { code } = entra.authorize(start.location, USERS.alice!);
    const answer = await agent.get(`/auth/redirect?code=${code}&state=forged-state`);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('state mismatch');
    expect(entra.tokenCalls).toHaveLength(0);
    expect((await agent.get('/read')).status).toBe(302);
  });

  test('refuses an answer arriving in a browser that did not start the sign-in (login CSRF)', async () => {
    const victim = new Agent(app.base);
    const attacker = new Agent(app.base);
    const start = await attacker.get('/auth/signin');
    const { code, state } = entra.authorize(start.location, USERS.bob!);
    const answer = await victim.get(`/auth/redirect?code=${code}&state=${state}`);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('does not belong to a sign-in started in this browser');
    expect(entra.tokenCalls).toHaveLength(0);
  });

  test('refuses a replayed answer (the pending sign-in is used once)', async () => {
    const agent = new Agent(app.base);
    const start = await agent.get('/auth/signin');
    const { code, state } = entra.authorize(start.location, USERS.alice!);
    const preCookies = new Map(agent.cookies);
    expect((await agent.get(`/auth/redirect?code=${code}&state=${state}`)).status).toBe(303);
    const replay = new Agent(app.base);
    for (const [k, v] of preCookies) replay.cookies.set(k, v);
    expect((await replay.get(`/auth/redirect?code=${code}&state=${state}`)).status).toBe(400);
  });

  test('refuses an ID token whose nonce is not the one sent', async () => {
    entra.nonceOverride = 'someone-elses-nonce';
    const agent = new Agent(app.base);
    const answer = await signIn(agent, entra, USERS.alice!);
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/nonce/i);
    expect((await agent.get('/read')).status).toBe(302);
  });

  test('shows the issuer error readably (escaped)', async () => {
    const agent = new Agent(app.base);
    const start = await agent.get('/auth/signin');
    const state = new URL(start.location).searchParams.get('state')!;
    const answer = await agent.get(
      `/auth/redirect?error=access_denied&error_description=${encodeURIComponent('AADSTS65004: <script>x</script> declined')}&state=${state}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('access_denied');
    expect(answer.text).toContain('&lt;script&gt;');
    expect(answer.text).not.toContain('<script>');
  });

  test.each([
    ['https://evil.example/phish', '/'],
    ['//evil.example/phish', '/'],
    ['/\\evil.example', '/'],
    ['/%2F%2Fevil.example', '/'],
    // Dot segments that normalise into a protocol-relative `//host`.
    ['/.//evil.example', '/'],
    ['/a/..//evil.example', '/'],
    ['/%2e//evil.example', '/'],
    ['/auth/signout', '/'],
    ['/read?page=2', '/read?page=2'],
  ])('return-to %s becomes %s', async (returnTo, expected) => {
    const agent = new Agent(app.base);
    const answer = await signIn(agent, entra, USERS.alice!, returnTo);
    expect(answer.location).toBe(expected);
  });
});

describe('tokens per user and per resource', () => {
  test('each user has a cache partition holding only their account; API calls carry their own token', async () => {
    const alice = new Agent(app.base);
    const bob = new Agent(app.base);
    await signIn(alice, entra, USERS.alice!);
    await signIn(bob, entra, USERS.bob!);
    const aliceCache = await store.get(tokenCacheKey(homeId(USERS.alice!.oid)));
    const bobCache = await store.get(tokenCacheKey(homeId(USERS.bob!.oid)));
    expect(accountsInSerializedCache(aliceCache!)).toEqual([homeId(USERS.alice!.oid)]);
    expect(accountsInSerializedCache(bobCache!)).toEqual([homeId(USERS.bob!.oid)]);
    // Sessions hold no tokens.
    const sessionIds = [alice, bob].map((a) => a.cookies.get('webapp.sid'));
    for (const id of sessionIds) expect(await store.get(`sess:${id}`)).not.toMatch(/at-|rt-/);

    await Promise.all([alice.get('/read'), bob.get('/read'), alice.get('/'), bob.get('/')]);
    const byUser = entra.apiCalls.map((c) => entra.tokens.get(c.token)?.user.upn);
    expect(byUser.sort()).toEqual(['alice@contoso.test', 'bob@contoso.test']);
    // Graph and the API are separate resources: separate tokens.
    const graphToken = entra.graphCalls.find((t) => entra.tokens.get(t)?.user === USERS.alice);
    const apiToken = entra.apiCalls.find(
      (c) => entra.tokens.get(c.token)?.user === USERS.alice,
    )!.token;
    expect(graphToken).toBeDefined();
    expect(apiToken).not.toBe(graphToken);
    expect(entra.tokens.get(apiToken)!.scopes).toContain(
      'api://c750c37c-6c67-4211-a9e2-6f035a897cfa/data.read',
    );
  });

  test('concurrent refreshes for different users never mix their tokens', async () => {
    entra.accessTokenLifetime = 1; // every page refreshes
    const alice = new Agent(app.base);
    const bob = new Agent(app.base);
    await signIn(alice, entra, USERS.alice!);
    await signIn(bob, entra, USERS.bob!);
    const pages = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        (i % 2 ? bob : alice).get('/').then((a) => ({ who: i % 2 ? 'Bob' : 'Alice', a })),
      ),
    );
    for (const { who, a } of pages) {
      expect(a.status).toBe(200);
      expect(a.text).toContain(`Hello, ${who}`);
    }
  });

  test('a warm cache serves the API token without the token endpoint', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, entra, USERS.alice!);
    await agent.get('/read');
    const calls = entra.tokenCalls.length;
    for (let i = 0; i < 20; i++) expect((await agent.get('/read')).status).toBe(200);
    expect(entra.tokenCalls.length).toBe(calls);
  });

  test('an expired access token is refreshed silently with the refresh token', async () => {
    entra.accessTokenLifetime = 1; // inside MSAL's renewal margin: every cached token counts as expired
    const agent = new Agent(app.base);
    await signIn(agent, entra, USERS.alice!);
    expect((await agent.get('/read')).status).toBe(200);
    expect((await agent.get('/read')).status).toBe(200);
    const refreshes = entra.tokenCalls.filter((c) => c.grant_type === 'refresh_token');
    expect(refreshes.length).toBeGreaterThanOrEqual(2);
    const [first, second] = entra.apiCalls;
    expect(first!.token).not.toBe(second!.token);
  });

  test('interaction required on refresh sends the user through sign-in and back to the page', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, entra, USERS.alice!);
    entra.refreshError = { error: 'invalid_grant', suberror: 'bad_token' };
    entra.accessTokenLifetime = 1;
    const answer = await agent.get('/read?page=1');
    expect(answer.status).toBe(303);
    expect(answer.location).toBe('/auth/signin?returnTo=%2Fread%3Fpage%3D1');
    entra.refreshError = undefined;
    entra.accessTokenLifetime = 3600;
    const start = await agent.get(answer.location);
    // Signed in again as the same user: MSAL sends a login hint.
    expect(new URL(start.location).searchParams.get('login_hint')).toBe('alice@contoso.test');
    const { code, state } = entra.authorize(start.location, USERS.alice!);
    const back = await agent.get(`/auth/redirect?code=${code}&state=${state}`);
    expect(back.location).toBe('/read?page=1');
    expect((await agent.get('/read?page=1')).status).toBe(200);
  });

  test('when signing in again does not help, the page says why instead of looping', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, entra, USERS.alice!);
    entra.refreshError = { error: 'invalid_grant', suberror: 'consent_required' };
    const first = await agent.get('/read');
    expect(first.status).toBe(303); // one trip through sign-in...
    const again = await signIn(agent, entra, USERS.alice!, '/read');
    expect(again.location).toBe('/read');
    const second = await agent.get('/read');
    expect(second.status).toBe(403); // ...then an explanation, not a loop
    expect(second.text).toContain('Access could not be granted');
    expect(second.text).toContain('consent_required');
  });
});

describe('pages and errors', () => {
  let agent: Agent;
  beforeEach(async () => {
    agent = new Agent(app.base);
    await signIn(agent, entra, USERS.alice!);
  });

  test('write with a form token, then the item is on the read page', async () => {
    const form = await agent.get('/write');
    const token = Agent.formToken(form.text, '/write');
    // What a browser sends for a same-origin form post.
    const answer = await agent.post(
      '/write',
      { _csrf: token, text: 'hello <i>world</i>' },
      { origin: app.base, 'sec-fetch-site': 'same-origin' },
    );
    expect(answer.status).toBe(303);
    expect(answer.location).toBe('/read');
    expect(entra.apiCalls.at(-1)!.body).toEqual({ text: 'hello <i>world</i>' });
    const read = await agent.get('/read');
    expect(read.text).toContain('hello &lt;i&gt;world&lt;/i&gt;');
    expect(read.text).toContain('data.write');
  });

  test('a POST without a token, with a wrong one, replayed, or from another site is refused with 403', async () => {
    const form = await agent.get('/write');
    const token = Agent.formToken(form.text, '/write');
    expect((await agent.post('/write', { text: 'x' })).status).toBe(403);
    expect((await agent.post('/write', { _csrf: 'forged', text: 'x' })).status).toBe(403);
    expect(
      (await agent.post('/write', { _csrf: token, text: 'x' }, { origin: 'https://evil.example' }))
        .status,
    ).toBe(403);
    expect(
      (await agent.post('/write', { _csrf: token, text: 'x' }, { 'sec-fetch-site': 'cross-site' }))
        .status,
    ).toBe(403);
    expect((await agent.post('/write', { _csrf: token, text: 'once' })).status).toBe(303);
    const replay = await agent.post('/write', { _csrf: token, text: 'twice' });
    expect(replay.status).toBe(403);
    expect(replay.text).toContain('already submitted');
    expect(entra.apiCalls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  test('API 403 insufficient_scope names the missing scope', async () => {
    entra.apiBehaviour = 'insufficient_scope';
    const form = await agent.get('/write');
    const answer = await agent.post('/write', {
      _csrf: Agent.formToken(form.text, '/write'),
      text: 'x',
    });
    expect(answer.status).toBe(403);
    expect(answer.text).toContain('Permission missing');
    expect(answer.text).toContain('data.write');
  });

  test('API 5xx is a 502 page and the user stays signed in', async () => {
    entra.apiBehaviour = 'error500';
    const answer = await agent.get('/read');
    expect(answer.status).toBe(502);
    expect(answer.text).toContain('The API is not available');
    expect(answer.text).toContain('still signed in');
    expect((await agent.get('/')).status).toBe(200);
  });

  test('Graph 5xx is a 502 page', async () => {
    entra.graphBehaviour = 'error503';
    const answer = await agent.get('/');
    expect(answer.status).toBe(502);
    expect(answer.text).toContain('Microsoft Graph is not available');
  });

  test('sign-out clears the session and the token cache and goes to the end-session endpoint', async () => {
    const page = await agent.get('/');
    const token = Agent.formToken(page.text, '/auth/signout');
    const sid = agent.cookies.get('webapp.sid');
    expect(await store.get(tokenCacheKey(homeId(USERS.alice!.oid)))).toBeDefined();
    const answer = await agent.post('/auth/signout', { _csrf: token });
    expect(answer.status).toBe(303);
    const url = new URL(answer.location);
    expect(`${url.origin}${url.pathname}`).toBe(`${AUTHORITY}/${TENANT}/oauth2/v2.0/logout`);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(`${app.base}/`);
    expect(await store.get(tokenCacheKey(homeId(USERS.alice!.oid)))).toBeUndefined();
    expect(await store.get(`sess:${sid}`)).toBeUndefined();
    const read = await agent.get('/read');
    expect(read.status).toBe(302);
    expect(read.location).toBe('/auth/signin?returnTo=%2Fread');
    const home = await agent.get('/');
    expect(home.text).toContain('Sign in with Microsoft');
  });

  test('security headers: CSP without script, nosniff, no-store, frame-ancestors none', async () => {
    const page = await agent.get('/');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain(`form-action 'self' ${AUTHORITY}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    // Not no-referrer: with it, browsers send `Origin: null` on the app's own form posts.
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.text).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
    const css = await agent.get('/static/app.css');
    expect(css.headers.get('content-type')).toContain('text/css');
  });

  test('logs carry request ids but no cookies, codes or tokens', async () => {
    const start = await agent.get('/auth/signin');
    const { code, state } = entra.authorize(start.location, USERS.alice!);
    await agent.get(`/auth/redirect?code=${code}&state=${state}`);
    await agent.get('/read');
    const logs = app.logs.text;
    expect(logs).toContain('"requestId"');
    expect(logs).not.toContain(code);
    expect(logs).not.toContain(state);
    for (const [, value] of agent.cookies) expect(logs).not.toContain(value);
    for (const token of entra.tokens.keys()) expect(logs).not.toContain(token);
    expect(logs).not.toContain(SESSION_KEY);
  });

  test('a store failure is logged without the tokens the store was asked to keep', async () => {
    const set = store.set.bind(store);
    store.set = async (key, value, ttl) => {
      if (!key.startsWith('msal:')) return set(key, value, ttl);
      // What ioredis rejects with when Redis refuses a command (OOM, READONLY) or the connection
      // drops under it: the error carries the command and its arguments.
      throw Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), {
        command: { name: 'set', args: [key, value, 'EX', String(ttl)] },
      });
    };
    const answer = await agent.get('/read');
    expect(answer.status).toBe(500);
    const logs = app.logs.text;
    expect(logs).toContain('OOM command not allowed');
    const refreshTokens = entra.tokenCalls.map((c) => c.refresh_token).filter(Boolean);
    for (const token of [...entra.tokens.keys(), ...refreshTokens])
      expect(logs).not.toContain(token);
    expect(logs).not.toMatch(/"(at|rt)-[0-9a-f]{32}/);
  });
});

describe('operations', () => {
  test('healthz, readyz and metrics', async () => {
    const agent = new Agent(app.base);
    expect((await agent.get('/healthz')).text).toBe('{"status":"ok"}');
    const ready = await agent.get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready', store: 'memory' });
    await signIn(agent, entra, USERS.alice!);
    await agent.get('/read');
    const metrics = await agent.get('/metrics');
    expect(metrics.text).toMatch(
      /client_token_requests_total\{resource="api",outcome="network",service="client"\} 1/,
    );
    expect(metrics.text).toMatch(/client_sign_ins_total\{outcome="ok",service="client"\} 1/);
    expect(agent.cookies.size).toBeGreaterThan(0);
  });

  test('readyz is 503 when the store does not answer', async () => {
    store.ping = async () => {
      throw new Error('connection refused');
    };
    const answer = await new Agent(app.base).get('/readyz');
    expect(answer.status).toBe(503);
    expect(answer.text).toContain('connection refused');
  });

  test('unknown pages are a readable 404', async () => {
    const answer = await new Agent(app.base).get('/nope');
    expect(answer.status).toBe(404);
    expect(answer.text).toContain('Page not found');
  });
});

describe('session lifetime and keys', () => {
  test('rotating SESSION_KEYS (new key first, old kept) keeps users signed in; an unknown key does not', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, entra, USERS.alice!);
    const rotated = await startTestApp({ SESSION_KEYS: `${'n'.repeat(40)},${SESSION_KEY}` }, store);
    const replaced = await startTestApp({ SESSION_KEYS: 'r'.repeat(40) }, store);
    try {
      const onRotated = new Agent(rotated.base);
      const onReplaced = new Agent(replaced.base);
      for (const [k, v] of agent.cookies) {
        onRotated.cookies.set(k, v);
        onReplaced.cookies.set(k, v);
      }
      expect((await onRotated.get('/read')).status).toBe(200);
      // The rolling cookie is now signed with the new key.
      expect(onRotated.cookies.get('webapp.sid.sig')).not.toBe(agent.cookies.get('webapp.sid.sig'));
      expect((await onReplaced.get('/read')).status).toBe(302);
    } finally {
      await rotated.close();
      await replaced.close();
    }
  });

  test('idle expiry: cookie and store entry live SESSION_IDLE_TIMEOUT_SECONDS', async () => {
    const agent = new Agent(app.base);
    const answer = await signIn(agent, entra, USERS.alice!);
    const cookie = answer.setCookies.find((c) => c.startsWith('webapp.sid='))!;
    const expires = Date.parse(/expires=([^;]+)/i.exec(cookie)![1]!);
    expect(Math.abs(expires - Date.now() - 3600_000)).toBeLessThan(5000);
  });

  test('absolute expiry: a session older than SESSION_ABSOLUTE_TIMEOUT_SECONDS is signed out', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, entra, USERS.alice!);
    const key = `sess:${agent.cookies.get('webapp.sid')}`;
    const data = JSON.parse((await store.get(key))!);
    data.user.signedInAt -= 8 * 3600_000 + 1000;
    await store.set(key, JSON.stringify(data), 600);
    const answer = await agent.get('/read');
    expect(answer.status).toBe(302);
    expect(answer.location).toBe('/auth/signin?returnTo=%2Fread');
  });
});

describe('absolute expiry while signing in again', () => {
  const age = async (agent: Agent) => {
    const key = `sess:${agent.cookies.get('webapp.sid')}`;
    const data = JSON.parse((await store.get(key))!);
    data.user.signedInAt -= 8 * 3600_000 + 1000;
    await store.set(key, JSON.stringify(data), 600);
  };

  test('an expired session can start a sign-in', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, entra, USERS.alice!);
    await age(agent);
    const answer = await agent.get('/auth/signin?returnTo=%2Fread');
    expect(answer.status).toBe(302);
    expect(answer.location).toContain(`${AUTHORITY}/${TENANT}/oauth2/v2.0/authorize`);
  });

  test('a sign-in started just before the limit completes after it', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, entra, USERS.alice!);
    const start = await agent.get('/auth/signin?returnTo=%2Fread');
    await age(agent);
    const { code, state } = entra.authorize(start.location, USERS.alice!);
    const back = await agent.get(`/auth/redirect?code=${code}&state=${state}`);
    expect(back.status).toBe(303);
    expect(back.location).toBe('/read');
    expect((await agent.get('/read')).status).toBe(200);
  });
});

describe('behind a proxy', () => {
  let proxied: TestApp;
  beforeAll(async () => {
    proxied = await startTestApp({ TRUST_PROXY: 'true' });
  });
  afterAll(async () => {
    await proxied.close();
  });

  test('the cookie is Secure when the proxy says https', async () => {
    const answer = await new Agent(proxied.base).get('/auth/signin', {
      'x-forwarded-proto': 'https',
    });
    expect(answer.setCookies.find((c) => c.startsWith('webapp.sid='))).toMatch(/secure/i);
    expect(answer.headers.get('strict-transport-security')).toContain('max-age=');
  });
});

describe('unreachable API', () => {
  test('is a 502 page and the user stays signed in', async () => {
    const down = await startTestApp({ API_BASE_URL: 'http://127.0.0.1:9' }, store);
    try {
      const agent = new Agent(down.base);
      await signIn(agent, entra, USERS.alice!);
      const answer = await agent.get('/read');
      expect(answer.status).toBe(502);
      expect(answer.text).toContain('could not be reached');
      expect((await agent.get('/')).status).toBe(200);
    } finally {
      await down.close();
    }
  });
});
