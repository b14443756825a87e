// The Me page against the real MSAL library and the real fake issuer in-process: the Graph
// profile, the ID token's claims, per resource the scopes, roles and expiry of the tokens the
// app received (decoded claims, never a token), and the link to the API docs.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { DEFAULTS, FakeEntra } from '@koa-entra/fake-entra';
import { MemoryStore } from '../src/store/store.ts';
import { Agent, signIn, startTestApp, type TestApp } from './support/agent.ts';
import { ItemsApi } from './support/items-api.ts';

const { alice, bob } = DEFAULTS.users;

let fake: FakeEntra;
let api: ItemsApi;
const started: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  fake = await FakeEntra.start();
  api = await ItemsApi.start(fake);
});

afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
  fake.reset();
  api.reset();
});

afterAll(async () => {
  await api?.close();
  await fake?.close();
});

async function app(env: Record<string, string> = {}): Promise<TestApp> {
  const store = new MemoryStore();
  const running = await startTestApp({ fake, apiUrl: api.url }, env, store);
  started.push(running, store);
  return running;
}

/** The visible text of each `<tag data-testid="id">` element (no nesting of the same tag). */
const byTestId = (html: string, tag: string, id: string) =>
  [
    ...html.matchAll(new RegExp(`<${tag}[^>]*data-testid="${id}"[^>]*>([\\s\\S]*?)</${tag}>`, 'g')),
  ].map((m) =>
    m[1]!
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );

describe('the Me page', () => {
  test('profile, ID token claims, per resource scopes and expiry; no token on the page', async () => {
    const web = await app();
    const agent = new Agent(web.base);
    await signIn(agent, fake, alice.upn);
    const page = await agent.get('/me');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<a href="\/me" aria-current="page">Me<\/a>/);
    // Graph's /me, in Graph's names.
    const profile = byTestId(page.text, 'dl', 'graph-profile')[0]!;
    expect(profile).toContain('userPrincipalName');
    expect(profile).toContain(alice.upn);
    // The ID token's claims, times as <time>.
    const claims = byTestId(page.text, 'dl', 'id-token-claims')[0]!;
    expect(claims).toContain(`preferred_username ${alice.upn}`);
    expect(claims).toContain(`tid ${DEFAULTS.tenantId}`);
    expect(page.text).toMatch(/<dt><code>exp<\/code><\/dt>\s*<dd>\s*<time datetime="[^"]+Z"/);
    // Graph, then the API: the scopes each token carries, and when it expires.
    const scopes = byTestId(page.text, 'dd', 'token-scopes');
    expect(scopes[0]).toContain('User.Read');
    expect(scopes.slice(1).join(' ')).toContain('data.read');
    expect(scopes.slice(1).join(' ')).toContain('data.write');
    for (const expires of byTestId(page.text, 'dd', 'token-expires'))
      expect(expires).toMatch(/\d{4}, \d\d:\d\d UTC/);
    expect(page.text).not.toContain('data-testid="permission-missing"');
    // Decoded claims only: no JWT (header.payload.signature) anywhere in the page.
    expect(page.text).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]*/);
    expect(page.text).toContain(`href="${api.url}/docs"`);
  });

  test('a user without the write permission sees it as not granted, with a way to ask for it', async () => {
    const web = await app(); // Bob consented data.read only
    const agent = new Agent(web.base);
    await signIn(agent, fake, bob.upn);
    const page = await agent.get('/me');
    expect(page.status).toBe(200);
    const scopes = byTestId(page.text, 'dd', 'token-scopes');
    expect(scopes.slice(1).join(' ')).toContain('data.read');
    expect(scopes.slice(1).join(' ')).not.toContain('data.write');
    expect(page.text).toContain('data-testid="permission-missing"');
    expect(page.text).toContain('href="/allow-writing?returnTo=%2Fme">Allow writing</a>');
  });

  test('signed out: a trip through sign-in that comes back to /me', async () => {
    const web = await app();
    const answer = await new Agent(web.base).get('/me');
    expect(answer.status).toBe(302);
    expect(answer.location).toBe('/auth/signin?returnTo=%2Fme');
  });
});
