// The web app against the real MSAL library and the real fake issuer in-process (its sign-in
// page, token endpoint and Graph stub), with a real token-verifying API. What the app sent is
// read from the issuer's recorded requests; issuer misbehaviour comes from its queued hooks.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { DEFAULTS, FakeEntra, GRAPH_APP_ID, type RecordedRequest } from '@koa-entra/fake-entra';
import { decodeJwt } from 'jose';
import { MemoryStore } from '../src/store/store.ts';
import { accountsInSerializedCache, tokenCacheKey } from '../src/auth/msal-token-cache.ts';
import {
  Agent,
  SESSION_KEY,
  finishSignIn,
  signIn,
  startSignIn,
  startTestApp,
  type TestApp,
} from './support/agent.ts';
import { TestApi } from './support/test-api.ts';

const { alice, bob } = DEFAULTS.users;
const TENANT = DEFAULTS.tenantId;
const homeId = (oid: string) => `${oid}.${TENANT}`;

let fake: FakeEntra;
let api: TestApi;
let app: TestApp;
let store: MemoryStore;

beforeAll(async () => {
  fake = await FakeEntra.start();
  api = await TestApi.start(fake);
});

beforeEach(async () => {
  store = new MemoryStore();
  app = await startTestApp({ fake, apiUrl: api.url }, {}, store);
});

afterEach(async () => {
  await app.close();
  await store.close();
  const unused = fake.pendingHooks();
  fake.reset();
  fake.setLifetimes({ accessToken: 3600 });
  api.calls.length = 0;
  // Every hook a test queued was used by the request it was meant for.
  expect(unused).toEqual([]);
});

afterAll(async () => {
  await api?.close();
  await fake?.close();
});

const tokenResponses = (): RecordedRequest[] => fake.requests({ endpoint: 'token' });

/** Every token the issuer has handed out so far (access, refresh and ID tokens). */
function issuedTokens(): string[] {
  return tokenResponses()
    .flatMap((r) => ['access_token', 'refresh_token', 'id_token'].map((k) => r.response.body?.[k]))
    .filter((t): t is string => typeof t === 'string');
}

/** The user (oid) each refresh token was issued to, from the token responses that carried it. */
function refreshTokenOwners(): Map<string, string> {
  const owners = new Map<string, string>();
  for (const r of tokenResponses()) {
    const body = r.response.body ?? {};
    if (typeof body.refresh_token === 'string' && typeof body.access_token === 'string')
      owners.set(body.refresh_token, String(decodeJwt(body.access_token).oid));
  }
  return owners;
}

