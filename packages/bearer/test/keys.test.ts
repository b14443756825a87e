// The key cache and the verified-token cache inside a verifier, against the real fake issuer:
// single flight, rotation, retirement, unknown-kid floods, outages, and the hooks that report them.
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  KeysUnavailableError,
  createEntraVerifier,
  type IssuerFetchEvent,
  type VerifierHooks,
} from '@koa-entra/bearer';
import { ALICE, FakeEntra, entraOptions, manualClock } from './support/fake.ts';

jest.setTimeout(30_000);

const fakes: FakeEntra[] = [];
afterEach(async () => {
  while (fakes.length) await fakes.pop()?.close();
});

/** A fake issuer, a verifier on a manual clock, and everything its hooks reported. */
async function setup(options: Parameters<typeof entraOptions>[1] = {}) {
  const fake = await FakeEntra.start();
  fakes.push(fake);
  const clock = manualClock();
  const events = {
    cacheHits: 0,
    rejected: [] as string[],
    fetches: [] as IssuerFetchEvent[],
    refreshFailures: [] as string[],
    retired: [] as string[][],
    unavailable: 0,
  };
  const hooks: VerifierHooks = {
    cacheHit: () => void events.cacheHits++,
    tokenRejected: (e) => void events.rejected.push(e.reason),
    issuerFetch: (e) => void events.fetches.push(e),
    keysRefreshFailed: (e) => void events.refreshFailures.push(e.message),
    keysRetired: (kids) => void events.retired.push([...kids]),
    keysUnavailable: () => void events.unavailable++,
  };
  const verifier = createEntraVerifier(entraOptions(fake, { now: clock.now, hooks, ...options }));
  const token = (o: Parameters<FakeEntra['mintAccessToken']>[0] = {}) =>
    fake.mintAccessToken({ user: ALICE, scopes: ['data.read'], ...o });
  return { fake, clock, events, verifier, token };
}

describe('single flight', () => {
  test('concurrent verifications on a cold cache share one discovery and one JWKS fetch', async () => {
    const { fake, verifier, token, events } = await setup({ cacheMaxEntries: 0 });
    const tokens = await Promise.all(Array.from({ length: 30 }, () => token()));
    fake.resetRequestCounts();
    await Promise.all(tokens.map((t) => verifier.verify(t)));
    expect(fake.requestCounts()).toMatchObject({ discovery: 1, jwks: 1 });
    expect(events.fetches).toEqual([
      { target: 'discovery', ok: true },
      { target: 'jwks', ok: true },
    ]);
    expect(events.cacheHits).toBe(0);
  });
});

describe('rotation and retirement', () => {
  test('a planned roll-over (the next key published before it signs) needs no JWKS fetch', async () => {
    const { fake, verifier, token } = await setup();
    await verifier.verify(await token());
    fake.resetRequestCounts();
    const next = fake.nextSigningKid;
    expect(await fake.rotateSigningKey()).toBe(next);
    await Promise.all(Array.from({ length: 20 }, async () => verifier.verify(await token())));
    expect(fake.requestCounts()).toMatchObject({ discovery: 0, jwks: 0 });
  });

  test('a token signed with a key never published before is accepted at once, with one JWKS fetch', async () => {
    const { fake, verifier, token } = await setup();
    await verifier.verify(await token());
    fake.resetRequestCounts();
    await fake.rotateSigningKey({ emergency: true });
    const fresh = await token();
    await Promise.all(Array.from({ length: 20 }, () => verifier.verify(fresh)));
    expect(fake.requestCounts()).toMatchObject({ discovery: 0, jwks: 1 });
  });

  test('retiring a key empties the verified-token cache: its tokens stop working', async () => {
    const { fake, verifier, token, events } = await setup();
    const old = await token();
    await verifier.verify(old);
    await verifier.verify(old);
    expect(events.cacheHits).toBe(1);
    const oldKid = fake.signingKid;
    await fake.rotateSigningKey({ emergency: true });
    fake.retireKey(oldKid);
    // The first token with the new kid makes the verifier refetch and notice the retirement.
    await verifier.verify(await token());
    expect(events.retired).toEqual([[oldKid]]);
    await expect(verifier.verify(old)).rejects.toMatchObject({
      reason: 'unknown_kid',
      message: 'The token is signed with a key the issuer does not publish',
    });
  });

  test('a verification that overlaps a key retirement is accepted but not cached', async () => {
    const { fake, verifier, token } = await setup();
    await verifier.verify(await token());
    const oldKid = fake.signingKid;
    await fake.rotateSigningKey({ emergency: true });
    fake.retireKey(oldKid);
    // This verification's key fetch is the one that retires the old key (cache epoch moves).
    const fresh = await token();
    await verifier.verify(fresh);
    expect(verifier.cacheSize).toBe(0);
    await verifier.verify(fresh);
    expect(verifier.cacheSize).toBe(1);
  });
});

