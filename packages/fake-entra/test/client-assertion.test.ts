// Client credentials with a certificate (private_key_jwt): the assertion is verified with the
// app's registered certificate, named by its thumbprint (x5t#S256 or x5t); Entra's errors for a
// wrong key, a bad signature, the wrong audience, an expired or replayed assertion. The real
// MSAL Node library authenticates with a certificate.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify, SignJWT } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';
import {
  advancedConfig,
  CERT_DAEMON_ID,
  createTestCertificate,
  type TestCertificate,
} from './support/advanced-config.ts';
import { tokenRequest } from './support/flows.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SCOPE = `${DEFAULTS.apiIdentifier}/.default`;

let fake: FakeEntra;
let cert: TestCertificate;
let other: TestCertificate;

beforeAll(async () => {
  [cert, other] = await Promise.all([createTestCertificate(), createTestCertificate('other')]);
  fake = await FakeEntra.start({ config: advancedConfig({ certificate: cert }) });
});
afterAll(async () => {
  await fake.close();
});

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');

async function assertion(
  o: {
    key?: TestCertificate;
    thumbprint?: Record<string, string>;
    alg?: string;
    claims?: Record<string, unknown>;
    expiresIn?: number;
  } = {},
): Promise<string> {
  const key = o.key ?? cert;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    aud: `${fake.authority()}/oauth2/v2.0/token`,
    iss: CERT_DAEMON_ID,
    sub: CERT_DAEMON_ID,
    jti: randomUUID(),
    nbf: now,
    iat: now,
    exp: now + (o.expiresIn ?? 600),
    ...o.claims,
  })
    .setProtectedHeader({
      alg: o.alg ?? 'PS256',
      typ: 'JWT',
      ...(o.thumbprint ?? { 'x5t#S256': b64(cert.sha256Hex) }),
    })
    .sign(createPrivateKey(key.privateKeyPem));
}

const withAssertion = (value: string, extra: Record<string, string> = {}) =>
  tokenRequest(fake, {
    grant_type: 'client_credentials',
    client_id: CERT_DAEMON_ID,
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: value,
    scope: SCOPE,
    ...extra,
  });

