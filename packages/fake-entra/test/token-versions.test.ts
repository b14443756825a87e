// Access tokens take the shape the resource's registration asks for (accessTokenAcceptedVersion):
// null (Entra's default) and 1 give v1.0 tokens - iss https://sts.windows.net/{tid}/, aud as
// requested, appid/appidacr, the v1.0 claim set, x5t in the header - and 2 gives v2.0 tokens.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEFAULTS, FakeEntra, parseConfig } from '../src/index.ts';
import {
  advancedConfig,
  CERT_DAEMON_ID,
  createTestCertificate,
  MIDDLE_TIER,
  V1_API,
} from './support/advanced-config.ts';
import { signInAndRedeem, tokenRequest } from './support/flows.ts';

let fake: FakeEntra;
let jwks: ReturnType<typeof createRemoteJWKSet>;
const V1_ISSUER = (tid: string) => `https://sts.windows.net/${tid}/`;

beforeAll(async () => {
  fake = await FakeEntra.start({
    config: advancedConfig({ certificate: await createTestCertificate() }),
  });
  jwks = createRemoteJWKSet(new URL(`${fake.authority()}/discovery/v2.0/keys`));
});
afterAll(async () => {
  await fake.close();
});

describe('accessTokenAcceptedVersion', () => {
  test('null (the default) gives v1.0 tokens: sts.windows.net issuer, App ID URI as aud, v1 claims', async () => {
    const res = await signInAndRedeem(fake, {
      upn: 'alice@contoso.test',
      scope: `${V1_API.identifier}/reports.read`,
    });
    expect(res.status).toBe(200);
    const token = res.body.access_token as string;
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ typ: 'JWT', alg: 'RS256', x5t: header.kid, kid: expect.any(String) });
    const { payload } = await jwtVerify(token, jwks, {
      issuer: V1_ISSUER(DEFAULTS.tenantId),
      audience: V1_API.identifier,
      algorithms: ['RS256'],
    });
    expect(payload).toMatchObject({
      aud: V1_API.identifier,
      acr: '1',
      amr: ['pwd'],
      appid: DEFAULTS.webClientId,
      appidacr: '1',
      family_name: 'Example',
      given_name: 'Alice',
      name: 'Alice Example',
      oid: DEFAULTS.users.alice.oid,
      scp: 'reports.read',
      tid: DEFAULTS.tenantId,
      unique_name: 'alice@contoso.test',
      upn: 'alice@contoso.test',
      ver: '1.0',
    });
    for (const v2Only of ['azp', 'azpacr', 'preferred_username'])
      expect(payload).not.toHaveProperty(v2Only);
    expect(typeof payload.ipaddr).toBe('string');
    // Entra's claim order: aud, iss, iat, nbf, exp, then alphabetical.
    expect(Object.keys(payload).slice(0, 5)).toEqual(['aud', 'iss', 'iat', 'nbf', 'exp']);
    const rest = Object.keys(payload).slice(5);
    expect(rest).toEqual([...rest].sort());
  });

  test('v1.0 aud is the resource as the client named it: the client id when asked by client id', async () => {
    const res = await signInAndRedeem(fake, {
      upn: 'alice@contoso.test',
      scope: `${V1_API.clientId}/reports.read`,
    });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).aud).toBe(V1_API.clientId);
  });

  test('2 gives v2.0 tokens: the v2.0 issuer, the client id as aud whatever was asked, azp/azpacr', async () => {
    const res = await signInAndRedeem(fake, {
      upn: 'alice@contoso.test',
      scope: `${DEFAULTS.apiIdentifier}/data.read`,
    });
    const token = res.body.access_token as string;
    expect(decodeProtectedHeader(token)).toEqual({
      typ: 'JWT',
      alg: 'RS256',
      kid: expect.any(String),
    });
    const { payload } = await jwtVerify(token, jwks, {
      issuer: fake.issuer(),
      audience: DEFAULTS.apiClientId,
    });
    expect(payload).toMatchObject({
      azp: DEFAULTS.webClientId,
      azpacr: '1',
      preferred_username: 'alice@contoso.test',
      ver: '2.0',
    });
    for (const v1Only of ['appid', 'appidacr', 'upn', 'unique_name', 'amr', 'acr', 'ipaddr'])
      expect(payload).not.toHaveProperty(v1Only);
  });

  test('app-only v1.0 tokens: appid, appidacr, idp, no idtyp unless asked for', async () => {
    const daemon = await tokenRequest(fake, {
      grant_type: 'client_credentials',
      client_id: DEFAULTS.daemonClientId,
      client_secret: DEFAULTS.daemonClientSecret,
      scope: `${V1_API.identifier}/.default`,
    });
    expect(daemon.status).toBe(200);
    const claims = decodeJwt(daemon.body.access_token);
    expect(claims).toMatchObject({
      aud: V1_API.identifier,
      iss: V1_ISSUER(DEFAULTS.tenantId),
      idp: V1_ISSUER(DEFAULTS.tenantId),
      appid: DEFAULTS.daemonClientId,
      appidacr: '1',
      ver: '1.0',
    });
    expect(claims).not.toHaveProperty('idtyp');
    expect(claims).not.toHaveProperty('scp');
    expect(claims.oid).toBe(claims.sub);
  });

  test('idtyp is an optional claim: app tokens of an API that asks for it, user tokens with include_user_token', async () => {
    const app = await fake.mintAccessToken({ app: true, audience: MIDDLE_TIER.identifier });
    expect(decodeJwt(app).idtyp).toBe('app');
    const user = await fake.mintAccessToken({ audience: MIDDLE_TIER.identifier });
    expect(decodeJwt(user)).not.toHaveProperty('idtyp');
    const graph = await fake.mintAccessToken({ audience: DEFAULTS.graphIdentifier });
    expect(decodeJwt(graph).idtyp).toBe('user'); // Graph asks for include_user_token
  });

  test("aud use_guid: a v1.0 token's aud is the client id however the API was named", async () => {
    const config = advancedConfig({ certificate: await createTestCertificate() });
    const v1 = config.apis!.find((a) => a.clientId === V1_API.clientId)!;
    v1.optionalClaims = { accessToken: [{ name: 'aud', additionalProperties: ['use_guid'] }] };
    const local = await FakeEntra.start({ config });
    try {
      const res = await signInAndRedeem(local, {
        upn: 'alice@contoso.test',
        scope: `${V1_API.identifier}/reports.read`,
      });
      expect(decodeJwt(res.body.access_token).aud).toBe(V1_API.clientId);
    } finally {
      await local.close();
    }
  });

  test('a bad version or optional claim is a configuration error naming the field', () => {
    const config = advancedConfig({ certificate: { pem: '' } as never });
    expect(() =>
      parseConfig({
        ...config,
        clients: [],
        apis: [{ ...config.apis![0]!, accessTokenAcceptedVersion: 3 }],
      }),
    ).toThrow(/apis\[0\]\.accessTokenAcceptedVersion: must be null, 1 or 2/);
    expect(() =>
      parseConfig({
        ...config,
        clients: [],
        apis: [
          {
            ...config.apis![0]!,
            optionalClaims: {
              accessToken: [{ name: 'idtyp', additionalProperties: ['use_guid'] }],
            },
          },
        ],
      }),
    ).toThrow(
      /apis\[0\]\.optionalClaims\.accessToken\[0\].*"use_guid" is not an additional property of idtyp/,
    );
    expect(() =>
      parseConfig({
        ...config,
        apis: config.apis,
        clients: [{ name: 'x', clientId: CERT_DAEMON_ID, certificates: ['not a pem'] }],
      }),
    ).toThrow(/clients\[0\]\.certificates\[0\]: not a PEM X.509 certificate/);
  });
});