describe('unknown kids', () => {
  test('a flood of random kids causes at most one JWKS fetch per cooldown', async () => {
    const { fake, verifier, token, events } = await setup({ jwks: { cooldownSeconds: 30 } });
    await verifier.verify(await token());
    fake.resetRequestCounts();
    const forged = await Promise.all(
      Array.from({ length: 200 }, () => token({ header: { kid: randomUUID() } })),
    );
    for (let round = 0; round < 3; round++) {
      const results = await Promise.allSettled(forged.map((t) => verifier.verify(t)));
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
    }
    expect(fake.requestCounts().jwks).toBe(1);
    expect(events.rejected.filter((r) => r === 'unknown_kid')).toHaveLength(600);
    // Valid tokens keep working meanwhile.
    await expect(verifier.verify(await token())).resolves.toBeDefined();
  });

  test('after the cooldown an unknown kid may trigger one more fetch', async () => {
    const { fake, verifier, token, clock } = await setup({ jwks: { cooldownSeconds: 30 } });
    await verifier.verify(await token());
    fake.resetRequestCounts();
    await verifier.verify(await token({ header: { kid: 'nope-1' } })).catch(() => undefined);
    await verifier.verify(await token({ header: { kid: 'nope-2' } })).catch(() => undefined);
    expect(fake.requestCounts().jwks).toBe(1);
    clock.advance(29_000);
    await verifier.verify(await token({ header: { kid: 'nope-3' } })).catch(() => undefined);
    expect(fake.requestCounts().jwks).toBe(1);
    clock.advance(1_000);
    await verifier.verify(await token({ header: { kid: 'nope-4' } })).catch(() => undefined);
    expect(fake.requestCounts().jwks).toBe(2);
  });
});