describe('private_key_jwt', () => {
  test('PS256 with x5t#S256 and RS256 with x5t both work; tokens say azpacr 2 (certificate)', async () => {
    const ps = await withAssertion(await assertion());
    expect(ps.status).toBe(200);
    expect(decodeJwt(ps.body.access_token)).toMatchObject({
      azp: CERT_DAEMON_ID,
      azpacr: '2',
      roles: ['Data.Read.All'],
    });
    const rs = await withAssertion(
      await assertion({ alg: 'RS256', thumbprint: { x5t: b64(cert.sha1Hex) } }),
    );
    expect(rs.status).toBe(200);
  });

  test.each([
    [
      'a certificate that is not registered',
      async () => assertion({ key: other, thumbprint: { 'x5t#S256': b64(other.sha256Hex) } }),
      401,
      'invalid_client',
      700027,
      /Client assertion failed signature validation\. \(Reason - The key was not found\., Thumbprint of key used by client: '/,
    ],
    [
      "the registered thumbprint with another key's signature",
      async () => assertion({ key: other }),
      401,
      'invalid_client',
      700027,
      /The provided signature value did not match the expected signature value/,
    ],
    [
      'no thumbprint in the header',
      async () => assertion({ thumbprint: {} }),
      401,
      'invalid_client',
      700027,
      /The key was not found/,
    ],
    [
      'HS256',
      async () => {
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ iss: CERT_DAEMON_ID, sub: CERT_DAEMON_ID, exp: now + 60 })
          .setProtectedHeader({ alg: 'HS256', 'x5t#S256': b64(cert.sha256Hex) })
          .sign(new TextEncoder().encode('x'.repeat(32)));
      },
      401,
      'invalid_client',
      700027,
      /The algorithm 'HS256' is not supported/,
    ],
    [
      'expired',
      async () => assertion({ expiresIn: -600 }),
      401,
      'invalid_client',
      700024,
      /Client assertion is not within its valid time range/,
    ],
    [
      'addressed to another token endpoint',
      async () =>
        assertion({ claims: { aud: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' } }),
      401,
      'invalid_client',
      50027,
      /The audience claim 'https:\/\/login\.microsoftonline\.com\/x\/oauth2\/v2\.0\/token' is not this token endpoint/,
    ],
    [
      'an audience array (openid-client issue 348)',
      async () =>
        assertion({ claims: { aud: [`${fake.authority()}/oauth2/v2.0/token`, fake.issuer()] } }),
      401,
      'invalid_client',
      50027,
      /must be a single string/,
    ],
    [
      'sub different from iss',
      async () => assertion({ claims: { sub: randomUUID() } }),
      401,
      'invalid_client',
      50048,
      /Subject mismatches Issuer claim in the client assertion/,
    ],
    [
      'issued by another app',
      async () =>
        assertion({ claims: { iss: DEFAULTS.daemonClientId, sub: DEFAULTS.daemonClientId } }),
      401,
      'invalid_client',
      700021,
      /Client assertion application identifier doesn't match 'client_id' parameter/,
    ],
    [
      'no jti',
      async () => assertion({ claims: { jti: undefined } }),
      401,
      'invalid_client',
      50027,
      /'jti' claim is missing/,
    ],
  ] as const)('%s: Entra refuses it', async (_name, make, status, error, code, message) => {
    const res = await withAssertion(await make());
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ error, error_codes: [code] });
    expect(res.body.error_description).toMatch(message);
  });

  test('an assertion works once (jti); the wrong assertion type and a secret beside it are refused', async () => {
    const once = await assertion();
    expect((await withAssertion(once)).status).toBe(200);
    const replay = await withAssertion(once);
    expect(replay.status).toBe(401);
    expect(replay.body.error_description).toMatch(/was already used/);
    const wrongType = await withAssertion(await assertion(), {
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toBe('invalid_request');
    const both = await withAssertion(await assertion(), { client_secret: 'x' });
    expect(both.status).toBe(400);
  });

  test('an app with only a certificate needs it: no credential is AADSTS7000218, a secret AADSTS7000215', async () => {
    const none = await tokenRequest(fake, {
      grant_type: 'client_credentials',
      client_id: CERT_DAEMON_ID,
      scope: SCOPE,
    });
    expect(none.body).toMatchObject({ error: 'invalid_client', error_codes: [7000218] });
    const secret = await tokenRequest(fake, {
      grant_type: 'client_credentials',
      client_id: CERT_DAEMON_ID,
      client_secret: 'guess',
      scope: SCOPE,
    });
    expect(secret.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
  });
});

describe('MSAL Node with a certificate credential', () => {
  test('acquireTokenByClientCredential signs the assertion (PS256, x5t#S256) and gets the app token', async () => {
    const daemon = new ConfidentialClientApplication({
      auth: {
        clientId: CERT_DAEMON_ID,
        authority: fake.authority(),
        knownAuthorities: [new URL(fake.baseUrl).host],
        clientCertificate: { thumbprintSha256: cert.sha256Hex, privateKey: cert.privateKeyPem },
      },
    });
    const result = await daemon.acquireTokenByClientCredential({ scopes: [SCOPE] });
    const { payload } = await jwtVerify(
      result!.accessToken,
      createRemoteJWKSet(new URL(`${fake.authority()}/discovery/v2.0/keys`)),
      { issuer: fake.issuer(), audience: DEFAULTS.apiClientId },
    );
    expect(payload).toMatchObject({ azp: CERT_DAEMON_ID, azpacr: '2', idtyp: 'app' });
    const sent = await fake.takeRequest({ endpoint: 'token', clientId: CERT_DAEMON_ID });
    expect(sent.form.client_assertion_type).toBe(ASSERTION_TYPE);
    const header = JSON.parse(
      Buffer.from(sent.form.client_assertion!.split('.')[0]!, 'base64url').toString(),
    );
    expect(header).toMatchObject({ alg: 'PS256', 'x5t#S256': b64(cert.sha256Hex) });
  });
});
