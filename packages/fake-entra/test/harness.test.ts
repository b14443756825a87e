// The test harness: recorded requests (what a client really sent), one-shot token and Graph
// callbacks, queued errors, and the scripted sign-in through the page - in-process, with the
// real MSAL Node library as the client, and over HTTP under /_harness/ only when enabled.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import {
  ConfidentialClientApplication,
  CryptoProvider,
  type AuthenticationResult,
} from '@azure/msal-node';
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';

const API_SCOPES = [...DEFAULTS.apiScopes];
const REDIRECT_URI = 'http://localhost:59998/auth/redirect';

let fake: FakeEntra;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  fake = await FakeEntra.start();
  jwks = createRemoteJWKSet(new URL(`${fake.authority()}/discovery/v2.0/keys`));
});
afterEach(() => {
  fake.reset();
});
afterAll(async () => {
  await fake.close();
});

function webApp(): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: DEFAULTS.webClientId,
      clientSecret: DEFAULTS.webClientSecret,
      authority: fake.authority(),
      knownAuthorities: [new URL(fake.baseUrl).host],
    },
  });
}

/** The web app's sign-in: authorize URL with PKCE, the page, the code redeemed by MSAL. */
async function signIn(
  upn = DEFAULTS.users.alice.upn,
  cca = webApp(),
): Promise<{ cca: ConfidentialClientApplication; result: AuthenticationResult; url: string }> {
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const url = await cca.getAuthCodeUrl({
    scopes: ['User.Read'],
    extraScopesToConsent: API_SCOPES,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    state: 'the-state',
    nonce: 'the-nonce',
  });
  const answer = await fake.completeSignIn(url, upn);
  const code = answer.params.code!;
  const result = await cca.acquireTokenByCode(
    {
      code,
      scopes: ['User.Read'],
      redirectUri: REDIRECT_URI,
      codeVerifier: verifier,
      state: 'the-state',
      nonce: 'the-nonce',
    },
    { code, state: answer.params.state! },
  );
  return { cca, result, url };
}

const post = (url: string, json?: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(json ?? {}),
  });

