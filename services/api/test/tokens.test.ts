// Every token rule, against the real fake issuer and the real HTTP server.
import { afterAll, beforeAll, describe, expect, test, jest } from '@jest/globals';

jest.setTimeout(30_000);
import { connect } from 'node:net';
import { decodeJwt } from 'jose';
import {
  ALICE,
  API_ID,
  BOB,
  DEFAULTS,
  FakeEntra,
  TENANT,
  call,
  read,
  startTestApi,
  write,
  type TestApi,
} from './support/api.ts';
import {
  largestTokenConfig,
  signInForToken,
  USER_APP_ROLES,
  v1ApiConfig,
} from './support/entra.ts';

let fake: FakeEntra;
let api: TestApi;

beforeAll(async () => {
  fake = await FakeEntra.start();
  api = await startTestApi(fake);
});

afterAll(async () => {
  await api?.close();
  await fake?.close();
});

const aliceToken = (o: Parameters<FakeEntra['mintAccessToken']>[0] = {}) =>
  fake.mintAccessToken({ user: ALICE, scopes: ['data.read', 'data.write'], ...o });

const challenge = (error: string, description: string, scope?: string) =>
  `Bearer realm="api", error="${error}", error_description="${description}"${scope ? `, scope="${scope}"` : ''}`;

