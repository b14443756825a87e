// createEntraVerifier / createOidcVerifier against the real fake issuer: principals, every
// broken token kind, the claim rules, tenants, versions, realms, options.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import {
  BearerError,
  InvalidOptionError,
  InvalidTokenError,
  createEntraVerifier,
  createOidcVerifier,
  entraEndpoints,
  oidcDiscoveryUrl,
  type TokenVerifier,
} from '@koa-entra/bearer';
import {
  ALICE,
  API_ID,
  AUDIENCES,
  DEFAULTS,
  FakeEntra,
  OTHER_TENANT,
  TENANT,
  entraOptions,
} from './support/fake.ts';

jest.setTimeout(30_000);

let fake: FakeEntra;
let verifier: TokenVerifier;
beforeAll(async () => {
  fake = await FakeEntra.start();
  verifier = createEntraVerifier(entraOptions(fake));
});
afterAll(async () => {
  await fake?.close();
});

const aliceToken = (o: Parameters<FakeEntra['mintAccessToken']>[0] = {}) =>
  fake.mintAccessToken({ user: ALICE, scopes: ['data.read', 'data.write'], ...o });

/** The error verify() throws (fails the test when it resolves). */
async function rejection(v: TokenVerifier, token: string): Promise<InvalidTokenError> {
  const error = await v.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof InvalidTokenError))
    throw new Error(`expected InvalidTokenError, got ${String(error)}`);
  return error;
}

describe('principals', () => {
  test('a delegated token: user, tenant, oid, client, scopes, and the user app roles kept', async () => {
    const principal = await verifier.verify(await aliceToken({ roles: ['Admin'] }));
    expect(principal).toMatchObject({
      kind: 'user',
      tenantId: TENANT,
      objectId: DEFAULTS.users.alice.oid,
      clientId: DEFAULTS.webClientId,
      scopes: ['data.read', 'data.write'],
      roles: ['Admin'],
    });
    expect(principal.claims.preferred_username).toBe(ALICE);
  });

  test('an app-only token: app, application permissions in roles, no scopes', async () => {
    const principal = await verifier.verify(
      await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'] }),
    );
    expect(principal).toMatchObject({
      kind: 'app',
      tenantId: TENANT,
      clientId: DEFAULTS.daemonClientId,
      scopes: [],
      roles: ['Data.Read.All'],
    });
  });

  test('app-only without idtyp: no scp and oid equal to sub (Entra access-tokens)', async () => {
    const token = await fake.mintAccessToken({ app: true, claims: { idtyp: undefined } });
    const claims = decodeJwt(token);
    expect(claims.oid).toBe(claims.sub);
    expect((await verifier.verify(token)).kind).toBe('app');
  });

  test('a user token with roles but neither scp nor idtyp is a user, never app-only (U1)', async () => {
    const token = await aliceToken({
      roles: ['Data.Read.All'],
      claims: { scp: undefined, idtyp: undefined },
    });
    const claims = decodeJwt(token);
    expect(claims.oid).not.toBe(claims.sub);
    expect(await verifier.verify(token)).toMatchObject({
      kind: 'user',
      scopes: [],
      roles: ['Data.Read.All'],
    });
    // idtyp user without scp, and oid == sub with scp: users too.
    expect(
      (await verifier.verify(await aliceToken({ claims: { scp: undefined, idtyp: 'user' } }))).kind,
    ).toBe('user');
    const sub = decodeJwt(await aliceToken()).sub;
    expect(
      (await verifier.verify(await aliceToken({ claims: { idtyp: undefined, oid: sub } }))).kind,
    ).toBe('user');
  });

  test('a user in 200 groups with app roles, directory roles and optional claims: accepted (over 12 KiB)', async () => {
    const groups = Array.from({ length: 200 }, () => randomUUID());
    const wids = Array.from({ length: 5 }, () => randomUUID());
    const roles = ['Data.Reader', 'Data.Writer', 'Auditor', 'Approver', 'Administrator'];
    // Optional claims an API may ask for, on top of the 12,122 characters of the rest.
    const optional = {
      email: ALICE,
      given_name: 'Alice',
      family_name: 'Example',
      ipaddr: '203.0.113.17',
      acrs: ['c1'],
      xms_cc: ['cp1'],
    };
    const token = await aliceToken({ roles, claims: { groups, wids, ...optional } });
    expect(token.length).toBeGreaterThan(12_288);
    expect((await verifier.verify(token)).roles).toEqual(roles);
  });

  test('the principal and its claims are frozen, all the way down', async () => {
    const principal = await verifier.verify(await aliceToken({ roles: ['Admin'] }));
    expect(Object.isFrozen(principal)).toBe(true);
    expect(Object.isFrozen(principal.scopes)).toBe(true);
    expect(Object.isFrozen(principal.claims)).toBe(true);
    expect(Object.isFrozen(principal.claims.roles)).toBe(true);
    expect(() => (principal.scopes as string[]).push('data.admin')).toThrow(TypeError);
  });

  test('a reused token is answered from the cache: the same principal', async () => {
    const token = await aliceToken();
    const hits: number[] = [];
    const cached = createEntraVerifier(
      entraOptions(fake, { hooks: { cacheHit: () => hits.push(1) } }),
    );
    const first = await cached.verify(token);
    expect(await cached.verify(token)).toBe(first);
    expect(hits).toHaveLength(1);
  });

  test('verifiedBefore() answers at once from the cache, and only for tokens verify() accepted', async () => {
    const token = await aliceToken();
    const hits: number[] = [];
    const cached = createEntraVerifier(
      entraOptions(fake, { hooks: { cacheHit: () => hits.push(1) } }),
    );
    expect(cached.verifiedBefore(token)).toBeUndefined(); // not verified yet: verify() decides
    const principal = await cached.verify(token);
    expect(cached.verifiedBefore(token)).toBe(principal);
    expect(hits).toHaveLength(1);
    // The same signature with another payload is not the token that was verified.
    const [h, , sig] = token.split('.');
    const forged = `${h}.${Buffer.from('{"oid":"x"}').toString('base64url')}.${sig}`;
    expect(cached.verifiedBefore(forged)).toBeUndefined();
    expect(cached.verifiedBefore('x'.repeat(20_000))).toBeUndefined();
    expect(cached.verifiedBefore(42 as unknown as string)).toBeUndefined();
    cached.clearCache();
    expect(cached.verifiedBefore(token)).toBeUndefined();
  });
});

