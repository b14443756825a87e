// src/auth without Koa or HTTP server of ours: typed results straight from TokenValidator.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import {
  InvalidTokenError,
  KeysUnavailableError,
  SigningKeys,
  TokenValidator,
  VerifiedTokenCache,
} from '../src/auth/index.ts';
import { ALICE, API_ID, FakeEntra, TENANT } from './support/api.ts';

jest.setTimeout(30_000);

let fake: FakeEntra;
beforeAll(async () => {
  fake = await FakeEntra.start();
});
afterAll(async () => {
  await fake?.close();
});

function validatorFor(discoveryUrl: string, overrides: { cacheMaxEntries?: number } = {}) {
  const keys = new SigningKeys({
    discoveryUrl,
    expectedIssuer: fake.issuer(),
    refreshMs: 600_000,
    cooldownMs: 30_000,
    staleMaxMs: 3_600_000,
    fetchTimeoutMs: 2000,
  });
  const validator = new TokenValidator({
    keys,
    issuer: {
      kind: 'entra',
      authority: fake.baseUrl,
      tenantId: TENANT,
      allowedTenants: [],
      acceptedVersions: ['2.0'],
    },
    audiences: [API_ID, `api://${API_ID}`],
    clockToleranceSeconds: 30,
    cacheMaxEntries: overrides.cacheMaxEntries ?? 100,
  });
  return { keys, validator };
}

const discovery = () => `${fake.issuer()}/.well-known/openid-configuration`;

describe('TokenValidator', () => {
  test('returns the principal of a delegated token and of an app token', async () => {
    const { validator } = validatorFor(discovery());
    const user = await validator.verify(
      await fake.mintAccessToken({
        user: ALICE,
        scopes: ['data.read', 'data.write'],
        roles: ['Admin'],
      }),
    );
    expect(user).toMatchObject({
      kind: 'user',
      tenantId: TENANT,
      permissions: ['data.read', 'data.write'],
    });
    const app = await validator.verify(
      await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'] }),
    );
    expect(app).toMatchObject({ kind: 'app', tenantId: TENANT, permissions: ['Data.Read.All'] });
  });

  test('rejections are typed, with a reason', async () => {
    const { validator } = validatorFor(discovery());
    const error = await validator
      .verify(await fake.mintBrokenToken('tampered-payload', { user: ALICE }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as InvalidTokenError).reason).toBe('bad_signature');
  });

  test('an unreachable issuer is KeysUnavailableError with a retry hint, not an invalid token', async () => {
    const { validator } = validatorFor('https://127.0.0.1:1/none/.well-known/openid-configuration');
    const error = await validator
      .verify(await fake.mintAccessToken({ user: ALICE, scopes: ['data.read'] }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeysUnavailableError);
    expect((error as KeysUnavailableError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  test('a discovery document naming another issuer is not trusted', async () => {
    const keys = new SigningKeys({
      discoveryUrl: discovery(),
      expectedIssuer: 'https://login.microsoftonline.com/somebody-else/v2.0',
      refreshMs: 600_000,
      cooldownMs: 30_000,
      staleMaxMs: 0,
      fetchTimeoutMs: 2000,
    });
    await expect(keys.refresh()).rejects.toThrow(/names issuer/);
    expect(keys.status().ready).toBe(false);
  });

  test('a token whose verification overlaps a key retirement is not cached', async () => {
    const { keys, validator } = validatorFor(discovery());
    const getKey = keys.getKey.bind(keys);
    // The issuer retires keys (the cache is emptied) while this verification is in flight.
    keys.getKey = async (kid: string) => {
      const key = await getKey(kid);
      validator.clearCache();
      return key;
    };
    await validator.verify(await fake.mintAccessToken({ user: ALICE, scopes: ['data.read'] }));
    expect(validator.cacheSize).toBe(0);
    keys.getKey = getKey;
    await validator.verify(await fake.mintAccessToken({ user: ALICE, scopes: ['data.read'] }));
    expect(validator.cacheSize).toBe(1);
  });

  test('concurrent verifications on a cold cache share one discovery and one JWKS fetch', async () => {
    const { validator } = validatorFor(discovery(), { cacheMaxEntries: 0 });
    const tokens = await Promise.all(
      Array.from({ length: 30 }, () =>
        fake.mintAccessToken({ user: ALICE, scopes: ['data.read'] }),
      ),
    );
    fake.resetRequestCounts();
    await Promise.all(tokens.map((t) => validator.verify(t)));
    expect(fake.requestCounts()).toMatchObject({ discovery: 1, jwks: 1 });
  });
});

describe('VerifiedTokenCache', () => {
  test('bounded: the oldest entry goes first', () => {
    const cache = new VerifiedTokenCache<string>(2, 0);
    const exp = Date.now() / 1000 + 60;
    cache.set('a', 'A', exp, undefined);
    cache.set('b', 'B', exp, undefined);
    cache.set('c', 'C', exp, undefined);
    expect([
      cache.get('a', Date.now()),
      cache.get('b', Date.now()),
      cache.get('c', Date.now()),
    ]).toEqual([undefined, 'B', 'C']);
  });

  test('exp and nbf are checked on every hit, with the tolerance', () => {
    const cache = new VerifiedTokenCache<string>(10, 5);
    const now = 1_000_000_000_000;
    cache.set('t', 'T', now / 1000 + 10, now / 1000 - 1);
    expect(cache.get('t', now)).toBe('T');
    expect(cache.get('t', now + 14_000)).toBe('T');
    expect(cache.get('t', now + 15_000)).toBeUndefined();
    cache.set('early', 'E', now / 1000 + 100, now / 1000 + 10);
    expect(cache.get('early', now)).toBeUndefined();
  });

  test('keyed by the token tail, but a hit needs the whole token: tokens sharing a tail never stand in for each other', () => {
    const cache = new VerifiedTokenCache<string>(10, 0);
    const exp = Date.now() / 1000 + 60;
    const tail = 's'.repeat(100);
    const good = `h.good.${tail}`;
    const forged = `h.forged.${tail}`;
    cache.set(good, 'GOOD', exp, undefined);
    expect(cache.get(forged, Date.now())).toBeUndefined();
    expect(cache.get(`x${good}`, Date.now())).toBeUndefined();
    expect(cache.get(good.slice(1), Date.now())).toBeUndefined();
    expect(cache.get(good, Date.now())).toBe('GOOD');
    // A second verified token with the same tail displaces the first: a miss, never a wrong hit.
    cache.set(forged, 'FORGED', exp, undefined);
    expect(cache.get(good, Date.now())).toBeUndefined();
    expect(cache.get(forged, Date.now())).toBe('FORGED');
  });

  test('size 0 is off', () => {
    const cache = new VerifiedTokenCache<string>(0, 0);
    cache.set('a', 'A', Date.now() / 1000 + 60, undefined);
    expect(cache.get('a', Date.now())).toBeUndefined();
    expect(cache.enabled).toBe(false);
  });
});
