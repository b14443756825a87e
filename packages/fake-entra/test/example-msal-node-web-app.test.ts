// examples/msal-node-web-app works as its README says: a person signs in on the fake's page,
// the app redeems the code with its PKCE verifier and shows the Graph profile.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { createWebApp } from '../examples/msal-node-web-app/app.ts';
import { DEFAULTS, FakeEntra } from '../src/index.ts';

let fake: FakeEntra;
let server: Server;
let base: string;

beforeAll(async () => {
  fake = await FakeEntra.start();
  // The redirect URI names the app's port: find a free one first.
  const probe = createNetServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  base = `http://localhost:${port}`;
  server = createWebApp({
    authority: fake.authority(),
    clientId: DEFAULTS.webClientId,
    clientSecret: DEFAULTS.webClientSecret,
    redirectUri: `${base}/auth/redirect`,
    graphBaseUrl: fake.graphBaseUrl,
  }).listen(port, '127.0.0.1');
  await once(server, 'listening');
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await fake.close();
});

async function get(path: string, cookie?: string) {
  const res = await fetch(new URL(path, base), {
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
  });
  return {
    status: res.status,
    location: res.headers.get('location') ?? '',
    cookie: res.headers.get('set-cookie')?.split(';')[0],
    text: await res.text(),
  };
}

test('signs alice in through the sign-in page and shows her Graph profile', async () => {
  const start = await get('/signin');
  expect(start.status).toBe(302);
  expect(
    start.location.startsWith(`${fake.publicUrl}/${DEFAULTS.tenantId}/oauth2/v2.0/authorize?`),
  ).toBe(true);
  const back = await fake.completeSignIn(start.location, DEFAULTS.users.alice.upn);
  const done = await get(back.url, start.cookie);
  expect(done).toMatchObject({ status: 302, location: '/' });
  const redeem = await fake.takeRequest({ endpoint: 'token', grantType: 'authorization_code' });
  const challenge = new URL(start.location).searchParams.get('code_challenge');
  expect(createHash('sha256').update(redeem.form.code_verifier!).digest('base64url')).toBe(
    challenge,
  );
  const home = await get('/', start.cookie);
  expect(home.text).toContain('<h1>Hello, Alice Example</h1>');
  expect(home.text).toContain(DEFAULTS.users.alice.upn);
});

test('refuses an answer that belongs to no sign-in of this browser', async () => {
  const start = await get('/signin');
  const back = await fake.completeSignIn(start.location, DEFAULTS.users.bob.upn);
  const other = await get('/');
  const answer = await get(back.url, other.cookie);
  expect(answer.status).toBe(400);
  expect(answer.text).toContain('does not belong to a sign-in of this browser');
});