describe('credentials', () => {
  test('no credentials: 401 with a bare challenge and no error code', async () => {
    const r = await read(api);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    expect(r.body.error).toBe('unauthorized');
  });

  test('another scheme is no credential for this API: bare challenge', async () => {
    const r = await read(api, undefined, { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer realm="api"');
  });

  test('a valid delegated token reads, with the scopes it carries', async () => {
    const r = await read(api, await aliceToken());
    expect(r.status).toBe(200);
    expect(r.body['current-user-scopes']).toEqual(['data.read', 'data.write']);
    expect(Array.isArray(r.body.data)).toBe(true);
  });

  test('token in the query string: 400 invalid_request, even alone', async () => {
    const token = await aliceToken();
    for (const r of [
      await call(`${api.url}/data/read?access_token=${token}`),
      await call(`${api.url}/data/read?access_token=${token}`, { token }),
      // The parameter name percent-encoded is the same parameter.
      await call(`${api.url}/data/read?access%5Ftoken=${token}`, { token }),
      await call(`${api.url}/data/read?%61ccess_token=${token}`),
    ]) {
      expect(r.status).toBe(400);
      expect(r.headers.get('www-authenticate')).toBe(
        challenge(
          'invalid_request',
          'Send the access token only in the Authorization header, not in the query string',
        ),
      );
      expect(r.body.error).toBe('invalid_request');
      expect(r.text).not.toContain(token);
    }
  });

  test('token also in a form body or JSON body: 400 invalid_request', async () => {
    const token = await aliceToken();
    const form = await call(`${api.url}/data/write`, {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `access_token=${token}`,
    });
    const json = await write(api, token, { access_token: token, note: 'x' });
    for (const r of [form, json]) {
      expect(r.status).toBe(400);
      expect(r.headers.get('www-authenticate')).toBe(
        challenge(
          'invalid_request',
          'Send the access token only in the Authorization header, not in the request body',
        ),
      );
    }
  });

  test('two tokens in one header, an empty Bearer, or two Authorization headers: 400 invalid_request', async () => {
    const token = await aliceToken();
    for (const header of [
      `Bearer ${token} ${token}`,
      `Bearer\t${token}`,
      `Bearer ${token}\u00a0x`,
      'Bearer ',
      'Bearer',
      'Bearer  ',
    ]) {
      const r = await read(api, undefined, { headers: { authorization: header } });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_request');
    }
    const raw = await rawRequest(
      api.url,
      `GET /data/read HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain(
      'error="invalid_request", error_description="The request carries more than one Authorization header"',
    );
  });

  test('the scheme name is case-insensitive', async () => {
    const r = await read(api, undefined, {
      headers: { authorization: `bearer ${await aliceToken()}` },
    });
    expect(r.status).toBe(200);
  });
});

describe('broken tokens from the issuer are rejected with a specific reason', () => {
  const cases: [Parameters<FakeEntra['mintBrokenToken']>[0], string][] = [
    ['expired', 'The token expired'],
    ['not-yet-valid', 'The token is not valid yet (nbf)'],
    ['wrong-audience', 'The token is not meant for this API (aud)'],
    ['wrong-issuer', 'The token was not issued by the expected issuer (iss)'],
    ['other-tenant', 'The token was issued for a tenant this API does not accept (tid)'],
    ['unknown-kid', 'The token is signed with a key the issuer does not publish'],
    ['no-kid', 'The token header has no key id (kid)'],
    ['alg-none', 'The token algorithm none is not accepted; only RS256 is'],
    ['hs256-with-public-key', 'The token algorithm HS256 is not accepted; only RS256 is'],
    ['tampered-payload', 'The token signature is invalid'],
    ['missing-exp', 'The token has no valid expiry (exp)'],
    ['id-token', 'ID tokens are not accepted; send an access token for this API'],
    ['v1-token', 'The token is a version 1.0 access token; this API accepts version 2.0 only'],
  ];
  test.each(cases)('%s', async (kind, description) => {
    const token = await fake.mintBrokenToken(kind, { user: ALICE, scopes: ['data.read'] });
    const r = await read(api, token);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe(challenge('invalid_token', description));
    expect(r.body).toEqual({ error: 'invalid_token', error_description: description });
    expect(r.text).not.toContain(token);
  });

  test('rejections are counted by reason and no token reaches the logs', async () => {
    const metrics = await call(String(api.metricsUrl));
    expect(metrics.text).toMatch(/api_token_rejections_total\{reason="expired"[^}]*\} [1-9]/);
    expect(metrics.text).toMatch(/api_token_rejections_total\{reason="bad_signature"[^}]*\} [1-9]/);
    const token = await aliceToken();
    await read(api, token);
    await call(`${api.url}/data/read?access_token=${token}`);
    expect(api.logs.text).not.toContain(token);
    expect(api.logs.text).not.toContain(token.split('.')[2]);
    expect(api.logs.text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });
});

// The rules themselves (algorithms, clock tolerance, iss, ver, tid, ID tokens) are tested on
// the verifier in packages/bearer/test; here what this API's configuration and server add.
describe('rules', () => {
  test('an oversized token: 401 too_large above MAX_TOKEN_BYTES (16384), 431 above the header limit', async () => {
    // Above Node's default 16 KiB header limit: the API's limit is the token's + 16 KiB.
    const longest = await read(api, 'a'.repeat(16_384));
    expect(longest.status).toBe(401);
    expect(longest.body.error_description).toBe(
      'The token is not a JWS compact serialization (header.payload.signature)',
    );
    const huge = await read(api, 'a'.repeat(16_385));
    expect(huge.status).toBe(401);
    expect(huge.body.error_description).toBe('The token is longer than 16384 characters');
    // Beyond the header limit the server refuses the request before any code runs.
    expect((await read(api, 'a'.repeat(33_000))).status).toBe(431);
    const garbage = await read(api, 'e30x.e30.c2ln');
    expect(garbage.headers.get('www-authenticate')).toBe(
      challenge('invalid_token', 'The token header is not valid base64url-encoded JSON'),
    );
  });

  test('aud may be the client id or api://<client id>; anything else is refused', async () => {
    expect((await read(api, await aliceToken({ audience: API_ID }))).status).toBe(200);
    expect((await read(api, await aliceToken({ audience: `api://${API_ID}` }))).status).toBe(200);
    const r = await read(api, await aliceToken({ audience: `api://${API_ID}/other` }));
    expect(r.body.error_description).toBe('The token is not meant for this API (aud)');
  });
});

describe('permissions', () => {
  test('missing scope: 403 insufficient_scope naming the scope', async () => {
    const bob = await fake.mintAccessToken({ user: BOB, scopes: ['data.read'] });
    expect((await read(api, bob)).status).toBe(200);
    const r = await write(api, bob, { note: 'bob' });
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toBe(
      challenge('insufficient_scope', 'The token does not grant data.write', 'data.write'),
    );
    expect(r.body).toEqual({
      error: 'insufficient_scope',
      error_description: 'The token does not grant data.write',
    });
  });

  test('scopes are case-sensitive', async () => {
    const r = await read(api, await aliceToken({ scopes: ['Data.Read', 'DATA.WRITE'] }));
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toContain('scope="data.read"');
  });

  test("a user's app roles never count as application permissions", async () => {
    const token = await aliceToken({ scopes: ['data.write'], roles: ['Data.Read.All'] });
    expect((await read(api, token)).status).toBe(403);
  });

  test("U1: a user token with roles but neither scp nor idtyp is a user's, and reads no one else's items", async () => {
    const secret = `alice-only-${Date.now()}`;
    expect((await write(api, await aliceToken(), { secret })).status).toBe(201);
    // Bob assigned the app role Data.Read.All as a user: his token carries roles, no scp, and
    // (the optional claim not configured) no idtyp; oid != sub as in every user token.
    const token = await fake.mintAccessToken({
      user: BOB,
      roles: ['Data.Read.All'],
      claims: { scp: undefined, idtyp: undefined },
    });
    const claims = decodeJwt(token);
    expect(claims.scp).toBeUndefined();
    expect(claims.idtyp).toBeUndefined();
    expect(claims.oid).not.toBe(claims.sub);
    const r = await read(api, token);
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toBe(
      challenge('insufficient_scope', 'The token does not grant data.read', 'data.read'),
    );
    expect(r.text).not.toContain(secret);
    // With scp, bob reads his own items only, never alice's.
    const withScope = await fake.mintAccessToken({
      user: BOB,
      scopes: ['data.read'],
      roles: ['Data.Read.All'],
      claims: { idtyp: undefined },
    });
    const own = await read(api, withScope);
    expect(own.status).toBe(200);
    expect(own.text).not.toContain(secret);
    // An app token without idtyp (oid == sub, no scp) is still app-only.
    const daemon = await fake.mintAccessToken({
      app: true,
      roles: ['Data.Read.All'],
      claims: { idtyp: undefined },
    });
    const tenantWide = await read(api, daemon);
    expect(tenantWide.status).toBe(200);
    expect(tenantWide.text).toContain(secret);
  });

  test('app tokens use roles: Data.Read.All reads, Data.Write.All writes, nothing else', async () => {
    const reader = await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'] });
    const r = await read(api, reader);
    expect(r.status).toBe(200);
    expect(r.body['current-user-scopes']).toEqual(['Data.Read.All']);
    const denied = await write(api, reader, { from: 'daemon' });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toContain('scope="Data.Write.All"');
    const writer = await fake.mintAccessToken({ app: true, roles: ['Data.Write.All'] });
    expect((await write(api, writer, { from: 'daemon' })).status).toBe(201);
    const scopesOnApp = await fake.mintAccessToken({
      app: true,
      roles: ['Data.Read.All'],
      claims: { scp: 'data.read' },
    });
    expect((await read(api, scopesOnApp)).body.error_description).toBe(
      'An app-only token (idtyp app) must not carry delegated scopes (scp)',
    );
    const noRoles = await fake.mintAccessToken({ app: true, roles: [] });
    expect((await read(api, noRoles)).status).toBe(403);
  });
});

describe('verified-token cache', () => {
  test('a reused token is served from the cache; expiry is still enforced', async () => {
    const hits = async () =>
      Number(
        /api_token_cache_hits_total(?:\{[^}]*\})? (\d+)/.exec(
          (await call(String(api.metricsUrl))).text,
        )?.[1] ?? 0,
      );
    const token = await aliceToken();
    await read(api, token);
    const before = await hits();
    await read(api, token);
    await read(api, token);
    expect(await hits()).toBe(before + 2);
  });

  test('TOKEN_CACHE_MAX_ENTRIES=0 turns the cache off', async () => {
    const uncached = await startTestApi(fake, { TOKEN_CACHE_MAX_ENTRIES: '0' });
    try {
      const token = await aliceToken();
      for (let i = 0; i < 3; i++) expect((await read(uncached, token)).status).toBe(200);
      expect((await call(String(uncached.metricsUrl))).text).toMatch(
        /api_token_cache_hits_total(?:\{[^}]*\})? 0/,
      );
    } finally {
      await uncached.close();
    }
  });
});

describe('configurable issuers', () => {
  test('tenants: another tenant only via ALLOWED_TENANTS', async () => {
    const other = '11111111-2222-4333-8444-555555555555';
    const token = await fake.mintAccessToken({ user: ALICE, scopes: ['data.read'], tenant: other });
    expect(decodeJwt(token).tid).toBe(other);
    expect((await read(api, token)).body.error_description).toBe(
      'The token was issued for a tenant this API does not accept (tid)',
    );
    const multi = await startTestApi(fake, { ALLOWED_TENANTS: other });
    try {
      expect((await read(multi, token)).status).toBe(200);
    } finally {
      await multi.close();
    }
  });

  test('v1 tokens only when ACCEPTED_TOKEN_VERSIONS includes 1.0', async () => {
    const token = await fake.mintBrokenToken('v1-token', { user: ALICE, scopes: ['data.read'] });
    expect(decodeJwt(token).iss).toBe(`https://sts.windows.net/${TENANT}/`);
    const v1 = await startTestApi(fake, { ACCEPTED_TOKEN_VERSIONS: '1.0,2.0' });
    try {
      expect((await read(v1, token)).status).toBe(200);
      expect((await read(v1, await aliceToken())).status).toBe(200);
    } finally {
      await v1.close();
    }
  });
});

describe('token versions: an API registration left at v1.0 tokens', () => {
  for (const version of [null, 1] as const) {
    test(`accessTokenAcceptedVersion ${version}: 401 named as a version mismatch and logged; accepted with ACCEPTED_TOKEN_VERSIONS=1.0, both aud forms`, async () => {
      const v1Fake = await FakeEntra.start({ config: v1ApiConfig(version) });
      const strict = await startTestApi(v1Fake);
      const v1 = await startTestApi(v1Fake, { ACCEPTED_TOKEN_VERSIONS: '1.0' });
      try {
        // As Entra issues them: aud as the client asked (App ID URI or client id), v1 issuer.
        for (const resource of [`api://${API_ID}`, API_ID]) {
          const token = await signInForToken(v1Fake, {
            upn: ALICE,
            scope: `${resource}/data.read`,
          });
          const claims = decodeJwt(token);
          expect(claims).toMatchObject({
            ver: '1.0',
            aud: resource,
            iss: `https://sts.windows.net/${TENANT}/`,
          });
          const refused = await read(strict, token);
          expect(refused.status).toBe(401);
          expect(refused.headers.get('www-authenticate')).toBe(
            challenge(
              'invalid_token',
              'The token is a version 1.0 access token; this API accepts version 2.0 only',
            ),
          );
          expect((await read(v1, token)).status).toBe(200);
        }
        const logged = strict.logs.entries().find((l) => l.msg === 'access token version mismatch');
        expect(logged).toMatchObject({
          level: 'warn',
          reason: 'unsupported_version',
          acceptedVersions: ['2.0'],
        });
        expect(String(logged?.hint)).toContain('accessTokenAcceptedVersion');
        // A v1-only API refuses v2.0 tokens the same way.
        const v2 = await v1Fake.mintAccessToken({ version: 2, scopes: ['data.read'] });
        expect((await read(v1, v2)).body.error_description).toBe(
          'The token is a version 2.0 access token; this API accepts version 1.0 only',
        );
      } finally {
        await strict.close();
        await v1.close();
        await v1Fake.close();
      }
    });
  }
});

describe('multi-tenant: TENANT_ID=organizations with ALLOWED_TENANTS', () => {
  const FABRIKAM = DEFAULTS.secondTenantId;
  const carolToken = () =>
    fake.mintAccessToken({
      user: DEFAULTS.users.carol.upn,
      scopes: ['data.read', 'data.write'],
      tenant: FABRIKAM,
    });

  test("Fabrikam's user is accepted when listed; the issuer must be the {tenantid} template filled with the token's tid", async () => {
    const multi = await startTestApi(fake, {
      TENANT_ID: 'organizations',
      ALLOWED_TENANTS: `${TENANT},${FABRIKAM}`,
    });
    try {
      expect(multi.api.verifier.issuer).toBe(`${fake.baseUrl}/{tenantid}/v2.0`);
      const carol = await carolToken();
      expect(decodeJwt(carol)).toMatchObject({
        tid: FABRIKAM,
        iss: `${fake.baseUrl}/${FABRIKAM}/v2.0`,
      });
      const note = `carol-${Date.now()}`;
      expect((await write(multi, carol, { note })).status).toBe(201);
      const carolReads = await read(multi, carol);
      expect(carolReads.status).toBe(200);
      expect(carolReads.text).toContain(note);
      // Each tenant's users see their own items only.
      const alice = await read(multi, await aliceToken());
      expect(alice.status).toBe(200);
      expect(alice.text).not.toContain(note);
      // tid of Fabrikam with the issuer of Contoso: Microsoft.Identity.Web refuses it too.
      const mixed = await fake.mintAccessToken({
        user: DEFAULTS.users.carol.upn,
        scopes: ['data.read'],
        tenant: FABRIKAM,
        claims: { iss: fake.issuer(TENANT) },
      });
      expect((await read(multi, mixed)).body.error_description).toBe(
        'The token was not issued by the expected issuer (iss)',
      );
      const other = await fake.mintAccessToken({
        user: ALICE,
        scopes: ['data.read'],
        tenant: '11111111-2222-4333-8444-555555555555',
      });
      expect((await read(multi, other)).body.error_description).toBe(
        'The token was issued for a tenant this API does not accept (tid)',
      );
    } finally {
      await multi.close();
    }
  });

  test('a tenant not listed is refused; ALLOWED_TENANTS=* accepts any tenant', async () => {
    const onlyContoso = await startTestApi(fake, {
      TENANT_ID: 'common',
      ALLOWED_TENANTS: TENANT,
    });
    const any = await startTestApi(fake, { TENANT_ID: 'organizations', ALLOWED_TENANTS: '*' });
    try {
      const carol = await carolToken();
      expect((await read(onlyContoso, carol)).body.error_description).toBe(
        'The token was issued for a tenant this API does not accept (tid)',
      );
      expect((await read(onlyContoso, await aliceToken())).status).toBe(200);
      expect((await read(any, carol)).status).toBe(200);
      // The single-tenant default refuses Fabrikam.
      expect((await read(api, carol)).status).toBe(401);
    } finally {
      await onlyContoso.close();
      await any.close();
    }
  });
});

describe('token size', () => {
  test("Entra's largest token without overage (200 groups, 5 app roles, 5 directory roles) is accepted", async () => {
    const bigFake = await FakeEntra.start({ config: largestTokenConfig() });
    const big = await startTestApi(bigFake);
    try {
      const token = await signInForToken(bigFake, {
        upn: ALICE,
        scope: `api://${API_ID}/data.read api://${API_ID}/data.write`,
      });
      const claims = decodeJwt(token);
      expect(claims.groups).toHaveLength(200);
      expect(claims.wids).toHaveLength(5);
      expect(claims.roles).toEqual(USER_APP_ROLES);
      // Printed for the size limits of the web app and the ingress.
      console.log(
        `largest v2.0 access token: ${token.length} bytes; Authorization header value ${`Bearer ${token}`.length}`,
      );
      expect(token.length).toBeGreaterThan(12_000);
      expect(token.length).toBeLessThan(16_384);
      const r = await read(big, token);
      expect(r.status).toBe(200);
      expect((await write(big, token, { note: 'big token' })).status).toBe(201);
    } finally {
      await big.close();
      await bigFake.close();
    }
  });
});

describe('any OpenID Connect issuer (OIDC_ISSUER)', () => {
  test('discovery at the issuer, iss must equal it exactly, no Entra tenant rules', async () => {
    const oidc = await startTestApi(fake, { OIDC_ISSUER: fake.issuer(), TENANT_ID: undefined });
    try {
      expect((await read(oidc, await aliceToken())).status).toBe(200);
      const other = await fake.mintAccessToken({
        user: ALICE,
        scopes: ['data.read'],
        tenant: '11111111-2222-4333-8444-555555555555',
      });
      expect((await read(oidc, other)).body.error_description).toBe(
        'The token was not issued by the expected issuer (iss)',
      );
      expect(
        (
          await read(
            oidc,
            await fake.mintBrokenToken('expired', { user: ALICE, scopes: ['data.read'] }),
          )
        ).status,
      ).toBe(401);
    } finally {
      await oidc.close();
    }
  });
});

function rawRequest(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}