describe('broken tokens from the issuer are rejected with a specific reason', () => {
  const cases: [Parameters<FakeEntra['mintBrokenToken']>[0], string, string][] = [
    ['expired', 'expired', 'The token expired'],
    ['not-yet-valid', 'not_yet_valid', 'The token is not valid yet (nbf)'],
    ['wrong-audience', 'wrong_audience', 'The token is not meant for this API (aud)'],
    ['wrong-issuer', 'wrong_issuer', 'The token was not issued by the expected issuer (iss)'],
    [
      'other-tenant',
      'wrong_tenant',
      'The token was issued for a tenant this API does not accept (tid)',
    ],
    ['unknown-kid', 'unknown_kid', 'The token is signed with a key the issuer does not publish'],
    ['no-kid', 'missing_kid', 'The token header has no key id (kid)'],
    ['alg-none', 'unsupported_alg', 'The token algorithm none is not accepted; only RS256 is'],
    [
      'hs256-with-public-key',
      'unsupported_alg',
      'The token algorithm HS256 is not accepted; only RS256 is',
    ],
    ['tampered-payload', 'bad_signature', 'The token signature is invalid'],
    ['missing-exp', 'missing_exp', 'The token has no valid expiry (exp)'],
    ['id-token', 'id_token', 'ID tokens are not accepted; send an access token for this API'],
    [
      'v1-token',
      'unsupported_version',
      'The token is a version 1.0 access token; this API accepts version 2.0 only',
    ],
  ];
  test.each(cases)('%s', async (kind, reason, description) => {
    const token = await fake.mintBrokenToken(kind, { user: ALICE, scopes: ['data.read'] });
    const error = await rejection(verifier, token);
    expect(error).toBeInstanceOf(BearerError);
    expect(error).toMatchObject({
      code: 'ERR_BEARER_INVALID_TOKEN',
      reason,
      message: description,
      status: 401,
      expose: true,
      error: 'invalid_token',
      headers: {
        'WWW-Authenticate': `Bearer realm="api", error="invalid_token", error_description="${description}"`,
      },
    });
    // Nothing of the token or its claims rides along (a logger may serialise the error).
    expect(error.cause).toBeUndefined();
    const serialised = JSON.stringify({ ...error, message: error.message, stack: error.stack });
    expect(serialised).not.toContain(token.split('.')[1] as string);
    expect(serialised).not.toContain(ALICE);
  });

  test('every kind the fake issuer mints is covered', async () => {
    const { BROKEN_TOKEN_KINDS } = await import('@koa-entra/fake-entra');
    expect([...BROKEN_TOKEN_KINDS].sort()).toEqual(cases.map(([kind]) => kind).sort());
  });
});

