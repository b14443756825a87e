// Discovery, instance discovery and keys, compared field by field with Entra's recorded
// documents: the v2.0 openid-configuration of /common (panva/wellknown, issuers/entra-common,
// commit dfd93e7), a tenant's (azure-sdk-for-js recordings), instance discovery's alias groups
// (the same recordings and MSAL's AuthorityMetadata.ts), and the keys' headers
// (DockYard/openid_connect test/fixtures/http/azure/jwks.exs). Key roll-over publishes the next
// key before it signs.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';

const T = DEFAULTS.tenantId;

/** https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration, as recorded. */
const ENTRA_COMMON = {
  token_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
  token_endpoint_auth_methods_supported: [
    'client_secret_post',
    'private_key_jwt',
    'client_secret_basic',
  ],
  jwks_uri: 'https://login.microsoftonline.com/common/discovery/v2.0/keys',
  response_modes_supported: ['query', 'fragment', 'form_post'],
  subject_types_supported: ['pairwise'],
  id_token_signing_alg_values_supported: ['RS256'],
  response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
  scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
  issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
  request_uri_parameter_supported: false,
  userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
  authorization_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
  device_authorization_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/devicecode',
  http_logout_supported: true,
  frontchannel_logout_supported: true,
  end_session_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/logout',
  claims_supported: [
    'sub',
    'iss',
    'cloud_instance_name',
    'cloud_instance_host_name',
    'cloud_graph_host_name',
    'msgraph_host',
    'aud',
    'exp',
    'iat',
    'auth_time',
    'acr',
    'nonce',
    'preferred_username',
    'name',
    'tid',
    'ver',
    'at_hash',
    'c_hash',
    'email',
  ],
  kerberos_endpoint: 'https://login.microsoftonline.com/common/kerberos',
  tenant_region_scope: null,
  cloud_instance_name: 'microsoftonline.com',
  cloud_graph_host_name: 'graph.windows.net',
  msgraph_host: 'graph.microsoft.com',
  rbac_url: 'https://pas.windows.net',
};

/** Instance discovery's alias groups, as Entra answers them (recorded; MSAL's built-in copy). */
const ENTRA_ALIAS_GROUPS = [
  {
    preferred_network: 'login.microsoftonline.com',
    preferred_cache: 'login.windows.net',
    aliases: [
      'login.microsoftonline.com',
      'login.windows.net',
      'login.microsoft.com',
      'sts.windows.net',
    ],
  },
  {
    preferred_network: 'login.partner.microsoftonline.cn',
    preferred_cache: 'login.partner.microsoftonline.cn',
    aliases: ['login.partner.microsoftonline.cn', 'login.chinacloudapi.cn'],
  },
  {
    preferred_network: 'login.microsoftonline.de',
    preferred_cache: 'login.microsoftonline.de',
    aliases: ['login.microsoftonline.de'],
  },
  {
    preferred_network: 'login.microsoftonline.us',
    preferred_cache: 'login.microsoftonline.us',
    aliases: ['login.microsoftonline.us', 'login.usgovcloudapi.net'],
  },
  {
    preferred_network: 'login-us.microsoftonline.com',
    preferred_cache: 'login-us.microsoftonline.com',
    aliases: ['login-us.microsoftonline.com'],
  },
];

const ENTRA_METADATA_HEADERS = {
  'cache-control': 'max-age=86400, private',
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
};

let fake: FakeEntra;
/** The fake answering as login.microsoftonline.com (its documents name that host). */
let asEntra: FakeEntra;