describe('minting follows the version', () => {
  test('mintAccessToken for a v1.0 API gives a valid v1.0 token; version overrides', async () => {
    const v1 = await fake.mintAccessToken({
      audience: V1_API.identifier,
      scopes: ['reports.read'],
    });
    await expect(
      jwtVerify(v1, jwks, { issuer: V1_ISSUER(DEFAULTS.tenantId), audience: V1_API.identifier }),
    ).resolves.toMatchObject({ payload: { ver: '1.0', appid: DEFAULTS.webClientId } });
    const forced = decodeJwt(await fake.mintAccessToken({ version: 1 }));
    expect(forced).toMatchObject({ ver: '1.0', iss: V1_ISSUER(DEFAULTS.tenantId) });
  });

  test("the v1-token broken kind is the v1.0 token an API left at Entra's default receives", async () => {
    const broken = await fake.mintBrokenToken('v1-token', { scopes: ['data.read'] });
    const claims = decodeJwt(broken);
    expect(claims).toMatchObject({
      ver: '1.0',
      iss: V1_ISSUER(DEFAULTS.tenantId),
      aud: DEFAULTS.apiIdentifier,
      appid: DEFAULTS.webClientId,
      upn: 'alice@contoso.test',
      scp: 'data.read',
    });
    // Signed like any v1.0 token: it verifies once the v1.0 issuer is expected.
    await expect(
      jwtVerify(broken, jwks, {
        issuer: V1_ISSUER(DEFAULTS.tenantId),
        audience: DEFAULTS.apiIdentifier,
      }),
    ).resolves.toBeDefined();
  });
});