describe('sign-in', () => {
  test('sends the browser to the issuer with PKCE S256, state, nonce and User.Read only (incremental consent)', async () => {
    const agent = new Agent(app.base);
    const answer = await agent.get('/auth/signin?returnTo=%2Fread');
    expect(answer.status).toBe(302);
    const url = new URL(answer.location);
    expect(`${url.origin}${url.pathname}`).toBe(
      `${fake.publicUrl}/${TENANT}/oauth2/v2.0/authorize`,
    );
    const p = url.searchParams;
    expect(p.get('client_id')).toBe(DEFAULTS.webClientId);
    expect(p.get('response_type')).toBe('code');
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('redirect_uri')).toBe(`${app.base}/auth/redirect`);
    expect(p.get('scope')?.split(' ').sort()).toEqual([
      'User.Read',
      'offline_access',
      'openid',
      'profile',
    ]);
    // Client capability CP1 (the app handles claims challenges), as MSAL sends it.
    expect(JSON.parse(p.get('claims')!)).toMatchObject({
      access_token: { xms_cc: { values: ['CP1'] } },
    });
    // Nothing server-side before sign-in (issue 13 W1): no session cookie, no store entry; the
    // pending sign-in is a cookie of its own, encrypted (no state, nonce or verifier readable).
    expect(answer.setCookies.find((c) => c.startsWith('webapp.sid='))).toBeUndefined();
    expect(store.size).toBe(0);
    const pending = answer.setCookies.find((c) => c.startsWith('webapp.sid.signin.'));
    expect(pending).toMatch(/httponly/i);
    expect(pending).toMatch(/samesite=lax/i);
    expect(pending).toMatch(/path=\/auth\//i);
    expect(pending).not.toMatch(/secure/i);
    expect(pending).not.toContain(p.get('state'));
    expect(pending).not.toContain(p.get('nonce'));
  });

  test('redeems the code with the PKCE verifier, regenerates the session id and returns to the page asked for', async () => {
    const agent = new Agent(app.base);
    const start = await startSignIn(agent, '/read?x=1');
    const before = agent.cookies.get('webapp.sid'); // none yet: nothing to fixate
    // A name with markup, in the ID token (the account) and in Graph's profile.
    fake.enqueueTokenCallback({
      grantType: 'authorization_code',
      idTokenClaims: { name: 'Alice <b>Example</b>' },
    });
    fake.enqueueGraphCallback({
      user: alice.upn,
      profile: { displayName: 'Alice <b>Example</b>' },
    });
    const done = await finishSignIn(agent, fake, start, alice.upn);
    expect(done.status).toBe(303);
    expect(done.location).toBe('/read?x=1');
    const redeem = await fake.takeRequest({ endpoint: 'token' });
    expect(redeem).toMatchObject({
      clientId: DEFAULTS.webClientId,
      grantType: 'authorization_code',
      form: { client_secret: DEFAULTS.webClientSecret, redirect_uri: `${app.base}/auth/redirect` },
      response: { status: 200 },
    });
    const challenge = new URL(start.location).searchParams.get('code_challenge');
    expect(createHash('sha256').update(redeem.form.code_verifier!).digest('base64url')).toBe(
      challenge,
    );
    const after = agent.cookies.get('webapp.sid');
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    // The pending sign-in's cookie is used up.
    expect([...agent.cookies.keys()].filter((k) => k.includes('.signin.'))).toEqual([]);
    const home = await agent.get('/');
    expect(home.status).toBe(200);
    // The display name, escaped wherever it is shown.
    expect(home.text).toContain('Hello, Alice &lt;b&gt;Example&lt;/b&gt;');
    expect(home.text).toContain('<span class="muted">Alice &lt;b&gt;Example&lt;/b&gt;</span>');
    expect(home.text).not.toContain('<b>Example</b>');
    expect(home.text).toContain(alice.upn);
  });

  test('refuses an answer whose state does not match, without redeeming the code (W10 keeps others)', async () => {
    const agent = new Agent(app.base);
    const start = await startSignIn(agent);
    const back = new URL((await fake.completeSignIn(start.location, alice.upn)).url);
    expect(back.searchParams.get('code')).toBeTruthy();
    back.searchParams.set('state', 'forged-state');
    const answer = await agent.get(back.toString());
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('state mismatch');
    expect(tokenResponses()).toHaveLength(0);
    expect((await agent.get('/read')).status).toBe(302);
  });

  test('refuses an answer arriving in a browser that did not start the sign-in (login CSRF)', async () => {
    const victim = new Agent(app.base);
    const attacker = new Agent(app.base);
    const start = await startSignIn(attacker);
    const back = await fake.completeSignIn(start.location, bob.upn);
    const answer = await victim.get(back.url);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('does not belong to a sign-in started in this browser');
    expect(tokenResponses()).toHaveLength(0);
  });

  test('refuses a replayed answer (the pending sign-in is used once)', async () => {
    const agent = new Agent(app.base);
    const start = await startSignIn(agent);
    const back = await fake.completeSignIn(start.location, alice.upn);
    const preCookies = new Map(agent.cookies);
    expect((await agent.get(back.url)).status).toBe(303);
    const replay = new Agent(app.base);
    for (const [k, v] of preCookies) replay.cookies.set(k, v);
    expect((await replay.get(back.url)).status).toBe(400);
    expect(tokenResponses()).toHaveLength(1); // the code was redeemed once
  });

  test('refuses an ID token whose nonce is not the one sent', async () => {
    fake.enqueueTokenCallback({
      clientId: DEFAULTS.webClientId,
      grantType: 'authorization_code',
      idTokenClaims: { nonce: 'someone-elses-nonce' },
    });
    const agent = new Agent(app.base);
    const answer = await signIn(agent, fake, alice.upn);
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/nonce/i);
    expect(tokenResponses()).toMatchObject([{ response: { status: 200 } }]);
    expect((await agent.get('/read')).status).toBe(302);
  });

  test('shows the issuer error readably (escaped)', async () => {
    fake.enqueueError({
      endpoint: 'authorize',
      clientId: DEFAULTS.webClientId,
      error: 'temporarily_unavailable',
      code: 90033,
      description: '<script>x</script> is busy.',
    });
    const agent = new Agent(app.base);
    const answer = await signIn(agent, fake, alice.upn);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('temporarily_unavailable');
    expect(answer.text).toContain('AADSTS90033: &lt;script&gt;x&lt;/script&gt; is busy');
    expect(answer.text).not.toContain('<script>');
    expect(tokenResponses()).toHaveLength(0);
  });

  test('consent declined at sign-in (AADSTS65004) is a page saying so, not a raw error', async () => {
    fake.enqueueError({
      endpoint: 'authorize',
      clientId: DEFAULTS.webClientId,
      error: 'access_denied',
      code: 65004,
      description: 'User declined to consent to access the app.',
    });
    const answer = await signIn(new Agent(app.base), fake, alice.upn);
    expect(answer.status).toBe(403);
    expect(answer.text).toContain('Permission not granted');
    expect(answer.text).toContain('User.Read');
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
    const answer = await signIn(agent, fake, alice.upn, returnTo);
    expect(answer.location).toBe(expected);
  });
});

