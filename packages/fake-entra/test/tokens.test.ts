// Every token the fake issues verifies with jose against its published JWKS and issuer; every
// named broken token is rejected by a correct validator, for the reason its name says.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
} from 'jose';
import { BROKEN_TOKEN_KINDS, DEFAULTS, FakeEntra, type BrokenTokenKind } from '../src/index.ts';

let fake: FakeEntra;
let jwks: ReturnType<typeof createRemoteJWKSet>;

/** A correct access-token validator for the API: what services/api must do at least. */
async function verifyAccessToken(
  token: string,
  audience: string = DEFAULTS.apiClientId,
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, jwks, {
    issuer: fake.issuer(),
    audience,
    algorithms: ['RS256'],
    requiredClaims: ['exp', 'iat', 'nbf'],
  });
  return payload;
}

beforeAll(async () => {
  fake = await FakeEntra.start();
  const discovery = (await (
    await fetch(`${fake.authority()}/v2.0/.well-known/openid-configuration`)
  ).json()) as { jwks_uri: string };
  // Over https, trusting the fake's CA through NODE_EXTRA_CA_CERTS (set by scripts/jest.mjs).
  expect(discovery.jwks_uri).toMatch(/^https:\/\//);
  jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
});

afterAll(async () => {
  await fake.close();
});

describe('minted access tokens', () => {
  test('a delegated token has Entra v2.0 shape and verifies with issuer + audience', async () => {
    const token = await fake.mintAccessToken();
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ typ: 'JWT', alg: 'RS256', kid: fake.signingKid });
    const claims = await verifyAccessToken(token);
    expect(claims).toMatchObject({
      aud: DEFAULTS.apiClientId,
      iss: `${fake.baseUrl}/${DEFAULTS.tenantId}/v2.0`,
      azp: DEFAULTS.webClientId,
      azpacr: '1',
      name: 'Alice Example',
      oid: DEFAULTS.users.alice.oid,
      preferred_username: 'alice@contoso.test',
      scp: 'data.read data.write',
      tid: DEFAULTS.tenantId,
      ver: '2.0',
    });
    for (const claim of ['iat', 'nbf', 'exp', 'aio', 'rh', 'sub', 'uti'])
      expect(claims[claim]).toBeDefined();
    // 60-90 minutes from now, iat/nbf 5 minutes back (Entra's clock-skew allowance).
    const now = Math.floor(Date.now() / 1000);
    expect(claims.exp! - now).toBeGreaterThanOrEqual(3600 - 2);
    expect(claims.exp! - now).toBeLessThanOrEqual(5400);
    expect(claims.iat).toBe(claims.nbf);
    expect(Math.abs(now - 300 - claims.iat!)).toBeLessThanOrEqual(2);
  });

  test('bob gets only the scope he consented to by default', async () => {
    const claims = await verifyAccessToken(
      await fake.mintAccessToken({ user: 'bob@contoso.test' }),
    );
    expect(claims.scp).toBe('data.read');
    expect(claims.oid).toBe(DEFAULTS.users.bob.oid);
  });

  test('an app-only token carries roles and idtyp app, no scp', async () => {
    const claims = await verifyAccessToken(await fake.mintAccessToken({ app: true }));
    expect(claims).toMatchObject({
      azp: DEFAULTS.daemonClientId,
      idtyp: 'app',
      roles: ['Data.Read.All'],
    });
    expect(claims.scp).toBeUndefined();
    expect(claims.preferred_username).toBeUndefined();
    expect(claims.oid).toBe(claims.sub);
  });

  test('overrides and removes claims, sets the lifetime and header fields', async () => {
    const token = await fake.mintAccessToken({
      scopes: ['api://whatever/data.write'],
      lifetimeSeconds: 3,
      claims: { name: 'Mallory', sid: undefined },
      header: { x5t: 'abc' },
    });
    const claims = await verifyAccessToken(token);
    expect(claims.scp).toBe('data.write');
    expect(claims.name).toBe('Mallory');
    expect('sid' in claims).toBe(false);
    expect(claims.exp! - claims.iat!).toBe(303);
    expect(decodeProtectedHeader(token).x5t).toBe('abc');
  });

  test('a token for the api:// identifier audience verifies against that audience', async () => {
    const claims = await verifyAccessToken(
      await fake.mintAccessToken({ audience: DEFAULTS.apiIdentifier }),
      DEFAULTS.apiIdentifier,
    );
    expect(claims.aud).toBe(DEFAULTS.apiIdentifier);
  });

  test('rejects an unknown user instead of inventing one', async () => {
    await expect(fake.mintAccessToken({ user: 'nobody@contoso.test' })).rejects.toThrow(
      /no configured user "nobody@contoso.test"/,
    );
  });
});

