// Lifetimes as Entra's defaults: access tokens 60-90 minutes at random, iat/nbf about 5 minutes
// in the past, refresh tokens 90 days; configurable from the configuration file and start
// options, and shortened by tests (a fixed number of seconds).
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_FILE, DEFAULTS, FakeEntra, parseConfig } from '../src/index.ts';
import { signInAndRedeem, tokenRequest } from './support/flows.ts';

const API = `${DEFAULTS.apiIdentifier}/data.read`;
const started: FakeEntra[] = [];
const start = async (o: Parameters<typeof FakeEntra.start>[0] = {}) => {
  const fake = await FakeEntra.start(o);
  started.push(fake);
  return fake;
};
afterEach(async () => {
  jest.restoreAllMocks();
  await Promise.all(started.splice(0).map((f) => f.close()));
});

describe('default lifetimes', () => {
  test('access tokens live 60-90 minutes at random; iat and nbf lie 5 minutes back; expires_in matches', async () => {
    const fake = await start();
    const lifetimes = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const res = await tokenRequest(fake, {
        grant_type: 'client_credentials',
        client_id: DEFAULTS.daemonClientId,
        client_secret: DEFAULTS.daemonClientSecret,
        scope: `${DEFAULTS.apiIdentifier}/.default`,
      });
      const now = Math.floor(Date.now() / 1000);
      const { iat, nbf, exp } = decodeJwt(res.body.access_token);
      expect(iat).toBe(nbf);
      expect(Math.abs(now - 300 - iat!)).toBeLessThanOrEqual(1);
      expect(res.body.expires_in).toBeGreaterThanOrEqual(3600);
      expect(res.body.expires_in).toBeLessThanOrEqual(5400);
      expect(Math.abs(exp! - now - res.body.expires_in)).toBeLessThanOrEqual(1);
      lifetimes.add(res.body.expires_in);
    }
    // Random, not one fixed value (12 draws from 1801 values).
    expect(lifetimes.size).toBeGreaterThan(1);
  });

  test('refresh tokens last 90 days: redeemable after 89 days, AADSTS700082 after 91', async () => {
    const fake = await start();
    const first = await signInAndRedeem(fake, { upn: 'alice@contoso.test', scope: API });
    const refresh = (token: string) =>
      tokenRequest(fake, {
        grant_type: 'refresh_token',
        client_id: DEFAULTS.webClientId,
        client_secret: DEFAULTS.webClientSecret,
        refresh_token: token,
        scope: API,
      });
    const real = Date.now();
    const day = 24 * 60 * 60 * 1000;
    const spy = jest.spyOn(Date, 'now').mockReturnValue(real + 89 * day);
    const later = await refresh(first.body.refresh_token);
    expect(later.status).toBe(200);
    spy.mockReturnValue(real + 91 * day);
    const tooLate = await refresh(first.body.refresh_token);
    expect(tooLate.status).toBe(400);
    expect(tooLate.body).toMatchObject({ error: 'invalid_grant', error_codes: [700082] });
  });
});

describe('configured lifetimes', () => {
  test('from the configuration file: a fixed access-token lifetime, no backdating', async () => {
    const config = parseConfig({
      ...JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')),
      lifetimes: { accessToken: 120, backdate: 0 },
    });
    const fake = await start({ config });
    const { iat, exp } = decodeJwt(await fake.mintAccessToken());
    expect(exp! - iat!).toBe(120);
  });

  test('start options win over the configuration; a range gives random lifetimes in it', async () => {
    const fake = await start({ lifetimes: { accessToken: { min: 30, max: 40 }, backdate: 10 } });
    for (let i = 0; i < 5; i++) {
      const res = await tokenRequest(fake, {
        grant_type: 'client_credentials',
        client_id: DEFAULTS.daemonClientId,
        client_secret: DEFAULTS.daemonClientSecret,
        scope: `${DEFAULTS.apiIdentifier}/.default`,
      });
      expect(res.body.expires_in).toBeGreaterThanOrEqual(30);
      expect(res.body.expires_in).toBeLessThanOrEqual(40);
      const { iat, exp } = decodeJwt(res.body.access_token);
      expect(exp! - iat!).toBe(res.body.expires_in + 10);
    }
  });

  test('bad lifetimes are refused naming the field', async () => {
    await expect(start({ lifetimes: { backdate: -1 } })).rejects.toThrow(
      /lifetimes\.backdate must be 0 or more seconds/,
    );
    await expect(start({ lifetimes: { bogus: 3 } as never })).rejects.toThrow(
      /lifetimes\.bogus is not a lifetime/,
    );
    expect(() =>
      parseConfig({
        tenants: [{ id: DEFAULTS.tenantId }],
        lifetimes: { accessToken: { min: 90, max: 60 } },
      }),
    ).toThrow(/lifetimes\.accessToken: min must not exceed max/);
    expect(() =>
      parseConfig({ tenants: [{ id: DEFAULTS.tenantId }], lifetimes: { refreshToken: 0 } }),
    ).toThrow(/lifetimes\.refreshToken: must be a positive number of seconds/);
  });
});