describe('tokens per user and per resource', () => {
  test('each user has a cache partition holding only their account; API calls carry their own token', async () => {
    const aliceAgent = new Agent(app.base);
    const bobAgent = new Agent(app.base);
    await signIn(aliceAgent, fake, alice.upn);
    await signIn(bobAgent, fake, bob.upn);
    const aliceCache = await store.get(tokenCacheKey(homeId(alice.oid)));
    const bobCache = await store.get(tokenCacheKey(homeId(bob.oid)));
    expect(accountsInSerializedCache(aliceCache!)).toEqual([homeId(alice.oid)]);
    expect(accountsInSerializedCache(bobCache!)).toEqual([homeId(bob.oid)]);
    // Sessions hold no tokens.
    const tokens = issuedTokens();
    expect(tokens.length).toBeGreaterThanOrEqual(6);
    for (const agent of [aliceAgent, bobAgent]) {
      const session = await store.get(`sess:${agent.cookies.get('webapp.sid')}`);
      for (const token of tokens) expect(session).not.toContain(token);
    }

    await Promise.all([
      aliceAgent.get('/read'),
      bobAgent.get('/read'),
      aliceAgent.get('/'),
      bobAgent.get('/'),
    ]);
    expect(api.calls.map((c) => c.claims?.preferred_username).sort()).toEqual([alice.upn, bob.upn]);
    // Graph and the API are separate resources: separate tokens, each with its own audience.
    const graphTokens = fake
      .requests({ endpoint: 'graph' })
      .map((r) => r.headers.authorization!.replace(/^Bearer /, ''));
    expect(graphTokens.map((t) => decodeJwt(t).oid).sort()).toEqual([alice.oid, bob.oid].sort());
    const aliceGraph = graphTokens.find((t) => decodeJwt(t).oid === alice.oid)!;
    const aliceApi = api.calls.find((c) => c.claims?.oid === alice.oid)!;
    expect(decodeJwt(aliceGraph).aud).toBe(GRAPH_APP_ID);
    expect(aliceApi.claims!.aud).toBe(DEFAULTS.apiClientId);
    expect(aliceApi.token).not.toBe(aliceGraph);
    expect(String(aliceApi.claims!.scp).split(' ')).toContain('data.read');
  });

  test('concurrent refreshes for different users never mix their tokens', async () => {
    // Inside MSAL's renewal margin (5 min): every cached token counts as expired, every page refreshes.
    fake.setLifetimes({ accessToken: 60 });
    const aliceAgent = new Agent(app.base);
    const bobAgent = new Agent(app.base);
    await signIn(aliceAgent, fake, alice.upn);
    await signIn(bobAgent, fake, bob.upn);
    const pages = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        (i % 2 ? bobAgent : aliceAgent)
          .get('/')
          .then((a) => ({ who: i % 2 ? 'Bob Example' : 'Alice Example', a })),
      ),
    );
    for (const { who, a } of pages) {
      expect(a.status).toBe(200);
      expect(a.text).toContain(`Hello, ${who}`);
    }
    // Each refresh redeemed a refresh token of the user it was issued to, for that user.
    const owners = refreshTokenOwners();
    const refreshes = fake.requests({ grantType: 'refresh_token' });
    expect(refreshes.length).toBeGreaterThanOrEqual(16);
    for (const r of refreshes) {
      const owner = owners.get(r.form.refresh_token!);
      expect(owner).toBeDefined();
      expect(decodeJwt(String(r.response.body!.access_token)).oid).toBe(owner);
    }
  });

  test('a warm cache serves the API token without the token endpoint', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, fake, alice.upn);
    await agent.get('/read');
    const calls = tokenResponses().length;
    for (let i = 0; i < 20; i++) expect((await agent.get('/read')).status).toBe(200);
    expect(tokenResponses().length).toBe(calls);
    expect(new Set(api.calls.map((c) => c.token)).size).toBe(1);
  });

  test('an expired access token is refreshed silently with the refresh token', async () => {
    // Inside MSAL's renewal margin: every cached token counts as expired.
    fake.setLifetimes({ accessToken: 60 });
    const agent = new Agent(app.base);
    await signIn(agent, fake, alice.upn);
    expect((await agent.get('/read')).status).toBe(200);
    expect((await agent.get('/read')).status).toBe(200);
    const owners = refreshTokenOwners();
    const refreshes = fake.requests({ grantType: 'refresh_token' });
    expect(refreshes.length).toBeGreaterThanOrEqual(2);
    for (const r of refreshes) {
      expect(r.clientId).toBe(DEFAULTS.webClientId);
      expect(owners.get(r.form.refresh_token!)).toBe(alice.oid);
      // Reading asks data.read only.
      expect(r.form.scope!.split(' ')).toContain(`${DEFAULTS.apiIdentifier}/data.read`);
      expect(r.form.scope).not.toContain('data.write');
    }
    const [first, second] = api.calls;
    expect(first!.token).not.toBe(second!.token);
  });

  test('interaction required on refresh sends the user through sign-in and back to the page', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, fake, alice.upn);
    fake.enqueueError({
      endpoint: 'token',
      clientId: DEFAULTS.webClientId,
      grantType: 'refresh_token',
      error: 'invalid_grant',
      code: 700082,
      description: 'The refresh token has expired due to inactivity.',
      suberror: 'bad_token',
    });
    const answer = await agent.get('/read?page=1');
    // Straight to the issuer, for exactly what the page needed (data.read), as the same user.
    expect(answer.status).toBe(303);
    const url = new URL(answer.location);
    expect(url.pathname).toBe(`/${TENANT}/oauth2/v2.0/authorize`);
    expect(url.searchParams.get('scope')).toBe(
      `${DEFAULTS.apiIdentifier}/data.read openid profile offline_access`,
    );
    expect(fake.requests({ grantType: 'refresh_token' })).toMatchObject([
      { response: { status: 400, error: 'invalid_grant' } },
    ]);
    // The ID token's login_hint claim (opaque) names the account.
    const hint = url.searchParams.get('login_hint');
    expect(hint).toBeTruthy();
    expect(hint).not.toBe(alice.upn);
    const back = await finishSignIn(agent, fake, answer, alice.upn);
    expect(back.location).toBe('/read?page=1');
    expect((await agent.get('/read?page=1')).status).toBe(200);
  });

  test('when signing in again does not help, the page says why instead of looping', async () => {
    // Inside MSAL's renewal margin: the token the interactive request brought is refreshed again.
    fake.setLifetimes({ accessToken: 60 });
    const agent = new Agent(app.base);
    await signIn(agent, fake, alice.upn);
    for (let i = 0; i < 2; i++) {
      fake.enqueueError({
        endpoint: 'token',
        grantType: 'refresh_token',
        error: 'invalid_grant',
        code: 65001,
        description: 'The user or administrator has not consented to use the application.',
        suberror: 'consent_required',
      });
    }
    const first = await agent.get('/read');
    expect(first.status).toBe(303); // one interactive request...
    const again = await finishSignIn(agent, fake, first, alice.upn);
    expect(again.location).toBe('/read');
    const second = await agent.get('/read');
    expect(second.status).toBe(403); // ...then an explanation, not a loop
    expect(second.text).toContain('Permission not granted');
    expect(second.text).toContain('consent_required');
  });
});