describe('issuer outage', () => {
  const timings = { refreshSeconds: 60, staleMaxSeconds: 600, cooldownSeconds: 5 };

  test('cached keys keep working past the refresh age while the issuer fails; the failures are reported', async () => {
    const { fake, verifier, token, clock, events } = await setup({ jwks: timings });
    const before = await token();
    const unseen = await token();
    await verifier.verify(before);
    fake.setOutage(true);
    clock.advance(61_000);
    await expect(verifier.verify(before)).resolves.toBeDefined();
    // A token never seen is still verified with the cached key.
    await expect(verifier.verify(unseen)).resolves.toBeDefined();
    await new Promise((r) => setTimeout(r, 100)); // the background refresh fails meanwhile
    expect(events.fetches).toContainEqual({ target: 'jwks', ok: false });
    expect(events.refreshFailures[0]).toMatch(/^jwks request to https:\/\/.* answered 503$/);
    fake.setOutage(false);
    const published = (await (await fetch(`${fake.authority()}/discovery/v2.0/keys`)).json()) as {
      keys: unknown[];
    };
    expect(verifier.keys.status()).toMatchObject({ ready: true, keyCount: published.keys.length });
  });

  test('past the stale bound: KeysUnavailableError (503, Retry-After), also for cached tokens', async () => {
    const { fake, verifier, token, clock, events } = await setup({ jwks: timings });
    const cached = await token();
    await verifier.verify(cached);
    fake.setOutage(true);
    clock.advance(661_000);
    for (const t of [cached, await token()]) {
      const error = await verifier.verify(t).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeysUnavailableError);
      expect(error).toMatchObject({
        code: 'ERR_BEARER_KEYS_UNAVAILABLE',
        status: 503,
        expose: false,
        error: 'temporarily_unavailable',
        reason: 'issuer_unreachable',
        message: 'The token issuer cannot be reached; try again later',
        // The first failure backs off for 1 s before the issuer is asked again.
        retryAfterSeconds: 1,
        headers: { 'Retry-After': '1' },
      });
      expect((error as KeysUnavailableError).cause).toBeInstanceOf(Error);
      expect((error as KeysUnavailableError).headers).not.toHaveProperty('WWW-Authenticate');
    }
    expect(events.unavailable).toBe(2);
    expect(verifier.keys.status().ready).toBe(false);
  });

  test('cold start without the issuer: 503 within the failure backoff without asking again; recovers after it', async () => {
    const { fake, verifier, token, clock } = await setup({ jwks: timings });
    const t = await token();
    fake.setOutage(true);
    expect(await verifier.keys.ensureKeys()).toBe(false);
    fake.resetRequestCounts();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => verifier.verify(t).catch((e: unknown) => e)),
    );
    for (const e of answers) expect(e).toBeInstanceOf(KeysUnavailableError);
    expect(fake.requestCounts().discovery + fake.requestCounts().jwks).toBe(0);
    expect(verifier.keys.status().lastError).toMatch(/discovery request to .* answered 503/);
    fake.setOutage(false);
    clock.advance(1_000);
    await expect(verifier.verify(t)).resolves.toBeDefined();
    expect(verifier.keys.status()).toMatchObject({ ready: true, lastError: undefined });
  });

  test('the failure backoff grows 1 s, 2 s, 4 s per consecutive failure, up to the cooldown', async () => {
    const { fake, verifier, clock, events } = await setup({ jwks: timings });
    fake.setOutage(true);
    const asked = () => events.fetches.filter((f) => f.target === 'discovery').length;
    const probe = async (advanceMs: number) => {
      clock.advance(advanceMs);
      await verifier.keys.ensureKeys();
      return asked();
    };
    expect(await probe(0)).toBe(1); // failure 1: wait 1 s
    expect(await probe(999)).toBe(1);
    expect(await probe(1)).toBe(2); // failure 2: wait 2 s
    expect(await probe(1_999)).toBe(2);
    expect(await probe(1)).toBe(3); // failure 3: wait 4 s
    expect(await probe(3_999)).toBe(3);
    expect(await probe(1)).toBe(4); // failure 4: 8 s, capped at the 5 s cooldown
    expect(await probe(4_999)).toBe(4);
    expect(await probe(1)).toBe(5);
    fake.setOutage(false);
    expect(await probe(5_000)).toBe(6);
    expect(verifier.keys.status().ready).toBe(true);
  });

  test('an unknown kid during an outage: 503 naming the cause, and the new key is accepted 1 s after the issuer is back (W7)', async () => {
    // Default timings: a 30 s cooldown for unknown kids must not delay the new key once the issuer answers again.
    const { fake, verifier, token, clock, events } = await setup();
    await verifier.verify(await token());
    fake.setOutage(true);
    await fake.rotateSigningKey({ emergency: true });
    const fresh = await token();
    const during = await verifier.verify(fresh).catch((e: unknown) => e);
    expect(during).toBeInstanceOf(KeysUnavailableError);
    expect(during).toMatchObject({
      status: 503,
      reason: 'unknown_kid_issuer_unreachable',
      message:
        'The token is signed with a key this API has not seen yet, and the token issuer cannot be reached to fetch it; try again later',
      retryAfterSeconds: 1,
    });
    expect(events.rejected).not.toContain('unknown_kid');
    fake.setOutage(false);
    clock.advance(1_000);
    await expect(verifier.verify(fresh)).resolves.toMatchObject({ kind: 'user' });
    // A key the issuer really does not publish is still an invalid token.
    const forged = await verifier.verify(await token({ header: { kid: 'nope' } })).catch((e) => e);
    expect(forged).toMatchObject({ reason: 'unknown_kid' });
  });

  test('an unreachable issuer: KeysUnavailableError with a retry hint, not an invalid token', async () => {
    const { token } = await setup();
    const unreachable = createEntraVerifier({
      ...entraOptions(fakes[0] as FakeEntra),
      authority: 'https://127.0.0.1:1',
      jwks: { fetchTimeoutMs: 2000 },
    });
    const error = await unreachable.verify(await token()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeysUnavailableError);
    expect((error as KeysUnavailableError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  test('a discovery document naming another issuer is not trusted', async () => {
    const { fake } = await setup();
    const verifier = createEntraVerifier(entraOptions(fake));
    // The same document, asked for under another tenant's name: its issuer does not match.
    const mixedUp = createEntraVerifier({
      ...entraOptions(fake),
      fetch: (input, init) =>
        fetch(String(input).replace('11111111-2222-4333-8444-555555555555', fake.tenantId), init),
      tenantId: '11111111-2222-4333-8444-555555555555',
    });
    await expect(verifier.keys.refresh()).resolves.toBeUndefined();
    await expect(mixedUp.keys.refresh()).rejects.toThrow(/names issuer ".*", expected /);
    expect(mixedUp.keys.status().ready).toBe(false);
  });
});
