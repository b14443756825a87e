// Signing keys from the issuer as the API answers and reports them: retirement, unknown-kid
// floods, issuer outages (the key cache itself is tested in packages/bearer/test/keys.test.ts).
import { afterEach, describe, expect, test, jest } from '@jest/globals';

jest.setTimeout(30_000);
import { randomUUID } from 'node:crypto';
import { ALICE, FakeEntra, call, read, startTestApi } from './support/api.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()?.();
});

async function setup(env: Record<string, string> = {}, options: { outage?: boolean } = {}) {
  const fake = await FakeEntra.start();
  cleanup.push(() => fake.close());
  if (options.outage) fake.setOutage(true);
  const api = await startTestApi(fake, env);
  cleanup.push(() => api.close());
  const token = (o: Parameters<FakeEntra['mintAccessToken']>[0] = {}) =>
    fake.mintAccessToken({ user: ALICE, scopes: ['data.read'], ...o });
  return { fake, api, token };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('key retirement', () => {
  test('retiring a key empties the verified-token cache: its tokens stop working', async () => {
    const { fake, api, token } = await setup();
    const old = await token();
    expect((await read(api, old)).status).toBe(200);
    expect((await read(api, old)).status).toBe(200); // now served from the cache
    const oldKid = fake.signingKid;
    await fake.rotateSigningKey({ emergency: true });
    fake.retireKey(oldKid);
    // The first token with the new kid makes the API refetch and notice the retirement.
    expect((await read(api, await token())).status).toBe(200);
    const r = await read(api, old);
    expect(r.status).toBe(401);
    expect(r.body.error_description).toBe(
      'The token is signed with a key the issuer does not publish',
    );
    expect(api.logs.text).toContain('verified-token cache emptied');
  });
});

describe('unknown kid flood', () => {
  test('a flood of random kids (1000 requests, 200 kids) causes at most one JWKS fetch per cooldown', async () => {
    const { fake, api, token } = await setup({ JWKS_COOLDOWN_SECONDS: '30' });
    fake.resetRequestCounts();
    const forged = await Promise.all(
      Array.from({ length: 200 }, () => token({ header: { kid: randomUUID() } })),
    );
    const statuses: number[] = [];
    for (let round = 0; round < 5; round++) {
      const rs = await Promise.all(forged.map((t) => read(api, t)));
      statuses.push(...rs.map((r) => r.status));
    }
    expect(statuses).toHaveLength(1000);
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(fake.requestCounts().jwks).toBeLessThanOrEqual(1);
    // Valid tokens keep working meanwhile.
    expect((await read(api, await token())).status).toBe(200);
    const metrics = await call(String(api.metricsUrl));
    expect(metrics.text).toMatch(/api_token_rejections_total\{reason="unknown_kid"[^}]*\} 1000/);
  });
});

describe('issuer outage', () => {
  test('cached keys keep working while the issuer is down, also past the refresh age', async () => {
    const { fake, api, token } = await setup({
      JWKS_REFRESH_SECONDS: '1',
      JWKS_STALE_MAX_SECONDS: '3600',
      JWKS_COOLDOWN_SECONDS: '1',
    });
    const before = await token();
    fake.setOutage(true);
    await sleep(1200);
    expect((await read(api, before)).status).toBe(200);
    expect((await call(`${api.url}/readyz`)).status).toBe(200);
    // A token the API has never seen is still verified with the cached key.
    fake.setOutage(false);
    const unseen = await token();
    fake.setOutage(true);
    expect((await read(api, unseen)).status).toBe(200);
    const metrics = await call(String(api.metricsUrl));
    expect(metrics.text).toMatch(
      /api_issuer_fetches_total\{target="(jwks|discovery)",result="failed"[^}]*\} [1-9]/,
    );
  });

  test('past the stale bound the keys are unusable: 503 with Retry-After, never 401', async () => {
    const { fake, api, token } = await setup({
      JWKS_REFRESH_SECONDS: '1',
      JWKS_STALE_MAX_SECONDS: '1',
      JWKS_COOLDOWN_SECONDS: '5',
    });
    const t = await token();
    const cached = await token();
    expect((await read(api, cached)).status).toBe(200);
    fake.setOutage(true);
    await sleep(2200);
    // Neither a new token nor one verified before the outage is accepted without usable keys.
    expect((await read(api, cached)).status).toBe(503);
    const r = await read(api, t);
    expect(r.status).toBe(503);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r.headers.get('www-authenticate')).toBeNull();
    expect(r.body.error).toBe('temporarily_unavailable');
    expect((await call(`${api.url}/readyz`)).status).toBe(503);
  });

  test('cold start without the issuer: 503 + Retry-After, /readyz not ready; recovers when the issuer returns', async () => {
    const { fake, api, token } = await setup(
      { JWKS_COOLDOWN_SECONDS: '3', JWKS_FAILURE_BACKOFF_SECONDS: '3' },
      { outage: true },
    );
    // startTestApi waited for the failed warm-up fetch; the failure backoff starts now.
    fake.setOutage(false);
    const t = await token();
    fake.setOutage(true);
    fake.resetRequestCounts();
    const answers = await Promise.all(Array.from({ length: 20 }, () => read(api, t)));
    for (const r of answers) {
      expect(r.status).toBe(503);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('www-authenticate')).toBeNull();
      expect(r.body.error).toBe('temporarily_unavailable');
    }
    const ready = await call(`${api.url}/readyz`);
    expect(ready.status).toBe(503);
    // Which check fails, not why: the reason names the issuer's URL; it goes to the log.
    expect(ready.body).toEqual({
      status: 'not ready',
      checks: { signingKeys: 'unavailable', store: 'ok (sqlite)' },
    });
    expect(ready.text).not.toContain(new URL(fake.baseUrl).host);
    expect(api.logs.entries().find((e) => e.msg === 'not ready')).toMatchObject({
      level: 'warn',
      checks: { signingKeys: expect.stringContaining(new URL(fake.baseUrl).host) },
    });
    expect((await call(`${api.url}/healthz`)).status).toBe(200);
    // Within the failure backoff nobody asks the issuer again.
    expect(fake.requestCounts().discovery + fake.requestCounts().jwks).toBe(0);
    fake.setOutage(false);
    await sleep(3100);
    expect((await read(api, t)).status).toBe(200);
    expect((await call(`${api.url}/readyz`)).status).toBe(200);
  });

  test('W7: a key published during an outage: 503 naming the cause, accepted about 1 s after the issuer is back (not 30 s)', async () => {
    // Default timings: JWKS_COOLDOWN_SECONDS 30, JWKS_FAILURE_BACKOFF_SECONDS 1.
    const { fake, api, token } = await setup();
    expect((await read(api, await token())).status).toBe(200);
    fake.setOutage(true);
    await fake.rotateSigningKey({ emergency: true });
    const fresh = await token();
    const during = await read(api, fresh);
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('1');
    expect(during.headers.get('www-authenticate')).toBeNull();
    expect(during.body).toEqual({
      error: 'temporarily_unavailable',
      error_description:
        'The token is signed with a key this API has not seen yet, and the token issuer cannot be reached to fetch it; try again later',
    });
    const logged = api.logs
      .entries()
      .find((l) => l.msg === 'token issuer unreachable: no signing key to verify the token');
    expect(logged).toMatchObject({
      level: 'warn',
      reason: 'unknown_kid_issuer_unreachable',
      retryAfterSeconds: 1,
    });
    expect(String(logged?.cause)).toMatch(/answered 503/);
    fake.setOutage(false);
    await sleep(1100);
    expect((await read(api, fresh)).status).toBe(200);
  });
});