describe('pages and errors', () => {
  let agent: Agent;
  beforeEach(async () => {
    agent = new Agent(app.base);
    await signIn(agent, fake, alice.upn);
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
    expect(api.calls.at(-1)).toMatchObject({
      method: 'POST',
      status: 201,
      body: { text: 'hello <i>world</i>' },
    });
    const read = await agent.get('/read');
    expect(read.text).toContain('hello &lt;i&gt;world&lt;/i&gt;');
    // The write asked data.write only, the read data.read only.
    expect(api.calls.at(-2)?.claims?.scp).toBe('data.write');
    expect(api.calls.at(-1)?.claims?.scp).toBe('data.read');
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
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  test('API 403 insufficient_scope names the missing scope', async () => {
    // The issuer grants the next API token data.read only; the API checks for data.write.
    fake.enqueueTokenCallback({
      clientId: DEFAULTS.webClientId,
      resource: DEFAULTS.apiIdentifier,
      accessTokenClaims: { scp: 'data.read' },
    });
    const form = await agent.get('/write');
    const answer = await agent.post('/write', {
      _csrf: Agent.formToken(form.text, '/write'),
      text: 'x',
    });
    expect(answer.status).toBe(403);
    expect(answer.text).toContain('Permission missing');
    expect(answer.text).toContain('data.write');
    expect(api.calls.at(-1)).toMatchObject({ status: 403, claims: { scp: 'data.read' } });
  });

  test('API 5xx is a 502 page and the user stays signed in', async () => {
    api.failNext(500);
    const answer = await agent.get('/read');
    expect(answer.status).toBe(502);
    expect(answer.text).toContain('The API is not available');
    expect(answer.text).toContain('still signed in');
    expect((await agent.get('/')).status).toBe(200);
  });

  test('Graph 5xx is a 502 page', async () => {
    fake.enqueueError({
      endpoint: 'graph',
      status: 503,
      error: 'serviceNotAvailable',
      description: 'Service unavailable.',
    });
    const answer = await agent.get('/');
    expect(answer.status).toBe(502);
    expect(answer.text).toContain('Microsoft Graph is not available');
    expect(fake.requests({ endpoint: 'graph' })).toMatchObject([
      { response: { status: 503, error: 'serviceNotAvailable' } },
    ]);
  });

  test('sign-out clears the session and the token cache and goes to the end-session endpoint', async () => {
    const page = await agent.get('/');
    const token = Agent.formToken(page.text, '/auth/signout');
    const sid = agent.cookies.get('webapp.sid');
    expect(await store.get(tokenCacheKey(homeId(alice.oid)))).toBeDefined();
    const answer = await agent.post('/auth/signout', { _csrf: token });
    expect(answer.status).toBe(303);
    const url = new URL(answer.location);
    expect(`${url.origin}${url.pathname}`).toBe(`${fake.publicUrl}/${TENANT}/oauth2/v2.0/logout`);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(`${app.base}/`);
    expect(await store.get(tokenCacheKey(homeId(alice.oid)))).toBeUndefined();
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
    expect(csp).toContain(`form-action 'self' ${fake.publicUrl}`);
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
    const start = await startSignIn(agent);
    const back = await fake.completeSignIn(start.location, alice.upn);
    await agent.get(back.url);
    await agent.get('/read');
    const logs = app.logs.text;
    expect(logs).toContain('"requestId"');
    expect(logs).not.toContain(back.params.code!);
    expect(logs).not.toContain(back.params.state!);
    for (const [, value] of agent.cookies) expect(logs).not.toContain(value);
    const tokens = issuedTokens();
    expect(tokens.length).toBeGreaterThanOrEqual(6);
    for (const token of tokens) expect(logs).not.toContain(token);
    expect(logs).not.toContain(SESSION_KEY);
    expect(logs).not.toContain(DEFAULTS.webClientSecret);
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
    // The refresh that the failed cache write followed did happen: its tokens exist.
    expect(fake.requests({ grantType: 'refresh_token' })).toHaveLength(1);
    for (const token of issuedTokens()) expect(logs).not.toContain(token);
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
    expect(logs).not.toMatch(/"1\.A[A-Za-z0-9_-]{20,}/);
  });
});

describe('operations', () => {
  test('healthz, readyz and metrics', async () => {
    const agent = new Agent(app.base);
    expect((await agent.get('/healthz')).text).toBe('{"status":"ok"}');
    const ready = await agent.get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready', store: 'memory' });
    await signIn(agent, fake, alice.upn);
    await agent.get('/read');
    // Metrics are served on METRICS_PORT (the kit's metrics server), never on the app port.
    expect((await agent.get('/metrics')).status).toBe(404);
    const metrics = { text: await app.webApp.metrics.registry.metrics() };
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
    expect(JSON.parse(answer.text)).toEqual({
      status: 'not ready',
      reason: 'memory store unreachable',
    });
    // Why goes to the log only.
    expect(answer.text).not.toContain('connection refused');
    expect(
      app.logs.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((e) => e.msg === 'not ready'),
    ).toMatchObject({
      checks: { store: 'connection refused' },
    });
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
    await signIn(agent, fake, alice.upn);
    const upstreams = { fake, apiUrl: api.url };
    const rotated = await startTestApp(
      upstreams,
      { SESSION_KEYS: `${'n'.repeat(40)},${SESSION_KEY}` },
      store,
    );
    const replaced = await startTestApp(upstreams, { SESSION_KEYS: 'r'.repeat(40) }, store);
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
    const answer = await signIn(agent, fake, alice.upn);
    const cookie = answer.setCookies.find((c) => c.startsWith('webapp.sid='))!;
    const expires = Date.parse(/expires=([^;]+)/i.exec(cookie)![1]!);
    expect(Math.abs(expires - Date.now() - 3600_000)).toBeLessThan(5000);
  });

  test('absolute expiry: a session older than SESSION_ABSOLUTE_TIMEOUT_SECONDS is signed out', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, fake, alice.upn);
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
    await signIn(agent, fake, alice.upn);
    await age(agent);
    const answer = await agent.get('/auth/signin?returnTo=%2Fread');
    expect(answer.status).toBe(302);
    expect(answer.location).toContain(`${fake.publicUrl}/${TENANT}/oauth2/v2.0/authorize`);
  });

  test('a sign-in started just before the limit completes after it', async () => {
    const agent = new Agent(app.base);
    await signIn(agent, fake, alice.upn);
    const start = await startSignIn(agent, '/read');
    await age(agent);
    const back = await finishSignIn(agent, fake, start, alice.upn);
    expect(back.status).toBe(303);
    expect(back.location).toBe('/read');
    expect((await agent.get('/read')).status).toBe(200);
  });
});

describe('public origin https (issue 13 W3, W4)', () => {
  let secure: TestApp;
  beforeAll(async () => {
    // Behind a TLS-terminating proxy, TRUST_PROXY unset: the request itself looks like http.
    secure = await startTestApp({ fake }, { REDIRECT_URI: 'https://app.example/auth/redirect' });
  });
  afterAll(async () => {
    await secure.close();
  });

  test('cookies are Secure and __Host- prefixed, and HSTS is sent, from REDIRECT_URI alone', async () => {
    expect(secure.config.sessionCookieName).toBe('__Host-webapp.sid');
    const answer = await new Agent(secure.base).get('/auth/signin');
    expect(answer.status).toBe(302);
    const pending = answer.setCookies.find((c) => c.startsWith('__Host-webapp.sid.signin.'));
    expect(pending).toMatch(/; secure/i);
    expect(pending).toMatch(/; path=\/(;|$)/i);
    expect(pending).not.toMatch(/domain=/i);
    expect(answer.headers.get('strict-transport-security')).toContain('max-age=');
  });
});

describe('unreachable API', () => {
  test('is a 502 page and the user stays signed in', async () => {
    const down = await startTestApp({ fake }, { API_BASE_URL: 'http://127.0.0.1:9' }, store);
    try {
      const agent = new Agent(down.base);
      await signIn(agent, fake, alice.upn);
      const answer = await agent.get('/read');
      expect(answer.status).toBe(502);
      expect(answer.text).toContain('could not be reached');
      expect((await agent.get('/')).status).toBe(200);
    } finally {
      await down.close();
    }
  });
});