describe('claim rules', () => {
  test('oversized and malformed tokens are rejected before decoding', async () => {
    expect(await rejection(verifier, 'a'.repeat(16_385))).toMatchObject({
      reason: 'too_large',
      message: 'The token is longer than 16384 characters',
    });
    const small = createEntraVerifier(entraOptions(fake, { maxTokenLength: 1024 }));
    expect(await rejection(small, await aliceToken())).toMatchObject({
      reason: 'too_large',
      message: 'The token is longer than 1024 characters',
    });
    for (const token of ['abc', 'a.b', 'a.b.c.d', 'a..c', 'not a token']) {
      expect((await rejection(verifier, token)).reason).toBe('malformed');
    }
    expect((await rejection(verifier, 'e30x.e30.c2ln')).message).toBe(
      'The token header is not valid base64url-encoded JSON',
    );
  });

  test('algorithms other than RS256 named in the header are refused', async () => {
    for (const alg of ['PS256', 'RS512', 'ES256']) {
      const error = await rejection(verifier, await aliceToken({ header: { alg } }));
      expect(error.message).toBe(`The token algorithm ${alg} is not accepted; only RS256 is`);
    }
  });

  test('aud: any configured audience, nothing else', async () => {
    await expect(verifier.verify(await aliceToken({ audience: API_ID }))).resolves.toBeDefined();
    await expect(
      verifier.verify(await aliceToken({ audience: `api://${API_ID}` })),
    ).resolves.toBeDefined();
    const single = createEntraVerifier(entraOptions(fake, { audience: API_ID }));
    expect(
      (await rejection(single, await aliceToken({ audience: `api://${API_ID}` }))).reason,
    ).toBe('wrong_audience');
    expect(
      (await rejection(verifier, await aliceToken({ audience: `api://${API_ID}/other` }))).message,
    ).toBe('The token is not meant for this API (aud)');
  });

  test('exp and nbf within the clock tolerance are accepted; beyond it refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const past = { iat: now - 3600, nbf: now - 3600 };
    await expect(
      verifier.verify(await aliceToken({ claims: { ...past, exp: now - 10 } })),
    ).resolves.toBeDefined();
    expect(
      (await rejection(verifier, await aliceToken({ claims: { ...past, exp: now - 40 } }))).reason,
    ).toBe('expired');
    await expect(
      verifier.verify(await aliceToken({ claims: { nbf: now + 10 } })),
    ).resolves.toBeDefined();
    expect(
      (await rejection(verifier, await aliceToken({ claims: { nbf: now + 120 } }))).reason,
    ).toBe('not_yet_valid');
    const strict = createEntraVerifier(entraOptions(fake, { clockToleranceSeconds: 0 }));
    expect(
      (await rejection(strict, await aliceToken({ claims: { ...past, exp: now - 10 } }))).reason,
    ).toBe('expired');
  });

  test('a cached token is refused once it expires', async () => {
    let now = Date.now();
    const clocked = createEntraVerifier(
      entraOptions(fake, { clockToleranceSeconds: 0, now: () => now }),
    );
    const exp = Math.floor(now / 1000) + 60;
    const token = await aliceToken({ claims: { exp } });
    await clocked.verify(token);
    await clocked.verify(token);
    expect(clocked.cacheSize).toBe(1);
    now = exp * 1000 + 1;
    expect(clocked.verifiedBefore(token)).toBeUndefined();
    expect((await rejection(clocked, token)).message).toBe('The token expired');
  });

  test('iss must be exactly the tenant v2.0 issuer', async () => {
    for (const iss of [
      `${fake.issuer()}/`,
      fake.issuer().toUpperCase(),
      `https://sts.windows.net/${TENANT}/`,
    ]) {
      expect((await rejection(verifier, await aliceToken({ claims: { iss } }))).reason).toBe(
        'wrong_issuer',
      );
    }
  });

  test('tokens without ver or tid are refused', async () => {
    expect(
      (await rejection(verifier, await aliceToken({ claims: { ver: undefined } }))).message,
    ).toBe('The token has no supported version (ver)');
    expect(
      (await rejection(verifier, await aliceToken({ claims: { tid: undefined } }))).message,
    ).toBe('The token has no tenant id (tid)');
  });

  test('a token carrying a nonce is an ID token, whatever its audience', async () => {
    expect(
      (await rejection(verifier, await aliceToken({ claims: { nonce: 'n-0S6_WzA2Mj' } }))).reason,
    ).toBe('id_token');
  });

  test('scp, roles and idtyp must be consistent', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ scp: ['data.read'] }, 'The token scopes (scp) are not a string'],
      [{ roles: 'Admin' }, 'The token roles are not a list of strings'],
      [{ idtyp: 'device' }, 'The token type (idtyp) is neither user nor app'],
      [{ idtyp: 'app' }, 'An app-only token (idtyp app) must not carry delegated scopes (scp)'],
      [{ oid: undefined }, 'The token has no object id (oid)'],
    ];
    for (const [claims, message] of cases) {
      const error = await rejection(verifier, await aliceToken({ claims }));
      expect(error).toMatchObject({ reason: 'invalid_claims', message });
    }
  });
});

