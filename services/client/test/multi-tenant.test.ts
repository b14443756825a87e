// Multi-tenant authorities (issue 11): TENANT_ID organizations/common with a multi-tenant
// registration signs in users of any tenant; with a single-tenant registration the page says
// what to change (AADSTS50194). National cloud hosts need no knownAuthorities.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_CONFIG_FILE,
  DEFAULTS,
  FakeEntra,
  type FakeEntraConfig,
} from '@koa-entra/fake-entra';
import { loadConfig } from '../src/config.ts';
import { Agent, signIn, startTestApp } from './support/agent.ts';

const { carol, alice } = DEFAULTS.users;

describe('organizations authority, multi-tenant registration', () => {
  let fake: FakeEntra;
  beforeAll(async () => {
    const config = JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as FakeEntraConfig & {
      clients: Record<string, unknown>[];
    };
    config.clients = config.clients.map((c) =>
      c.clientId === DEFAULTS.webClientId
        ? { ...c, signInAudience: 'AzureADMultipleOrgs' as const }
        : c,
    );
    fake = await FakeEntra.start({ config });
  });
  afterAll(async () => {
    await fake?.close();
  });

  test.each(['organizations', 'common'])(
    'TENANT_ID=%s: a user of a second tenant signs in and sees her Graph profile',
    async (tenant) => {
      const app = await startTestApp({ fake }, { TENANT_ID: tenant });
      try {
        expect(app.config.authority).toBe(`${fake.baseUrl}/${tenant}`);
        expect(app.config.multiTenant).toBe(true);
        const agent = new Agent(app.base);
        const start = await agent.get('/auth/signin');
        expect(new URL(start.location).pathname).toBe(`/${tenant}/oauth2/v2.0/authorize`);
        const back = await fake.completeSignIn(start.location, carol.upn);
        expect((await agent.get(back.url)).status).toBe(303);
        const home = await agent.get('/');
        expect(home.status).toBe(200);
        expect(home.text).toContain(carol.upn);
        // The code was redeemed at the same authority; the session keeps her home tenant.
        expect(fake.requests({ endpoint: 'token' }).at(-1)?.tenant).toBe(tenant);
        const session = await app.webApp.store.get(`sess:${agent.cookies.get('webapp.sid')}`);
        expect(JSON.parse(session!).user.tenantId).toBe(DEFAULTS.secondTenantId);
      } finally {
        await app.close();
      }
    },
  );
});

test('organizations with a single-tenant registration: a page saying what to change', async () => {
  const fake = await FakeEntra.start();
  const app = await startTestApp({ fake }, { TENANT_ID: 'organizations' });
  try {
    const answer = await signIn(new Agent(app.base), fake, alice.upn);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('AADSTS50194');
    expect(answer.text).toContain('make the registration multi-tenant, or set TENANT_ID');
  } finally {
    await app.close();
    await fake.close();
  }
});

test('national cloud hosts are Microsoft authorities (no knownAuthorities)', () => {
  for (const host of ['login.partner.microsoftonline.cn', 'login.microsoftonline.us']) {
    const c = loadConfig({
      TENANT_ID: 'organizations',
      CLIENT_ID: DEFAULTS.webClientId,
      CLIENT_SECRET: 's',
      SESSION_KEYS: 'k'.repeat(32),
      API_SCOPES: 'api://x/data.read api://x/data.write',
      AUTHORITY: `https://${host}`,
    });
    expect(c.authority).toBe(`https://${host}/organizations`);
    expect(c.knownAuthorities).toEqual([]);
  }
});
