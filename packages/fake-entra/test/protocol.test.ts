// Entra's protocol rules at the HTTP level: authorization code + PKCE, refresh tokens, client
// credentials, client authentication, the sign-in page, response modes, logout and Graph.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';

const T = DEFAULTS.tenantId;
const REDIRECT = 'http://localhost:4321/auth/redirect';
const API_SCOPES = `${DEFAULTS.apiIdentifier}/data.read ${DEFAULTS.apiIdentifier}/data.write`;
let fake: FakeEntra;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  fake = await FakeEntra.start();
  jwks = createRemoteJWKSet(new URL(`${fake.authority()}/discovery/v2.0/keys`));
});
afterAll(async () => {
  await fake.close();
});

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

function authorizeUrl(params: Record<string, string>): string {
  const query = new URLSearchParams({
    client_id: DEFAULTS.webClientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: `openid profile offline_access ${API_SCOPES}`,
    ...params,
  });
  return `${fake.publicUrl}/${T}/oauth2/v2.0/authorize?${query}`;
}

async function redirectParams(res: Response): Promise<URLSearchParams> {
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!).searchParams;
}

/** A silent authorize request in an issuer session of `user` (the harness opens it). */
async function silent(
  params: Record<string, string>,
  user = 'alice@contoso.test',
  on: FakeEntra = fake,
): Promise<Response> {
  const { cookie } = on.openSession(user);
  const url = new URL(authorizeUrl({ prompt: 'none', ...params }));
  if (on !== fake) url.href = url.href.replace(fake.publicUrl, on.publicUrl);
  return fetch(url, { redirect: 'manual', headers: { cookie } });
}

async function code(
  o: { user?: string; challenge?: string; scope?: string; nonce?: string } = {},
): Promise<string> {
  const params: Record<string, string> = {};
  if (o.challenge)
    Object.assign(params, { code_challenge: o.challenge, code_challenge_method: 'S256' });
  if (o.scope) params.scope = o.scope;
  if (o.nonce) params.nonce = o.nonce;
  const p = await redirectParams(await silent(params, o.user));
  expect(p.get('error')).toBeNull();
  return p.get('code')!;
}