describe('tenants and versions', () => {
  test('another tenant only when allowed', async () => {
    const token = await fake.mintAccessToken({
      user: ALICE,
      scopes: ['data.read'],
      tenant: OTHER_TENANT,
    });
    expect(decodeJwt(token).tid).toBe(OTHER_TENANT);
    expect((await rejection(verifier, token)).reason).toBe('wrong_tenant');
    const multi = createEntraVerifier(entraOptions(fake, { allowedTenants: [OTHER_TENANT] }));
    expect((await multi.verify(token)).tenantId).toBe(OTHER_TENANT);
    expect((await multi.verify(await aliceToken())).tenantId).toBe(TENANT);
  });

  test('allowedTenants alone: the first one is the home tenant (discovery)', async () => {
    const v = createEntraVerifier({
      authority: fake.baseUrl,
      allowedTenants: [TENANT.toUpperCase(), OTHER_TENANT],
      audience: AUDIENCES,
    });
    expect(v.issuer).toBe(fake.issuer(TENANT));
    await expect(v.verify(await aliceToken())).resolves.toBeDefined();
  });

  test('organizations with any tenant: the {tenantid} issuer template, filled with the token tid', async () => {
    const any = createEntraVerifier(
      entraOptions(fake, { tenantId: 'organizations', allowedTenants: '*' }),
    );
    expect(any.discoveryUrl).toBe(
      `${fake.baseUrl}/organizations/v2.0/.well-known/openid-configuration`,
    );
    expect(any.issuer).toBe(`${fake.baseUrl}/{tenantid}/v2.0`);
    const second = DEFAULTS.secondTenantId;
    const carol = await fake.mintAccessToken({
      user: DEFAULTS.users.carol.upn,
      scopes: ['data.read'],
      tenant: DEFAULTS.secondTenantId,
    });
    expect(decodeJwt(carol).tid).toBe(second);
    expect((await any.verify(carol)).tenantId).toBe(second);
    expect((await any.verify(await aliceToken())).tenantId).toBe(TENANT);
    // The issuer must name the token's own tenant (AadIssuerValidator): tid X with iss of Y is refused.
    const mixed = await aliceToken({ claims: { iss: fake.issuer(second) } });
    expect((await rejection(any, mixed)).reason).toBe('wrong_issuer');
    const v1 = createEntraVerifier(
      entraOptions(fake, { tenantId: 'common', allowedTenants: '*', acceptedVersions: ['1.0'] }),
    );
    const v1Token = await aliceToken({ version: 1 });
    expect(decodeJwt(v1Token).iss).toBe(`https://sts.windows.net/${TENANT}/`);
    expect((await v1.verify(v1Token)).tenantId).toBe(TENANT);
    const v1Mixed = await aliceToken({
      version: 1,
      claims: { iss: `https://sts.windows.net/${second}/` },
    });
    expect((await rejection(v1, v1Mixed)).reason).toBe('wrong_issuer');
  });

  test('organizations with a list: only the listed tenants', async () => {
    const listed = createEntraVerifier(
      entraOptions(fake, { tenantId: 'organizations', allowedTenants: [DEFAULTS.secondTenantId] }),
    );
    const carol = await fake.mintAccessToken({
      user: DEFAULTS.users.carol.upn,
      scopes: ['data.read'],
      tenant: DEFAULTS.secondTenantId,
    });
    await expect(listed.verify(carol)).resolves.toBeDefined();
    expect((await rejection(listed, await aliceToken())).reason).toBe('wrong_tenant');
    const home = createEntraVerifier(entraOptions(fake, { allowedTenants: '*' }));
    await expect(home.verify(carol)).resolves.toBeDefined();
  });

  test('v1 tokens (iss https://sts.windows.net/{tid}/) only when 1.0 is accepted', async () => {
    const token = await fake.mintBrokenToken('v1-token', { user: ALICE, scopes: ['data.read'] });
    expect(decodeJwt(token).iss).toBe(`https://sts.windows.net/${TENANT}/`);
    const both = createEntraVerifier(entraOptions(fake, { acceptedVersions: ['1.0', '2.0'] }));
    expect((await both.verify(token)).kind).toBe('user');
    await expect(both.verify(await aliceToken())).resolves.toBeDefined();
    const v1Only = createEntraVerifier(entraOptions(fake, { acceptedVersions: ['1.0'] }));
    expect((await rejection(v1Only, await aliceToken())).message).toBe(
      'The token is a version 2.0 access token; this API accepts version 1.0 only',
    );
    // A v1 token must carry the v1 issuer, a v2 token the v2 one.
    const v1WithV2Issuer = await fake.mintAccessToken({
      user: ALICE,
      scopes: ['data.read'],
      claims: { ver: '1.0' },
    });
    expect((await rejection(both, v1WithV2Issuer)).reason).toBe('wrong_issuer');
  });
});

