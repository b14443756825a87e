// The write policy (src/policy.ts requireWrite): WRITE_APP_ROLE, an app role a signed-in user
// must be assigned to write, and WRITE_AUTH_CONTEXT, a Conditional Access authentication
// context a user's write token must carry (Microsoft's claims challenge), against the fake's
// sign-in pages and its Conditional Access policy for c1.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { ALICE, API_ID, BOB, FakeEntra, call, read, startTestApi, write } from './support/api.ts';
import { signInForToken, stepUpConfig, userRolesConfig } from './support/entra.ts';

jest.setTimeout(30_000);

const WRITE_SCOPE = `api://${API_ID}/data.read api://${API_ID}/data.write`;

describe('WRITE_AUTH_CONTEXT=c1: a step-up for writes', () => {
  let fake: FakeEntra;
  beforeAll(async () => {
    fake = await FakeEntra.start({ config: stepUpConfig() });
  });
  afterAll(async () => {
    await fake?.close();
  });

  test('a write token without acrs c1: 401 insufficient_claims with the claims challenge; after the step-up the write succeeds', async () => {
    const api = await startTestApi(fake, { WRITE_AUTH_CONTEXT: 'c1' });
    try {
      const plain = await signInForToken(fake, { upn: ALICE, scope: WRITE_SCOPE });
      expect(decodeJwt(plain).acrs).toBeUndefined();
      expect((await read(api, plain)).status).toBe(200);
      const refused = await write(api, plain, { note: 'needs c1' });
      expect(refused.status).toBe(401);
      const claims = btoa('{"access_token":{"acrs":{"essential":true,"value":"c1"}}}');
      expect(refused.headers.get('www-authenticate')).toBe(
        `Bearer realm="api", error="insufficient_claims", claims="${claims}"`,
      );
      expect(refused.body).toEqual({
        error: 'insufficient_claims',
        error_description:
          'This operation requires the authentication context c1; ask Entra for a token with the claims of this challenge',
      });

      // What a client does (MSAL's claims): sign in again with the decoded claims request;
      // the fake's c1 policy asks for the second factor ("Approve sign-in").
      const challenge = /claims="([^"]+)"/.exec(refused.headers.get('www-authenticate')!)![1]!;
      const steppedUp = await signInForToken(fake, {
        upn: ALICE,
        scope: WRITE_SCOPE,
        claims: atob(challenge),
      });
      expect(decodeJwt(steppedUp).acrs).toEqual(['c1']);
      const saved = await write(api, steppedUp, { note: 'stepped up' });
      expect(saved.status).toBe(201);
    } finally {
      await api.close();
    }
  });

  test('every item write (POST, PUT, PATCH, DELETE on /data/items) needs the context too; reads do not', async () => {
    const api = await startTestApi(fake, { WRITE_AUTH_CONTEXT: 'c1' });
    try {
      const plain = await signInForToken(fake, { upn: ALICE, scope: WRITE_SCOPE });
      const steppedUp = await signInForToken(fake, {
        upn: ALICE,
        scope: WRITE_SCOPE,
        claims: '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}',
      });
      const items = `${api.url}/data/items`;
      const json = { 'content-type': 'application/json', 'if-match': '*' };
      const created = await call(items, {
        method: 'POST',
        token: steppedUp,
        headers: json,
        body: '{"n":1}',
      });
      expect(created.status).toBe(201);
      const item = `${items}/${created.body.id as number}`;
      for (const [method, url] of [
        ['POST', items],
        ['PUT', item],
        ['PATCH', item],
        ['DELETE', item],
      ] as const) {
        const r = await call(url, { method, token: plain, headers: json, body: '{"n":2}' });
        expect({ method, status: r.status, error: r.body.error }).toEqual({
          method,
          status: 401,
          error: 'insufficient_claims',
        });
      }
      expect((await call(item, { token: plain })).status).toBe(200);
      expect((await call(items, { token: plain })).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  test('the scope comes first (403 for a reader), and app-only writes are not asked for a context', async () => {
    const api = await startTestApi(fake, { WRITE_AUTH_CONTEXT: 'c1' });
    try {
      const bob = await fake.mintAccessToken({ user: BOB, scopes: ['data.read'] });
      const r = await write(api, bob, { note: 'bob' });
      expect(r.status).toBe(403);
      expect(r.body.error).toBe('insufficient_scope');
      const daemon = await fake.mintAccessToken({ app: true, roles: ['Data.Write.All'] });
      expect((await write(api, daemon, { from: 'daemon' })).status).toBe(201);
    } finally {
      await api.close();
    }
  });

  test('without WRITE_AUTH_CONTEXT a token without acrs writes', async () => {
    const api = await startTestApi(fake);
    try {
      const plain = await fake.mintAccessToken({ user: ALICE, scopes: ['data.write'] });
      expect((await write(api, plain, { note: 'no step-up' })).status).toBe(201);
    } finally {
      await api.close();
    }
  });
});

describe('WRITE_APP_ROLE: an app role a user must be assigned to write', () => {
  let fake: FakeEntra;
  beforeAll(async () => {
    fake = await FakeEntra.start({ config: userRolesConfig(['Data.Writer']) });
  });
  afterAll(async () => {
    await fake?.close();
  });

  test('assigned: writes; not assigned: 403 insufficient_role naming the role; reads and daemons unaffected', async () => {
    const api = await startTestApi(fake, { WRITE_APP_ROLE: 'Data.Writer' });
    try {
      const assigned = await signInForToken(fake, { upn: ALICE, scope: WRITE_SCOPE });
      expect(decodeJwt(assigned).roles).toEqual(['Data.Writer']);
      expect((await write(api, assigned, { note: 'writer' })).status).toBe(201);

      const notAssigned = await fake.mintAccessToken({
        user: ALICE,
        scopes: ['data.read', 'data.write'],
        roles: [],
      });
      expect((await read(api, notAssigned)).status).toBe(200);
      const r = await write(api, notAssigned, { note: 'not a writer' });
      expect(r.status).toBe(403);
      const description = 'The signed-in user is not assigned the app role Data.Writer of this API';
      expect(r.headers.get('www-authenticate')).toBe(
        `Bearer realm="api", error="insufficient_role", error_description="${description}"`,
      );
      expect(r.body).toEqual({ error: 'insufficient_role', error_description: description });

      const daemon = await fake.mintAccessToken({ app: true, roles: ['Data.Write.All'] });
      expect((await write(api, daemon, { from: 'daemon' })).status).toBe(201);
    } finally {
      await api.close();
    }
  });
});