describe('recorded requests', () => {
  test('hold what MSAL sent: PKCE verifier, secret, grant, client id, scopes, and the answer', async () => {
    const { url, result } = await signIn();
    const authorize = fake.requests({ endpoint: 'authorize' });
    expect(authorize.map((r) => r.method)).toEqual(['GET', 'POST']); // the page, then the button
    expect(authorize[0]).toMatchObject({
      path: `/${DEFAULTS.tenantId}/oauth2/v2.0/authorize`,
      tenant: DEFAULTS.tenantId,
      clientId: DEFAULTS.webClientId,
      grantType: undefined,
      response: { status: 200, error: undefined, body: undefined },
    });
    const challenge = new URL(url).searchParams.get('code_challenge');
    expect(authorize[0]!.query).toMatchObject({
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'the-state',
      nonce: 'the-nonce',
      redirect_uri: REDIRECT_URI,
    });
    expect(authorize[1]!.form).toMatchObject({ fake_entra_user: DEFAULTS.users.alice.upn });
    expect(authorize[1]!.response.status).toBe(302);
    const code = new URL(authorize[1]!.response.location!).searchParams.get('code');

    const token = await fake.takeRequest({ endpoint: 'token' });
    expect(token).toMatchObject({
      method: 'POST',
      endpoint: 'token',
      clientId: DEFAULTS.webClientId,
      grantType: 'authorization_code',
      form: {
        code,
        client_secret: DEFAULTS.webClientSecret,
        redirect_uri: REDIRECT_URI,
      },
      response: { status: 200, error: undefined },
    });
    expect(createHash('sha256').update(token.form.code_verifier!).digest('base64url')).toBe(
      challenge,
    );
    expect(token.form.scope!.split(' ')).toEqual(expect.arrayContaining(['User.Read', 'openid']));
    expect(token.params).toMatchObject(token.form);
    expect(token.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(token.response.body).toMatchObject({ access_token: result.accessToken });
    // Taken: no longer listed; the sequence numbers keep the arrival order.
    expect(fake.requests({ endpoint: 'token' })).toEqual([]);
    const discovery = fake.requests({ endpoint: 'discovery' });
    expect(discovery.length).toBeGreaterThanOrEqual(1);
    expect(discovery[0]!.seq).toBeLessThan(authorize[0]!.seq);
    expect(token.seq).toBeGreaterThan(authorize[1]!.seq);
  });

  test('record refresh grants and error answers; Graph calls name the app of their token', async () => {
    const { cca, result } = await signIn();
    fake.clearRequests();
    await cca.acquireTokenSilent({ account: result.account!, scopes: API_SCOPES });
    const refresh = await fake.takeRequest({ grantType: 'refresh_token' });
    expect(refresh.form.refresh_token).toMatch(/^1\.A/);
    expect(refresh.form.scope!.split(' ')).toEqual(expect.arrayContaining(API_SCOPES));

    await fetch(`${fake.graphBaseUrl}/v1.0/me`, {
      headers: { authorization: `Bearer ${result.accessToken}` },
    });
    const graph = await fake.takeRequest({ endpoint: 'graph' });
    expect(graph).toMatchObject({ path: '/v1.0/me', clientId: DEFAULTS.webClientId });
    expect(graph.headers.authorization).toBe(`Bearer ${result.accessToken}`);

    await fetch(`${fake.baseUrl}/${DEFAULTS.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: DEFAULTS.daemonClientId,
        client_secret: 'wrong-secret',
        scope: `${DEFAULTS.apiIdentifier}/.default`,
      }),
    });
    const refused = await fake.takeRequest({ clientId: DEFAULTS.daemonClientId });
    expect(refused.response).toMatchObject({ status: 401, error: 'invalid_client' });
    expect(refused.form.client_secret).toBe('wrong-secret');
  });

  test('takeRequest waits for a request still to come, and names the filter when none comes', async () => {
    const waiting = fake.takeRequest({ endpoint: 'jwks' }, { timeoutMs: 5000 });
    setTimeout(() => void fetch(`${fake.authority()}/discovery/v2.0/keys`), 100);
    expect((await waiting).response.status).toBe(200);
    await expect(fake.takeRequest({ endpoint: 'logout' }, { timeoutMs: 50 })).rejects.toThrow(
      'takeRequest: no request {"endpoint":"logout"} arrived within 50 ms',
    );
    await expect(fake.takeRequest((r) => r.path === '/nowhere', { timeoutMs: 0 })).rejects.toThrow(
      /matching the predicate/,
    );
  });

  test('leave out health checks, record unknown paths', async () => {
    await fetch(`${fake.baseUrl}/healthz`);
    await fetch(`${fake.baseUrl}/no/such/path?x=1`);
    expect(fake.requests()).toMatchObject([
      { endpoint: 'unknown', path: '/no/such/path', query: { x: '1' }, response: { status: 404 } },
    ]);
  });
});

describe('token callbacks', () => {
  test('change the claims of the next matching token only, then the fake issues as before', async () => {
    const { cca, result } = await signIn();
    fake.enqueueTokenCallback({
      clientId: DEFAULTS.webClientId,
      resource: DEFAULTS.apiIdentifier,
      accessTokenClaims: { scp: 'data.read', extra: 'yes', sid: undefined },
    });
    // A Graph token does not match: the callback waits for the API token.
    await cca.acquireTokenSilent({
      account: result.account!,
      scopes: ['User.Read'],
      forceRefresh: true,
    });
    expect(fake.pendingHooks()).toHaveLength(1);
    const api = await cca.acquireTokenSilent({ account: result.account!, scopes: API_SCOPES });
    const { payload } = await jwtVerify(api.accessToken, jwks, {
      issuer: fake.issuer(),
      audience: DEFAULTS.apiClientId,
    });
    expect(payload).toMatchObject({ scp: 'data.read', extra: 'yes' });
    expect('sid' in payload).toBe(false);
    expect(fake.pendingHooks()).toEqual([]);
    const next = await cca.acquireTokenSilent({
      account: result.account!,
      scopes: API_SCOPES,
      forceRefresh: true,
    });
    expect(decodeJwt(next.accessToken)).toMatchObject({ scp: 'data.read data.write' });
    expect(decodeJwt(next.accessToken).extra).toBeUndefined();
  });

  test('an ID token with another nonce is refused by MSAL', async () => {
    fake.enqueueTokenCallback({
      grantType: 'authorization_code',
      idTokenClaims: { nonce: 'someone-elses-nonce' },
    });
    await expect(signIn()).rejects.toMatchObject({ errorCode: 'nonce_mismatch' });
  });

  test('match by user, and change fields of the token response', async () => {
    fake.enqueueTokenCallback({
      user: DEFAULTS.users.bob.upn,
      response: { scope: 'User.Read', ext_expires_in: undefined },
    });
    await signIn(DEFAULTS.users.alice.upn);
    expect(fake.pendingHooks()).toMatchObject([{ kind: 'token', user: DEFAULTS.users.bob.upn }]);
    await signIn(DEFAULTS.users.bob.upn);
    const token = fake.requests({ endpoint: 'token' }).at(-1)!;
    expect(token.response.body).toMatchObject({ scope: 'User.Read' });
    expect(token.response.body).not.toHaveProperty('ext_expires_in');
  });

  test('apply to client credentials', async () => {
    fake.enqueueTokenCallback({
      grantType: 'client_credentials',
      resource: DEFAULTS.apiClientId,
      accessTokenClaims: { roles: ['Data.Write.All'] },
    });
    const daemon = new ConfidentialClientApplication({
      auth: {
        clientId: DEFAULTS.daemonClientId,
        clientSecret: DEFAULTS.daemonClientSecret,
        authority: fake.authority(),
        knownAuthorities: [new URL(fake.baseUrl).host],
      },
    });
    const result = await daemon.acquireTokenByClientCredential({
      scopes: [`${DEFAULTS.apiIdentifier}/.default`],
    });
    expect(decodeJwt(result!.accessToken).roles).toEqual(['Data.Write.All']);
  });

  test('are refused when they change nothing', () => {
    expect(() => fake.enqueueTokenCallback({ clientId: DEFAULTS.webClientId })).toThrow(
      /give accessTokenClaims, idTokenClaims or response/,
    );
  });
});

describe('Graph callbacks', () => {
  test('the next profile of the user carries other fields', async () => {
    const { result } = await signIn();
    fake.enqueueGraphCallback({
      user: DEFAULTS.users.alice.oid,
      profile: { displayName: 'Alice <b>Example</b>', jobTitle: 'Tester', mail: undefined },
    });
    const me = async () =>
      (await (
        await fetch(`${fake.graphBaseUrl}/v1.0/me`, {
          headers: { authorization: `Bearer ${result.accessToken}` },
        })
      ).json()) as Record<string, unknown>;
    const first = await me();
    expect(first).toMatchObject({ displayName: 'Alice <b>Example</b>', jobTitle: 'Tester' });
    expect(first).not.toHaveProperty('mail');
    expect(await me()).toMatchObject({ displayName: 'Alice Example', mail: 'alice@contoso.test' });
  });
});

describe('queued errors', () => {
  test('the next refresh of the app is answered with the Entra error, once', async () => {
    const { cca, result } = await signIn();
    fake.enqueueError({
      endpoint: 'token',
      clientId: DEFAULTS.webClientId,
      grantType: 'refresh_token',
      error: 'invalid_grant',
      code: 700082,
      description: 'The refresh token has expired due to inactivity.',
      suberror: 'bad_token',
    });
    const failed = await cca
      .acquireTokenSilent({ account: result.account!, scopes: API_SCOPES })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failed).toMatchObject({ errorCode: 'invalid_grant', subError: 'bad_token' });
    const answer = fake.requests({ grantType: 'refresh_token' })[0]!.response;
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      error: 'invalid_grant',
      error_codes: [700082],
      suberror: 'bad_token',
    });
    expect(String(answer.body!.error_description)).toMatch(
      /^AADSTS700082: The refresh token has expired due to inactivity\. Trace ID: /,
    );
    // The error replaced the answer; the request itself was not processed. (MSAL dropped the
    // refresh token on bad_token; the issuer still honours it.)
    expect(fake.pendingHooks()).toEqual([]);
    const again = await fetch(`${fake.authority()}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fake.requests({ grantType: 'refresh_token' })[0]!.form),
    });
    expect(again.status).toBe(200);
  });

  test('at /authorize the error is redirected to the app with its state, as Entra does', async () => {
    fake.enqueueError({
      endpoint: 'authorize',
      error: 'access_denied',
      code: 65004,
      description: 'User declined to consent to access the app.',
    });
    const url = await webApp().getAuthCodeUrl({
      scopes: ['User.Read'],
      redirectUri: REDIRECT_URI,
      state: 's-1',
    });
    const answer = await fake.completeSignIn(url, DEFAULTS.users.alice.upn);
    expect(answer.url.startsWith(`${REDIRECT_URI}?`)).toBe(true);
    expect(answer.params).toMatchObject({ error: 'access_denied', state: 's-1' });
    expect(answer.params.error_description).toMatch(/^AADSTS65004: User declined/);
    expect(answer.params.code).toBeUndefined();
  });

  test('Graph answers in its own error shape; discovery in Entra’s', async () => {
    fake.enqueueError({ endpoint: 'graph', status: 503, error: 'serviceNotAvailable' });
    const graph = await fetch(`${fake.graphBaseUrl}/v1.0/me`);
    expect(graph.status).toBe(503);
    expect(await graph.json()).toMatchObject({ error: { code: 'serviceNotAvailable' } });
    fake.enqueueError({ endpoint: 'discovery', status: 500, error: 'server_error', code: 90033 });
    const discovery = await fetch(`${fake.authority()}/v2.0/.well-known/openid-configuration`);
    expect(discovery.status).toBe(500);
    expect(await discovery.json()).toMatchObject({ error: 'server_error', error_codes: [90033] });
    expect((await fetch(`${fake.authority()}/v2.0/.well-known/openid-configuration`)).status).toBe(
      200,
    );
  });

  test.each([
    [{ endpoint: 'token', error: 'invalid_grant' }, /code \(Entra's AADSTS number/],
    [{ endpoint: 'nowhere', error: 'x', code: 1 }, /endpoint must be one of/],
    [{ endpoint: 'token', error: 'has space', code: 1 }, /error must be a code word/],
    [{ endpoint: 'token', error: 'x', code: 1, status: 302 }, /status must be an HTTP error/],
    [{ endpoint: 'jwks', error: 'x', code: 1, clientId: 'a' }, /clientId cannot match at/],
    [{ endpoint: 'authorize', error: 'x', code: 1, grantType: 'a' }, /grantType only matches/],
  ])('%j is refused', (error, message) => {
    expect(() => fake.enqueueError(error as never)).toThrow(message);
    expect(fake.pendingHooks()).toEqual([]);
  });

  test('reset forgets queued hooks and recorded requests', async () => {
    fake.enqueueError({ endpoint: 'jwks', error: 'server_error', code: 90033, status: 500 });
    await fetch(`${fake.baseUrl}/nowhere`);
    fake.reset();
    expect(fake.pendingHooks()).toEqual([]);
    expect(fake.requests()).toEqual([]);
    expect((await fetch(`${fake.authority()}/discovery/v2.0/keys`)).status).toBe(200);
  });
});

describe('completeSignIn', () => {
  test('refuses a user the page does not offer, an error page, and another issuer', async () => {
    const url = await webApp().getAuthCodeUrl({ scopes: ['User.Read'], redirectUri: REDIRECT_URI });
    await expect(fake.completeSignIn(url, 'mallory@contoso.test')).rejects.toThrow(
      'completeSignIn: the sign-in page offers no user "mallory@contoso.test" (it offers: alice@contoso.test, bob@contoso.test)',
    );
    const unregistered = await webApp().getAuthCodeUrl({
      scopes: ['User.Read'],
      redirectUri: 'https://evil.example/callback',
    });
    await expect(fake.completeSignIn(unregistered, 'alice@contoso.test')).rejects.toThrow(
      /answered 400: AADSTS50011: The redirect URI 'https:\/\/evil\.example\/callback'/,
    );
    await expect(
      fake.completeSignIn('https://login.microsoftonline.com/x/oauth2/v2.0/authorize', 'a@b'),
    ).rejects.toThrow(/is not this issuer/);
  });

  test('returns a form_post answer as the form the browser would post', async () => {
    const url = new URL(
      await webApp().getAuthCodeUrl({ scopes: ['User.Read'], redirectUri: REDIRECT_URI }),
    );
    url.searchParams.set('response_mode', 'form_post');
    url.searchParams.set('state', 'fp');
    const answer = await fake.completeSignIn(url.toString(), 'bob@contoso.test');
    expect(answer).toMatchObject({ url: REDIRECT_URI, responseMode: 'form_post' });
    expect(answer.params).toMatchObject({ state: 'fp', code: expect.stringMatching(/^1\.A/) });
  });
});

describe('over HTTP', () => {
  test('nothing under /_harness/ unless enabled', async () => {
    for (const path of ['/_harness/requests', '/_harness/hooks']) {
      const res = await fetch(`${fake.baseUrl}${path}`);
      expect(res.status).toBe(404);
    }
    expect((await post(`${fake.baseUrl}/_harness/hooks/error`)).status).toBe(404);
  });

  test('recorded requests and queued hooks, with null for a claim to remove', async () => {
    const local = await FakeEntra.start({ enableHarness: true });
    try {
      const base = local.baseUrl;
      expect(
        (
          await post(`${base}/_harness/hooks/token`, {
            grantType: 'client_credentials',
            accessTokenClaims: { roles: null, extra: 1 },
          })
        ).status,
      ).toBe(204);
      expect(
        (
          await post(`${base}/_harness/hooks/error`, {
            endpoint: 'graph',
            status: 503,
            error: 'serviceNotAvailable',
          })
        ).status,
      ).toBe(204);
      const pending = (await (await fetch(`${base}/_harness/hooks`)).json()) as {
        pending: unknown[];
      };
      expect(pending.pending).toEqual([
        {
          kind: 'token',
          grantType: 'client_credentials',
          accessTokenClaims: { roles: null, extra: 1 },
        },
        { kind: 'error', endpoint: 'graph', status: 503, error: 'serviceNotAvailable' },
      ]);

      const token = (await (
        await fetch(`${local.authority()}/oauth2/v2.0/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: DEFAULTS.daemonClientId,
            client_secret: DEFAULTS.daemonClientSecret,
            scope: `${DEFAULTS.apiIdentifier}/.default`,
          }),
        })
      ).json()) as { access_token: string };
      const claims = decodeJwt(token.access_token);
      expect(claims.extra).toBe(1);
      expect(claims).not.toHaveProperty('roles');

      const listed = (await (
        await fetch(`${base}/_harness/requests?endpoint=token&clientId=${DEFAULTS.daemonClientId}`)
      ).json()) as { requests: { form: Record<string, string> }[] };
      expect(listed.requests).toHaveLength(1);
      expect(listed.requests[0]!.form.client_secret).toBe(DEFAULTS.daemonClientSecret);

      const taken = (await (
        await post(`${base}/_harness/requests/take`, { grantType: 'client_credentials' })
      ).json()) as { request: { seq: number } | null };
      expect(taken.request?.seq).toBe(1);
      const none = (await (
        await post(`${base}/_harness/requests/take`, { endpoint: 'logout', timeoutMs: 10 })
      ).json()) as { request: unknown };
      expect(none.request).toBeNull();

      expect((await fetch(`${base}/_harness/hooks`, { method: 'DELETE' })).status).toBe(204);
      expect((await fetch(`${local.graphBaseUrl}/v1.0/me`)).status).toBe(401); // no 503 left
      expect((await fetch(`${base}/_harness/requests`, { method: 'DELETE' })).status).toBe(204);
      const empty = (await (await fetch(`${base}/_harness/requests`)).json()) as {
        requests: unknown[];
      };
      expect(empty.requests).toEqual([]);
    } finally {
      await local.close();
    }
  });

  test('a bad harness request is a 400 naming the field', async () => {
    const local = await FakeEntra.start({ enableHarness: true });
    try {
      const cases: [string, unknown, RegExp][] = [
        ['/_harness/hooks/error', { endpoint: 'token', error: 'x' }, /code \(Entra's AADSTS/],
        ['/_harness/hooks/error', { endpoint: 'x', error: 'x', code: 1 }, /endpoint: /],
        ['/_harness/hooks/token', { nope: 1 }, /nope/],
        ['/_harness/hooks/graph', {}, /profile: /],
        ['/_harness/requests/take', { timeoutMs: 60_000 }, /timeoutMs: /],
      ];
      for (const [path, json, message] of cases) {
        const res = await post(`${local.baseUrl}${path}`, json);
        expect(res.status).toBe(400);
        const body = (await res.json()) as { error: string; error_description: string };
        expect(body.error).toBe('invalid_request');
        expect(body.error_description).toMatch(message);
      }
      const badFilter = await fetch(`${local.baseUrl}/_harness/requests?endpoint=nowhere`);
      expect(badFilter.status).toBe(400);
    } finally {
      await local.close();
    }
  });
});