describe('any OpenID Connect issuer', () => {
  test('discovery at the issuer, iss must equal it exactly, no Entra tenant rules', async () => {
    const oidc = createOidcVerifier({ issuer: fake.issuer(), audience: AUDIENCES });
    expect(oidc.discoveryUrl).toBe(`${fake.issuer()}/.well-known/openid-configuration`);
    const principal = await oidc.verify(await aliceToken({ claims: { ver: undefined } }));
    expect(principal).toMatchObject({ kind: 'user', tenantId: TENANT });
    const other = await fake.mintAccessToken({
      user: ALICE,
      scopes: ['data.read'],
      tenant: OTHER_TENANT,
    });
    expect((await rejection(oidc, other)).reason).toBe('wrong_issuer');
    expect(
      (await rejection(oidc, await fake.mintBrokenToken('expired', { user: ALICE }))).reason,
    ).toBe('expired');
  });

  test('sub stands in for a missing oid; the issuer for a missing tid', async () => {
    const oidc = createOidcVerifier({ issuer: fake.issuer(), audience: AUDIENCES });
    const token = await aliceToken({ claims: { oid: undefined, tid: undefined } });
    const principal = await oidc.verify(token);
    expect(principal.objectId).toBe(decodeJwt(token).sub);
    expect(principal.tenantId).toBe(fake.issuer());
  });

  test('oidcDiscoveryUrl drops trailing slashes', () => {
    expect(oidcDiscoveryUrl('https://issuer.example/realms/demo/')).toBe(
      'https://issuer.example/realms/demo/.well-known/openid-configuration',
    );
  });
});

describe('realm', () => {
  test('a verifier with another realm names it in every challenge', async () => {
    const v = createEntraVerifier(entraOptions(fake, { realm: 'contoso-data' }));
    expect(v.realm).toBe('contoso-data');
    const error = await rejection(v, await fake.mintBrokenToken('expired', { user: ALICE }));
    expect(error.headers['WWW-Authenticate']).toBe(
      'Bearer realm="contoso-data", error="invalid_token", error_description="The token expired"',
    );
  });
});