async function token(form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${fake.authority()}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const web = { client_id: DEFAULTS.webClientId, client_secret: DEFAULTS.webClientSecret };

function expectEntraError(
  res: { status: number; body: Record<string, unknown> },
  status: number,
  error: string,
  code: number,
) {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({ error, error_codes: [code] });
  expect(String(res.body.error_description)).toMatch(new RegExp(`^AADSTS${code}: `));
  for (const field of ['timestamp', 'trace_id', 'correlation_id'])
    expect(typeof res.body[field]).toBe('string');
}

describe('authorization_code grant', () => {
  test('returns Entra token response fields; tokens verify; the id token carries the nonce', async () => {
    const { verifier, challenge } = pkce();
    const c = await code({ challenge, nonce: 'n-123' });
    const res = await token({
      ...web,
      grant_type: 'authorization_code',
      code: c,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      scope: `openid profile offline_access ${API_SCOPES}`,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: API_SCOPES });
    // Entra's default access-token lifetime: 60-90 minutes at random.
    expect(res.body.expires_in).toBeGreaterThanOrEqual(3600);
    expect(res.body.expires_in).toBeLessThanOrEqual(5400);
    expect(res.body.ext_expires_in).toBe(res.body.expires_in);
    for (const field of ['access_token', 'refresh_token', 'id_token', 'client_info'])
      expect(typeof res.body[field]).toBe('string');
    expect(JSON.parse(Buffer.from(res.body.client_info, 'base64url').toString())).toEqual({
      uid: DEFAULTS.users.alice.oid,
      utid: T,
    });
    await expect(
      jwtVerify(res.body.access_token, jwks, {
        issuer: fake.issuer(),
        audience: DEFAULTS.apiClientId,
      }),
    ).resolves.toBeDefined();
    const { payload: id } = await jwtVerify(res.body.id_token, jwks, {
      issuer: fake.issuer(),
      audience: DEFAULTS.webClientId,
    });
    expect(id).toMatchObject({
      nonce: 'n-123',
      oid: DEFAULTS.users.alice.oid,
      preferred_username: 'alice@contoso.test',
      name: 'Alice Example',
      tid: T,
      ver: '2.0',
    });
  });

  test('never narrows: bob redeeming a data.read code for data.read data.write gets consent_required', async () => {
    const c = await code({
      user: 'bob@contoso.test',
      scope: `${DEFAULTS.apiIdentifier}/data.read`,
    });
    const res = await token({
      ...web,
      grant_type: 'authorization_code',
      code: c,
      redirect_uri: REDIRECT,
      scope: API_SCOPES,
    });
    expectEntraError(res, 400, 'invalid_grant', 65001);
    expect(res.body.suberror).toBe('consent_required');
    expect(res.body.access_token).toBeUndefined();
    const ok = await token({
      ...web,
      grant_type: 'authorization_code',
      code: await code({ user: 'bob@contoso.test', scope: `${DEFAULTS.apiIdentifier}/data.read` }),
      redirect_uri: REDIRECT,
    });
    expect(ok.body.scope).toBe(`${DEFAULTS.apiIdentifier}/data.read`);
    expect(decodeJwt(ok.body.access_token).scp).toBe('data.read');
  });

  test('rejects a wrong PKCE verifier, a missing one, and burns the code', async () => {
    const { challenge } = pkce();
    const c = await code({ challenge });
    expectEntraError(
      await token({
        ...web,
        grant_type: 'authorization_code',
        code: c,
        redirect_uri: REDIRECT,
        code_verifier: pkce().verifier,
      }),
      400,
      'invalid_grant',
      501481,
    );
    expectEntraError(
      await token({
        ...web,
        grant_type: 'authorization_code',
        code: c,
        redirect_uri: REDIRECT,
        code_verifier: pkce().verifier,
      }),
      400,
      'invalid_grant',
      54005,
    );
    const c2 = await code({ challenge });
    expectEntraError(
      await token({ ...web, grant_type: 'authorization_code', code: c2, redirect_uri: REDIRECT }),
      400,
      'invalid_request',
      900144,
    );
  });

  test('accepts a code once only', async () => {
    const c = await code();
    expect(
      (await token({ ...web, grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT }))
        .status,
    ).toBe(200);
    expectEntraError(
      await token({ ...web, grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT }),
      400,
      'invalid_grant',
      54005,
    );
  });

  test('rejects an expired code', async () => {
    const local = await FakeEntra.start({ lifetimes: { code: 1 } });
    try {
      const c = (await redirectParams(await silent({}, 'alice@contoso.test', local))).get('code')!;
      await new Promise((r) => setTimeout(r, 1100));
      const expired = await fetch(`${local.authority()}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({
          ...web,
          grant_type: 'authorization_code',
          code: c,
          redirect_uri: REDIRECT,
        }),
      });
      expectEntraError(
        { status: expired.status, body: (await expired.json()) as Record<string, unknown> },
        400,
        'invalid_grant',
        70008,
      );
    } finally {
      await local.close();
    }
  });

  test('rejects a redirect_uri that differs from the authorize request', async () => {
    expectEntraError(
      await token({
        ...web,
        grant_type: 'authorization_code',
        code: await code(),
        redirect_uri: 'http://localhost:4322/auth/redirect',
      }),
      400,
      'invalid_grant',
      500112,
    );
  });

  test('redeems a code requested for two resources (consent up front) for one resource at a time', async () => {
    const c = await code({ scope: `openid offline_access User.Read ${API_SCOPES}` });
    expectEntraError(
      await token({
        ...web,
        grant_type: 'authorization_code',
        code: c,
        redirect_uri: REDIRECT,
        scope: `User.Read ${API_SCOPES}`,
      }),
      400,
      'invalid_scope',
      28000,
    );
    const c2 = await code({ scope: `openid offline_access User.Read ${API_SCOPES}` });
    const graph = await token({
      ...web,
      grant_type: 'authorization_code',
      code: c2,
      redirect_uri: REDIRECT,
      scope: 'openid offline_access',
    });
    expect(graph.status).toBe(200);
    expect(decodeJwt(graph.body.access_token)).toMatchObject({
      aud: DEFAULTS.graphClientId,
      scp: 'User.Read',
    });
    const c3 = await code({ scope: `openid offline_access User.Read ${API_SCOPES}` });
    const api = await token({
      ...web,
      grant_type: 'authorization_code',
      code: c3,
      redirect_uri: REDIRECT,
      scope: `openid ${DEFAULTS.apiIdentifier}/data.read`,
    });
    expect(decodeJwt(api.body.access_token)).toMatchObject({
      aud: DEFAULTS.apiClientId,
      scp: 'data.read',
    });
  });

  test('refuses a silent multi-resource sign-in when a resource has no consented scope', async () => {
    const p = await redirectParams(
      await silent({ scope: `User.Read ${DEFAULTS.apiIdentifier}/data.write` }, 'bob@contoso.test'),
    );
    expect(p.get('error')).toBe('consent_required');
    expect(p.get('error_description')).toMatch(/^AADSTS65001: /);
  });

  test('rejects an unknown code and a code of another client', async () => {
    expectEntraError(
      await token({
        ...web,
        grant_type: 'authorization_code',
        code: 'not-a-code',
        redirect_uri: REDIRECT,
      }),
      400,
      'invalid_grant',
      70000,
    );
    const daemon = {
      client_id: DEFAULTS.daemonClientId,
      client_secret: DEFAULTS.daemonClientSecret,
    };
    const res = await token({
      ...daemon,
      grant_type: 'authorization_code',
      code: await code(),
      redirect_uri: REDIRECT,
    });
    expectEntraError(res, 400, 'invalid_grant', 70000);
    expect(res.body.error_description).toMatch(/issued to another client/);
  });
});

describe('client authentication', () => {
  const form = async () => ({
    grant_type: 'authorization_code',
    code: await code(),
    redirect_uri: REDIRECT,
  });

  test('accepts client_secret_basic', async () => {
    const basic = Buffer.from(
      `${DEFAULTS.webClientId}:${encodeURIComponent(DEFAULTS.webClientSecret)}`,
    ).toString('base64');
    expect((await token(await form(), { authorization: `Basic ${basic}` })).status).toBe(200);
  });

  test('rejects a wrong secret (post and basic), a missing secret, and an unknown client', async () => {
    expectEntraError(
      await token({
        ...(await form()),
        client_id: DEFAULTS.webClientId,
        client_secret: 'nope-nope',
      }),
      401,
      'invalid_client',
      7000215,
    );
    const basic = Buffer.from(`${DEFAULTS.webClientId}:wrong`).toString('base64');
    expectEntraError(
      await token(await form(), { authorization: `Basic ${basic}` }),
      401,
      'invalid_client',
      7000215,
    );
    expectEntraError(
      await token({ ...(await form()), client_id: DEFAULTS.webClientId }),
      401,
      'invalid_client',
      7000218,
    );
    expectEntraError(
      await token({
        ...(await form()),
        client_id: '11111111-1111-4111-8111-111111111111',
        client_secret: 'x',
      }),
      400,
      'unauthorized_client',
      700016,
    );
  });

  test('does not accept the daemon secret for the web app', async () => {
    expectEntraError(
      await token({
        ...(await form()),
        client_id: DEFAULTS.webClientId,
        client_secret: DEFAULTS.daemonClientSecret,
      }),
      401,
      'invalid_client',
      7000215,
    );
  });
});

describe('refresh_token grant', () => {
  async function refreshToken(user = 'alice@contoso.test') {
    const res = await token({
      ...web,
      grant_type: 'authorization_code',
      code: await code({ user, scope: 'openid offline_access User.Read' }),
      redirect_uri: REDIRECT,
    });
    expect(res.body.scope).toBe('User.Read openid');
    return res.body.refresh_token as string;
  }

  test('redeems a refresh token issued for Graph for the API (multi-resource) and returns a new one', async () => {
    const rt = await refreshToken();
    const res = await token({
      ...web,
      grant_type: 'refresh_token',
      refresh_token: rt,
      scope: `${API_SCOPES} offline_access openid`,
    });
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).not.toBe(rt);
    const { payload } = await jwtVerify(res.body.access_token, jwks, {
      issuer: fake.issuer(),
      audience: DEFAULTS.apiClientId,
    });
    expect(payload.scp).toBe('data.read data.write');
    expect(typeof res.body.id_token).toBe('string');
  });

  test('fails with invalid_grant consent_required for scopes without consent', async () => {
    const res = await token({
      ...web,
      grant_type: 'refresh_token',
      refresh_token: await refreshToken('bob@contoso.test'),
      scope: `${DEFAULTS.apiIdentifier}/data.write`,
    });
    expectEntraError(res, 400, 'invalid_grant', 65001);
    expect(res.body.suberror).toBe('consent_required');
  });

  test('rejects an unknown refresh token, one of another client, and an expired one', async () => {
    expectEntraError(
      await token({
        ...web,
        grant_type: 'refresh_token',
        refresh_token: 'nope',
        scope: API_SCOPES,
      }),
      400,
      'invalid_grant',
      9002313,
    );
    const local = await FakeEntra.start({ lifetimes: { refreshToken: 1 } });
    try {
      const auth = await silent(
        { scope: `offline_access ${API_SCOPES}` },
        'alice@contoso.test',
        local,
      );
      const c = (await redirectParams(auth)).get('code')!;
      const post = async (form: Record<string, string>) => {
        const res = await fetch(`${local.authority()}/oauth2/v2.0/token`, {
          method: 'POST',
          body: new URLSearchParams(form),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const rt = String(
        (await post({ ...web, grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT }))
          .body.refresh_token,
      );
      expectEntraError(
        await post({
          client_id: DEFAULTS.daemonClientId,
          client_secret: DEFAULTS.daemonClientSecret,
          grant_type: 'refresh_token',
          refresh_token: rt,
          scope: API_SCOPES,
        }),
        400,
        'invalid_grant',
        9002313,
      );
      await new Promise((r) => setTimeout(r, 1100));
      expectEntraError(
        await post({ ...web, grant_type: 'refresh_token', refresh_token: rt, scope: API_SCOPES }),
        400,
        'invalid_grant',
        700082,
      );
    } finally {
      await local.close();
    }
  });
});

describe('client_credentials grant', () => {
  const daemon = {
    client_id: DEFAULTS.daemonClientId,
    client_secret: DEFAULTS.daemonClientSecret,
    grant_type: 'client_credentials',
  };

  test('issues app-only tokens: roles, idtyp app, no scp, no refresh or id token', async () => {
    for (const resource of [DEFAULTS.apiIdentifier, DEFAULTS.apiClientId]) {
      const res = await token({ ...daemon, scope: `${resource}/.default` });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual([
        'access_token',
        'expires_in',
        'ext_expires_in',
        'token_type',
      ]);
      const { payload } = await jwtVerify(res.body.access_token, jwks, {
        issuer: fake.issuer(),
        audience: DEFAULTS.apiClientId,
      });
      expect(payload).toMatchObject({
        idtyp: 'app',
        roles: ['Data.Read.All'],
        azp: DEFAULTS.daemonClientId,
        azpacr: '1',
      });
      expect(payload.scp).toBeUndefined();
    }
  });

  test('an app without roles on the resource gets a token without roles', async () => {
    const res = await token({
      ...web,
      grant_type: 'client_credentials',
      scope: `${DEFAULTS.apiIdentifier}/.default`,
    });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).roles).toBeUndefined();
  });

  test('requires {resource}/.default and a known resource', async () => {
    expectEntraError(
      await token({ ...daemon, scope: `${DEFAULTS.apiIdentifier}/data.read` }),
      400,
      'invalid_scope',
      1002012,
    );
    expectEntraError(
      await token({ ...daemon, scope: 'api://unknown/.default' }),
      400,
      'invalid_resource',
      500011,
    );
    expectEntraError(await token({ ...daemon }), 400, 'invalid_request', 900144);
  });
});

describe('sign-in page and response modes', () => {
  test('lists the users of the tenant with a "Sign in as" button each, escaping values', async () => {
    const res = await fetch(authorizeUrl({ state: '<script>alert(1)</script>' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await res.text();
    expect(html).toContain('Sign in as Alice Example');
    expect(html).toContain('Sign in as Bob Example');
    expect(html).toContain('alice@contoso.test');
    // carol is of the other tenant: a single-tenant app's page does not offer her.
    expect(html).not.toContain('Carol Example');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  test('signs in the user picked on the page and keeps an issuer session for prompt=none', async () => {
    const form = new URLSearchParams({
      client_id: DEFAULTS.webClientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: `${DEFAULTS.apiIdentifier}/data.read`,
      state: 'st',
      fake_entra_user: 'bob@contoso.test',
    });
    const res = await fetch(`${fake.publicUrl}/${T}/oauth2/v2.0/authorize`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
    });
    const p = await redirectParams(res);
    expect(p.get('state')).toBe('st');
    const exchanged = await token({
      ...web,
      grant_type: 'authorization_code',
      code: p.get('code')!,
      redirect_uri: REDIRECT,
      scope: 'openid',
    });
    const id = decodeJwt(exchanged.body.id_token);
    expect(decodeJwt(exchanged.body.access_token).preferred_username).toBe('bob@contoso.test');
    // session_state is the session id, the sid of the ID token.
    expect(id.sid).toBe(p.get('session_state'));

    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const silentAgain = await fetch(authorizeUrl({ prompt: 'none', scope: 'openid' }), {
      redirect: 'manual',
      headers: { cookie },
    });
    expect((await redirectParams(silentAgain)).get('code')).toBeTruthy();
    const anonymous = await fetch(authorizeUrl({ prompt: 'none' }), { redirect: 'manual' });
    expect((await redirectParams(anonymous)).get('error')).toBe('login_required');
  });

  test('posts the code with response_mode=form_post, and puts it in the fragment with fragment', async () => {
    const res = await silent({ response_mode: 'form_post', state: 'fp' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`<form method="post" action="${REDIRECT}">`);
    expect(html).toMatch(/<input type="hidden" name="code" value="[^"]+">/);
    expect(html).toContain('<input type="hidden" name="state" value="fp">');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'nonce-/);
    const frag = await silent({ response_mode: 'fragment' });
    expect(
      new URLSearchParams(new URL(frag.headers.get('location')!).hash.slice(1)).get('code'),
    ).toBeTruthy();
  });

  test('validates redirect_uri: any port on http://localhost, nothing else unregistered', async () => {
    for (const ok of [
      'http://localhost:1/auth/redirect',
      'http://localhost/auth/redirect',
      DEFAULTS.webRedirectUri,
    ]) {
      const res = await silent({ redirect_uri: ok });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')!.startsWith(ok)).toBe(true);
    }
    for (const bad of [
      'http://localhost:5001/other',
      'http://evil.example/auth/redirect',
      'https://localhost:5001/auth/redirect',
      'http://127.0.0.1:5001/auth/redirect',
      'not a url',
    ]) {
      const res = await silent({ redirect_uri: bad });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('AADSTS50011');
    }
  });
});

describe('Graph stub', () => {
  const me = async (auth?: string) => {
    const res = await fetch(`${fake.graphBaseUrl}/v1.0/me`, {
      headers: auth ? { authorization: auth } : {},
    });
    return {
      status: res.status,
      headers: res.headers,
      body: (await res.json()) as {
        error?: { code: string; message: string; innerError: Record<string, string> };
      },
    };
  };

  test('answers Graph errors for missing, foreign, broken, app-only and under-scoped tokens', async () => {
    const missing = await me();
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({
      code: 'InvalidAuthenticationToken',
      message: 'Access token is empty.',
    });
    expect(missing.body.error!.innerError['request-id']).toBeDefined();
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const apiToken = await me(`Bearer ${await fake.mintAccessToken()}`);
    expect(apiToken.body.error).toMatchObject({
      code: 'InvalidAuthenticationToken',
      message: 'Invalid audience.',
    });
    const graphAud = { audience: DEFAULTS.graphClientId, scopes: ['User.Read'] };
    const expired = await me(`Bearer ${await fake.mintBrokenToken('expired', graphAud)}`);
    expect(expired.body.error?.message).toMatch(/expired/);
    expect((await me('Bearer garbage')).status).toBe(401);
    const app = await me(`Bearer ${await fake.mintAccessToken({ ...graphAud, app: true })}`);
    expect(app.status).toBe(400);
    const noScope = await me(
      `Bearer ${await fake.mintAccessToken({ audience: DEFAULTS.graphClientId, scopes: ['User.ReadBasic.Nope'] })}`,
    );
    expect(noScope.status).toBe(403);
    expect(noScope.body.error?.code).toBe('Authorization_RequestDenied');
    const ok = await me(
      `Bearer ${await fake.mintAccessToken({ ...graphAud, user: 'bob@contoso.test' })}`,
    );
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      id: DEFAULTS.users.bob.oid,
      displayName: 'Bob Example',
      givenName: 'Bob',
      surname: 'Example',
      userPrincipalName: 'bob@contoso.test',
    });
    const userinfo = await fetch(`${fake.baseUrl}/oidc/userinfo`, {
      headers: {
        authorization: `Bearer ${await fake.mintAccessToken({ ...graphAud, user: 'bob@contoso.test' })}`,
      },
    });
    expect(await userinfo.json()).toMatchObject({
      name: 'Bob Example',
      given_name: 'Bob',
      family_name: 'Example',
      email: 'bob@contoso.test',
    });
    expect((await fetch(`${fake.baseUrl}/oidc/userinfo`)).status).toBe(401);
  });
});
