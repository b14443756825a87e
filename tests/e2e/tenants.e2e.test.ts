// Issue 11's browser suite, tenant shapes: the API's registration left at Entra's default token
// version (v1.0 tokens), and a multi-tenant web app and API signing in a user of a second tenant.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { DEFAULTS, type FakeEntraConfig } from '@koa-entra/fake-entra';
import { decodeJwt } from 'jose';
import { chromium, describeWith } from '../support/prerequisites.ts';
import { launchBrowser, signInThroughPage } from './support/browser.ts';
import { defaultFakeConfig, systemPerSuite } from './support/suite-system.ts';

type Config = FakeEntraConfig & {
  apis: Record<string, unknown>[];
  clients: Record<string, unknown>[];
};
const defaultConfig = (): Config => defaultFakeConfig<Config>();

let browser: Browser;
beforeAll(async () => {
  if (chromium.check() !== undefined) return;
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/** One system per describe block (tests/e2e/support/suite-system.ts). */
const systemWith = (
  config: () => Config,
  apiEnv: Record<string, string>,
  webEnv: Record<string, string> = {},
) => systemPerSuite(() => browser, config, { apiEnv, webEnv });

describeWith([chromium], 'an API registration left at v1.0 tokens', () => {
  const s = systemWith(
    () => {
      const config = defaultConfig();
      config.apis = config.apis.map((a) =>
        a.clientId === DEFAULTS.apiClientId ? { ...a, accessTokenAcceptedVersion: null } : a,
      );
      return config;
    },
    { ACCEPTED_TOKEN_VERSIONS: '1.0' },
  );

  test('alice reads and writes end to end with v1.0 access tokens', async () => {
    const { page, web, system } = s;
    await signInThroughPage(page, web.url, 'Alice Example', '/items');
    await expect(page.getByTestId('scopes').textContent()).resolves.toContain('data.read');
    const text = `v1 ${Date.now()}`;
    await page.goto(`${web.url}/items/new`);
    await page.getByLabel(/^Text/).fill(text);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(`${web.url}/items`);
    await expect(page.getByText(text, { exact: true }).count()).resolves.toBe(1);
    const apiTokens = system.fake
      .requests({ endpoint: 'token' })
      .map((r) => r.response.body?.access_token)
      .filter((t): t is string => typeof t === 'string')
      .map((t) => decodeJwt(t))
      .filter((c) => String(c.aud).includes(DEFAULTS.apiClientId));
    expect(apiTokens.length).toBeGreaterThan(0);
    for (const claims of apiTokens) {
      expect(claims.ver).toBe('1.0');
      expect(claims.iss).toBe(`https://sts.windows.net/${DEFAULTS.tenantId}/`);
    }
  }, 60_000);
});

describeWith([chromium], 'multi-tenant: organizations authority', () => {
  const s = systemWith(
    () => {
      const config = defaultConfig();
      config.clients = config.clients.map((c) =>
        c.clientId === DEFAULTS.webClientId
          ? { ...c, signInAudience: 'AzureADMultipleOrgs' as const }
          : c,
      );
      return config;
    },
    { TENANT_ID: 'organizations', ALLOWED_TENANTS: '*' },
    { TENANT_ID: 'organizations' },
  );

  test('carol of the second tenant consents step by step and reads through the API', async () => {
    const { page, web } = s;
    await page.goto(web.url);
    await page.getByRole('link', { name: 'Sign in with Microsoft' }).click();
    await page.getByRole('button', { name: 'Sign in as Carol Example' }).click();
    // Carol has consented nothing: User.Read first (sign-in), data.read when she reads.
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL(`${web.url}/`);
    await expect(page.getByTestId('profile-email').textContent()).resolves.toContain(
      'carol@fabrikam.test',
    );
    await page.goto(`${web.url}/items`);
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL(`${web.url}/items`);
    await expect(page.getByTestId('scopes').textContent()).resolves.toContain('data.read');
  }, 60_000);
});
