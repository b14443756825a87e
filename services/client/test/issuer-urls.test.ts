// Against the real fake issuer (in-process) when its browser-facing URL differs from the URL the
// web app uses (compose/k8s: the app talks to https://fake-entra:5050, the browser to
// http://localhost:5050): the browser is sent to the public URL, MSAL keeps the back channel.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { DEFAULTS, FakeEntra } from '@koa-entra/fake-entra';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { Agent, startTestApp, type TestApp } from './support/agent.ts';

let fake: FakeEntra;
let app: TestApp;

async function freePort(): Promise<number> {
  const server = createServer().listen(0);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  const port = await freePort();
  fake = await FakeEntra.start({ port, publicUrl: `http://127.0.0.1:${port}` });
  app = await startTestApp({ fake });
});

afterAll(async () => {
  await app?.close();
  await fake?.close();
});

test('sign-in and sign-out send the browser to the public URL; the CSP allows it', async () => {
  const agent = new Agent(app.base);
  const start = await agent.get('/auth/signin');
  expect(start.status).toBe(302);
  expect(
    start.location.startsWith(`${fake.publicUrl}/${fake.tenantId}/oauth2/v2.0/authorize?`),
  ).toBe(true);
  const csp = start.headers.get('content-security-policy')!;
  expect(csp).toContain(fake.publicUrl);
  expect(fake.requestCounts().discovery).toBe(1); // once per process
  // The person signs in on the issuer's page, reached at its public URL.
  const answer = await fake.completeSignIn(start.location, DEFAULTS.users.alice.upn);
  const back = new URL(answer.url);
  expect(`${back.origin}${back.pathname}`).toBe(`${app.base}/auth/redirect`);
  expect(fake.requests({ endpoint: 'authorize' })[0]!.headers.host).toBe(
    new URL(fake.publicUrl).host,
  );
  const done = await agent.get(`${back.pathname}${back.search}`);
  expect(done.status).toBe(303);
  const page = await agent.get('/');
  expect(page.status).toBe(200);
  expect(page.text).toContain('Alice Example');
  expect(fake.requestCounts().discovery).toBe(1);
  const signOut = await agent.post('/auth/signout', {
    _csrf: Agent.formToken(page.text, '/auth/signout'),
  });
  expect(signOut.status).toBe(303);
  expect(
    signOut.location.startsWith(`${fake.publicUrl}/${fake.tenantId}/oauth2/v2.0/logout?`),
  ).toBe(true);
});