describe('Entra endpoints', () => {
  test('one place for the URLs of a tenant', () => {
    expect(entraEndpoints({ tenantId: TENANT })).toEqual({
      issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
      v1Issuer: `https://sts.windows.net/${TENANT}/`,
      discoveryUrl: `https://login.microsoftonline.com/${TENANT}/v2.0/.well-known/openid-configuration`,
      authorizationEndpoint: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/authorize`,
      tokenEndpoint: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`,
    });
    expect(entraEndpoints({ authority: `${fake.baseUrl}//`, tenantId: TENANT }).issuer).toBe(
      fake.issuer(),
    );
  });

  test('national clouds: the v2.0 issuer on the cloud host, the v1.0 issuer of that cloud', () => {
    const cases: [string, string][] = [
      ['https://login.microsoftonline.us', 'https://sts.windows.net'],
      ['https://login.partner.microsoftonline.cn', 'https://sts.chinacloudapi.cn'],
      ['https://login.chinacloudapi.cn', 'https://sts.chinacloudapi.cn'],
      ['https://login.microsoftonline.com', 'https://sts.windows.net'],
    ];
    for (const [authority, v1] of cases) {
      // login.chinacloudapi.cn is an alias whose tokens name login.partner.microsoftonline.cn (MSAL's metadata).
      const issuerHost = authority.replace(
        'login.chinacloudapi.cn',
        'login.partner.microsoftonline.cn',
      );
      expect(entraEndpoints({ authority, tenantId: TENANT })).toMatchObject({
        issuer: `${issuerHost}/${TENANT}/v2.0`,
        v1Issuer: `${v1}/${TENANT}/`,
        discoveryUrl: `${authority}/${TENANT}/v2.0/.well-known/openid-configuration`,
      });
    }
    expect(entraEndpoints({ tenantId: 'organizations' })).toMatchObject({
      issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
      v1Issuer: 'https://sts.windows.net/{tenantid}/',
      authorizationEndpoint:
        'https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize',
    });
  });

  test('the discovery document the fake issuer serves agrees with them', async () => {
    const urls = entraEndpoints({ authority: fake.baseUrl, tenantId: TENANT });
    const doc = (await (await fetch(urls.discoveryUrl)).json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      issuer: urls.issuer,
      authorization_endpoint: expect.stringMatching(/\/oauth2\/v2\.0\/authorize$/),
      token_endpoint: urls.tokenEndpoint,
    });
  });
});

describe('options are checked when the verifier is created', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'tenantId',
      { tenantId: 'contoso' },
      'tenantId must be a tenant GUID, organizations or common, got "contoso"',
    ],
    ['tenantId', { tenantId: undefined }, 'tenantId is required (or give allowedTenants)'],
    [
      'allowedTenants',
      { allowedTenants: ['x'] },
      'allowedTenants must be tenant GUIDs (or "*"), got "x"',
    ],
    [
      'allowedTenants',
      { tenantId: 'organizations' },
      'allowedTenants is required with tenantId organizations: list the tenant GUIDs whose tokens are accepted, or "*" for any tenant',
    ],
    ['maxTokenLength', { maxTokenLength: 100 }, 'maxTokenLength must be at least 1024 characters'],
    ['audience', { audience: [] }, 'audience is required (a string or a non-empty list)'],
    ['audience', { audience: [''] }, 'audience must contain non-empty strings only'],
    [
      'authority',
      { authority: 'http://login.example' },
      'authority must be an https URL, got http://login.example',
    ],
    [
      'acceptedVersions',
      { acceptedVersions: ['3.0'] },
      'acceptedVersions must list "1.0" and/or "2.0"',
    ],
    [
      'clockToleranceSeconds',
      { clockToleranceSeconds: -1 },
      'clockToleranceSeconds must be a number >= 0, got -1',
    ],
    [
      'cacheMaxEntries',
      { cacheMaxEntries: 1.5 },
      'cacheMaxEntries must be a whole number, got 1.5',
    ],
    ['jwks.refreshSeconds', { jwks: { refreshSeconds: 0 } }, 'jwks.refreshSeconds must be > 0'],
    ['realm', { realm: 'a"b' }, 'realm must be printable ASCII without " or \\'],
  ];
  test.each(cases)('%s: %j', (option, overrides, message) => {
    const create = () =>
      createEntraVerifier({ tenantId: TENANT, audience: API_ID, ...overrides } as never);
    expect(create).toThrow(InvalidOptionError);
    expect(create).toThrow(message);
    try {
      create();
    } catch (error) {
      expect(error).toMatchObject({ code: 'ERR_BEARER_INVALID_OPTION', option });
    }
  });

  test('OIDC: the issuer must be an https URL', () => {
    expect(() => createOidcVerifier({ issuer: 'http://issuer.example', audience: 'x' })).toThrow(
      'issuer must be an https URL, got http://issuer.example',
    );
  });
});