describe('broken tokens fail for the reason their name says', () => {
  const claimFailure = (claim: string) => ({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim });
  const expected: Record<BrokenTokenKind, { code: string; claim?: string }> = {
    expired: { code: 'ERR_JWT_EXPIRED', claim: 'exp' },
    'not-yet-valid': claimFailure('nbf'),
    'wrong-audience': claimFailure('aud'),
    'wrong-issuer': claimFailure('iss'),
    'other-tenant': claimFailure('iss'),
    'unknown-kid': { code: 'ERR_JWKS_NO_MATCHING_KEY' },
    'no-kid': { code: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' },
    'alg-none': { code: 'ERR_JOSE_ALG_NOT_ALLOWED' },
    'hs256-with-public-key': { code: 'ERR_JOSE_ALG_NOT_ALLOWED' },
    'tampered-payload': { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
    'missing-exp': claimFailure('exp'),
    'id-token': claimFailure('aud'),
    'v1-token': claimFailure('iss'),
  };

  test('covers every kind', () => {
    expect(Object.keys(expected).sort()).toEqual([...BROKEN_TOKEN_KINDS].sort());
  });

  test.each(BROKEN_TOKEN_KINDS.map((k) => [k]))('%s', async (kind) => {
    const token = await fake.mintBrokenToken(kind as BrokenTokenKind);
    const error = await verifyAccessToken(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(errors.JOSEError);
    const { code, claim } = expected[kind as BrokenTokenKind];
    expect((error as errors.JOSEError).code).toBe(code);
    if (claim) expect((error as errors.JWTClaimValidationFailed).claim).toBe(claim);
  });

  test('each broken token differs from a valid one only where its name says', async () => {
    const now = Math.floor(Date.now() / 1000);
    const decode = async (kind: BrokenTokenKind) => {
      const token = await fake.mintBrokenToken(kind);
      return { header: decodeProtectedHeader(token), claims: decodeJwt(token), token };
    };
    expect((await decode('expired')).claims.exp).toBeLessThan(now);
    expect((await decode('not-yet-valid')).claims.nbf).toBeGreaterThan(now + 60);
    const other = await decode('other-tenant');
    expect(other.claims.tid).not.toBe(DEFAULTS.tenantId);
    expect(other.claims.iss).toBe(fake.issuer(String(other.claims.tid)));
    const unknown = await decode('unknown-kid');
    expect(unknown.header.kid).toBeDefined();
    expect(unknown.header.kid).not.toBe(fake.signingKid);
    expect((await decode('no-kid')).header.kid).toBeUndefined();
    expect((await decode('alg-none')).token.endsWith('.')).toBe(true);
    expect((await decode('missing-exp')).claims.exp).toBeUndefined();
    const id = await decode('id-token');
    expect(id.claims).toMatchObject({ aud: DEFAULTS.webClientId, ver: '2.0' });
    expect(id.claims.nonce).toBeDefined();
    expect(id.claims.scp).toBeUndefined();
    const v1 = await decode('v1-token');
    expect(v1.claims).toMatchObject({
      ver: '1.0',
      iss: `https://sts.windows.net/${DEFAULTS.tenantId}/`,
      aud: DEFAULTS.apiIdentifier,
      appid: DEFAULTS.webClientId,
    });
  });

  test('hs256-with-public-key is an HMAC keyed with the published RSA public key (key confusion)', async () => {
    const token = await fake.mintBrokenToken('hs256-with-public-key');
    const { keys } = (await (await fetch(`${fake.authority()}/discovery/v2.0/keys`)).json()) as {
      keys: { kid: string; x5c: string[] }[];
    };
    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe('HS256');
    expect(keys.map((k) => k.kid)).toContain(header.kid);
    // A validator that let the token pick its algorithm would accept it with the public key as secret.
    const { X509Certificate } = await import('node:crypto');
    const cert = new X509Certificate(
      Buffer.from(keys.find((k) => k.kid === header.kid)!.x5c[0]!, 'base64'),
    );
    const publicPem = cert.publicKey.export({ type: 'spki', format: 'pem' });
    await expect(
      jwtVerify(token, new TextEncoder().encode(String(publicPem))),
    ).resolves.toBeDefined();
  });

  test('tampered-payload carries a real signature over different claims', async () => {
    const token = await fake.mintBrokenToken('tampered-payload', { user: 'bob@contoso.test' });
    expect(decodeJwt(token).scp).toBe('data.read data.write');
  });

  test('missing-exp verifies only with a validator that does not require exp', async () => {
    const token = await fake.mintBrokenToken('missing-exp');
    await expect(
      jwtVerify(token, jwks, { issuer: fake.issuer(), audience: DEFAULTS.apiClientId }),
    ).resolves.toBeDefined();
  });
});

describe('key rotation', () => {
  test('publishes several keys; a rotated-out key verifies until retired', async () => {
    const local = await FakeEntra.start();
    try {
      const keysUrl = `${local.authority()}/discovery/v2.0/keys`;
      const kids = async () =>
        ((await (await fetch(keysUrl)).json()) as { keys: { kid: string }[] }).keys.map(
          (k) => k.kid,
        );
      expect((await kids()).length).toBeGreaterThanOrEqual(2);
      const oldKid = local.signingKid;
      const before = await local.mintAccessToken();
      const newKid = await local.rotateSigningKey();
      expect(local.signingKid).toBe(newKid);
      expect(await kids()).toEqual(expect.arrayContaining([oldKid, newKid]));
      const after = await local.mintAccessToken();
      expect(decodeProtectedHeader(after).kid).toBe(newKid);

      const verifyFresh = (token: string) =>
        jwtVerify(token, createRemoteJWKSet(new URL(keysUrl)), {
          issuer: local.issuer(),
          audience: DEFAULTS.apiClientId,
        });
      await expect(verifyFresh(before)).resolves.toBeDefined();
      await expect(verifyFresh(after)).resolves.toBeDefined();

      local.retireKey(oldKid);
      expect(await kids()).not.toContain(oldKid);
      await expect(verifyFresh(before)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
      await expect(verifyFresh(after)).resolves.toBeDefined();
      expect(() => local.retireKey(newKid)).toThrow(/current signing key/);
      expect(() => local.retireKey('nope')).toThrow(/no published key/);
    } finally {
      await local.close();
    }
  });
});