beforeAll(async () => {
  [fake, asEntra] = await Promise.all([
    FakeEntra.start(),
    FakeEntra.start({
      issuerUrl: 'https://login.microsoftonline.com',
      publicUrl: 'https://login.microsoftonline.com',
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([fake.close(), asEntra.close()]);
});

/** Reaches an instance through its port whatever names its documents use. */
const local = (f: FakeEntra, path: string) => `http://localhost:${f.port}${path}`;

async function get(url: string) {
  const res = await fetch(url);
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, unknown>,
  };
}

const headersOf = (h: Headers) =>
  Object.fromEntries(Object.keys(ENTRA_METADATA_HEADERS).map((k) => [k, h.get(k)]));

describe('v2.0 discovery document', () => {
  test("as login.microsoftonline.com, /common's document is Entra's, field by field and in Entra's order", async () => {
    const { body, headers } = await get(
      local(asEntra, '/common/v2.0/.well-known/openid-configuration'),
    );
    expect(Object.keys(body)).toEqual(Object.keys(ENTRA_COMMON));
    // The Graph host is the fake's own Graph stub (graph.microsoft.com only in DNS mode).
    const graphHost = new URL(asEntra.graphBaseUrl).host;
    expect(body).toEqual({
      ...ENTRA_COMMON,
      userinfo_endpoint: `https://${graphHost}/oidc/userinfo`,
      msgraph_host: graphHost,
    });
    expect(body).not.toHaveProperty('code_challenge_methods_supported');
    expect(headersOf(headers)).toEqual(ENTRA_METADATA_HEADERS);
  });

  test('/organizations differs from /common only in its path segment', async () => {
    const { body } = await get(
      local(asEntra, '/organizations/v2.0/.well-known/openid-configuration'),
    );
    const common = (await get(local(asEntra, '/common/v2.0/.well-known/openid-configuration')))
      .body;
    const swapped = JSON.parse(JSON.stringify(common).replaceAll('/common/', '/organizations/'));
    expect(body).toEqual(swapped);
  });

  test("a tenant's document (by id or domain) names the tenant everywhere and its region scope", async () => {
    for (const segment of [T, 'contoso.test']) {
      const { body } = await get(
        local(asEntra, `/${segment}/v2.0/.well-known/openid-configuration`),
      );
      expect(Object.keys(body)).toEqual(Object.keys(ENTRA_COMMON));
      const base = `https://login.microsoftonline.com/${T}`;
      expect(body).toMatchObject({
        token_endpoint: `${base}/oauth2/v2.0/token`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        issuer: `${base}/v2.0`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        kerberos_endpoint: `${base}/kerberos`,
        tenant_region_scope: 'NA',
        cloud_instance_name: 'microsoftonline.com',
      });
    }
    const eu = await FakeEntra.start({
      config: {
        tenants: [{ id: T, regionScope: 'EU' }],
        apis: [],
        clients: [],
        users: [],
      },
    });
    try {
      const { body } = await get(`${eu.authority()}/v2.0/.well-known/openid-configuration`);
      expect(body.tenant_region_scope).toBe('EU');
    } finally {
      await eu.close();
    }
  });

  test('on localhost the endpoints are the fake: tokens and keys on https, browser pages on the public URL', async () => {
    const { body } = await get(`${fake.authority()}/v2.0/.well-known/openid-configuration`);
    expect(body).toMatchObject({
      issuer: `${fake.baseUrl}/${T}/v2.0`,
      token_endpoint: `${fake.baseUrl}/${T}/oauth2/v2.0/token`,
      authorization_endpoint: `${fake.publicUrl}/${T}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${fake.publicUrl}/${T}/oauth2/v2.0/logout`,
      userinfo_endpoint: `${fake.graphBaseUrl}/oidc/userinfo`,
      msgraph_host: new URL(fake.graphBaseUrl).host,
      cloud_instance_name: 'localhost',
    });
  });
});

describe('instance discovery', () => {
  const discover = (f: FakeEntra, authorizationEndpoint: string) =>
    get(
      local(
        f,
        `/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(authorizationEndpoint)}`,
      ),
    );

  test("as login.microsoftonline.com it answers exactly Entra's recorded answer", async () => {
    const { status, body, headers } = await discover(
      asEntra,
      `https://login.microsoftonline.com/${T}/oauth2/v2.0/authorize`,
    );
    expect(status).toBe(200);
    expect(body).toEqual({
      tenant_discovery_endpoint: `https://login.microsoftonline.com/${T}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: ENTRA_ALIAS_GROUPS,
    });
    expect(headersOf(headers)).toEqual(ENTRA_METADATA_HEADERS);
  });

  test("on localhost the fake's host is a cloud of its own, before Entra's groups", async () => {
    const host = `localhost:${fake.port}`;
    const { body } = await discover(fake, `${fake.baseUrl}/organizations/oauth2/v2.0/authorize`);
    expect(body).toEqual({
      tenant_discovery_endpoint: `${fake.baseUrl}/organizations/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [
        { preferred_network: host, preferred_cache: host, aliases: [host] },
        ...ENTRA_ALIAS_GROUPS,
      ],
    });
  });

  test('an unknown instance is AADSTS50049 invalid_instance', async () => {
    const { status, body } = await discover(
      fake,
      'https://login.fake-entra.invalid/common/oauth2/v2.0/authorize',
    );
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'invalid_instance', error_codes: [50049] });
    expect(String(body.error_description)).toMatch(/^AADSTS50049: Unknown or invalid instance\./);
  });
});

describe('keys and roll-over', () => {
  const kids = async (f: FakeEntra) =>
    ((await get(`${f.authority()}/discovery/v2.0/keys`)).body.keys as { kid: string }[]).map(
      (k) => k.kid,
    );

  test("publishes several keys with Entra's cache headers", async () => {
    const { headers, body } = await get(`${fake.authority()}/discovery/v2.0/keys`);
    expect(headersOf(headers)).toEqual(ENTRA_METADATA_HEADERS);
    expect((body.keys as unknown[]).length).toBeGreaterThanOrEqual(3);
    expect(await kids(fake)).toEqual(
      expect.arrayContaining([fake.signingKid, fake.nextSigningKid]),
    );
  });

  test('a periodic rotation signs with the key published before it; a client with the JWKS cached verifies at once', async () => {
    const f = await FakeEntra.start();
    try {
      const keysUrl = `${f.authority()}/discovery/v2.0/keys`;
      const cached = createLocalJWKSet((await get(keysUrl)).body as never);
      const old = f.signingKid;
      const next = f.nextSigningKid!;
      expect(next).not.toBe(old);
      const before = await f.mintAccessToken();

      expect(await f.rotateSigningKey()).toBe(next);
      expect(f.signingKid).toBe(next);
      const after = await f.mintAccessToken();
      expect(decodeProtectedHeader(after).kid).toBe(next);
      const verify = (token: string, keys: Parameters<typeof jwtVerify>[1]) =>
        jwtVerify(token, keys, { issuer: f.issuer(), audience: DEFAULTS.apiClientId });
      // Published before it signed: the cache from before the rotation knows it.
      await expect(verify(after, cached)).resolves.toBeDefined();
      // The old key stays published; a new next key is published for the next rotation.
      const published = await kids(f);
      expect(published).toEqual(expect.arrayContaining([old, next, f.nextSigningKid]));
      expect(f.nextSigningKid).not.toBe(next);
      await expect(verify(before, createRemoteJWKSet(new URL(keysUrl)))).resolves.toBeDefined();
      f.retireKey(old);
      expect(await kids(f)).not.toContain(old);
    } finally {
      await f.close();
    }
  });

  test('an emergency rotation signs at once with a key no cached JWKS has', async () => {
    const f = await FakeEntra.start();
    try {
      const keysUrl = `${f.authority()}/discovery/v2.0/keys`;
      const cached = createLocalJWKSet((await get(keysUrl)).body as never);
      const next = f.nextSigningKid;
      const kid = await f.rotateSigningKey({ emergency: true });
      expect(kid).not.toBe(next);
      expect(f.nextSigningKid).toBe(next); // the periodic roll-over is still prepared
      const token = await f.mintAccessToken();
      await expect(
        jwtVerify(token, cached, { issuer: f.issuer(), audience: DEFAULTS.apiClientId }),
      ).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
      expect(await kids(f)).toContain(kid);
    } finally {
      await f.close();
    }
  });
});
