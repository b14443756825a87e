// Claims challenges (issue 11): CP1 declared, a 401 insufficient_claims from the API followed
// with a step-up (Conditional Access for authentication context c1 at the fake), the kept write
// completed once; messages that name the real cause.
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_CONFIG_FILE,
  DEFAULTS,
  FakeEntra,
  type FakeEntraConfig,
} from '@koa-entra/fake-entra';
import { decodeJwt } from 'jose';
import { MemoryStore } from '../src/store/store.ts';
import { Agent, signIn, startTestApp, type TestApp } from './support/agent.ts';
import { TestApi } from './support/test-api.ts';

const { alice } = DEFAULTS.users;
let fake: FakeEntra;
let api: TestApi;
let app: TestApp;
let store: MemoryStore;

beforeAll(async () => {
  const config = JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as FakeEntraConfig & {
    conditionalAccessPolicies?: unknown[];
  };
  config.conditionalAccessPolicies = [
    {
      id: '6e1d2c3b-4f5a-4b6c-9d7e-8f9a0b1c2d3e',
      name: 'Step-up for writes',
      authenticationContexts: ['c1'],
      grantControls: ['mfa'],
    },
  ];
  fake = await FakeEntra.start({ config });
  api = await TestApi.start(fake);
  store = new MemoryStore();
  app = await startTestApp({ fake, apiUrl: api.url }, {}, store);
});

afterEach(() => {
  api.requireWriteAuthContext(undefined);
  api.calls.length = 0;
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  await api?.close();
  await fake?.close();
});

async function postWrite(agent: Agent, text: string) {
  const form = await agent.get('/write');
  return agent.post('/write', { _csrf: Agent.formToken(form.text, '/write'), text });
}

test('API 401 insufficient_claims (c1): step-up at the issuer with those claims, then the write is done once', async () => {
  api.requireWriteAuthContext('c1');
  const agent = new Agent(app.base);
  await signIn(agent, fake, alice.upn);
  const answer = await postWrite(agent, 'needs c1');
  // The API refused the token; the silent retry with the claims met Entra's AADSTS50076.
  expect(api.calls.map((c) => c.status)).toEqual([401]);
  expect(fake.requests({ grantType: 'refresh_token' }).at(-1)).toMatchObject({
    response: { status: 400, error: 'invalid_grant' },
  });
  expect(String(fake.requests({ grantType: 'refresh_token' }).at(-1)?.form.claims)).toContain('c1');
  // To the issuer, for data.write with the API's claims and CP1 merged.
  expect(answer.status).toBe(303);
  const url = new URL(answer.location);
  expect(url.searchParams.get('scope')).toContain(`${DEFAULTS.apiIdentifier}/data.write`);
  expect(JSON.parse(url.searchParams.get('claims')!)).toMatchObject({
    access_token: { acrs: { essential: true, value: 'c1' }, xms_cc: { values: ['CP1'] } },
  });
  const back = await fake.completeSignIn(answer.location, alice.upn);
  expect(back.pages).toContain('second-factor');
  const returned = await agent.get(back.url);
  expect(returned.status).toBe(303);
  expect(returned.location).toMatch(/^\/auth\/resume\//);
  const resumed = await agent.get(returned.location);
  expect(resumed.status).toBe(303);
  expect(resumed.location).toBe('/read');
  const writes = api.calls.filter((c) => c.method === 'POST');
  expect(writes.map((c) => c.status)).toEqual([401, 201]);
  expect(decodeJwt(writes[1]!.token).acrs).toContain('c1');
  // Once: the resume step is used up.
  expect((await agent.get(returned.location)).status).toBe(409);
  expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(2);
});

test('a claims challenge signing in again does not satisfy is named as such, never as missing consent', async () => {
  // The issuer keeps leaving c1 out of the API's tokens (a policy that cannot be met).
  api.requireWriteAuthContext('c1');
  const agent = new Agent(app.base);
  await signIn(agent, fake, alice.upn);
  for (let i = 0; i < 6; i++)
    fake.enqueueTokenCallback({
      resource: DEFAULTS.apiIdentifier,
      accessTokenClaims: { acrs: undefined },
    });
  fake.clearRequests();
  let answer = await postWrite(agent, 'needs c1');
  // At most one round trip through the issuer, then a page instead of a loop.
  for (let hops = 0; answer.status === 303 && hops < 6; hops++) {
    const next = answer.location.startsWith('/')
      ? answer.location
      : (await fake.completeSignIn(answer.location, alice.upn)).url;
    answer = await agent.get(next);
  }
  expect(answer.status).toBeGreaterThanOrEqual(400);
  expect(answer.text).toContain('authentication context c1');
  expect(answer.text).not.toMatch(/consent/i);
  fake.clearHooks();
  expect(fake.requests({ endpoint: 'authorize' }).filter((r) => r.method === 'GET').length).toBe(1);
});

test('Graph 401 without claims: one fresh token (not a sign-in), then the profile', async () => {
  const agent = new Agent(app.base);
  await signIn(agent, fake, alice.upn);
  fake.clearRequests();
  fake.enqueueError({
    endpoint: 'graph',
    status: 401,
    error: 'InvalidAuthenticationToken',
    description: 'Access token has expired or is not yet valid.',
  });
  const home = await agent.get('/');
  expect(home.status).toBe(200);
  expect(home.text).toContain('Alice Example');
  expect(fake.requests({ endpoint: 'graph' }).map((r) => r.response.status)).toEqual([401, 200]);
  // The second Graph call carried a new token, refreshed silently: no authorize request.
  expect(fake.requests({ grantType: 'refresh_token' })).toHaveLength(1);
  expect(fake.requests({ endpoint: 'authorize' })).toHaveLength(0);
});
