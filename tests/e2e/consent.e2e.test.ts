// Issue 11 in a browser, against the faithful fake configured as a tenant can be: a permission
// only an administrator may grant, a Conditional Access policy that needs a second factor for the
// API, and front-channel logout from the issuer's sign-out page.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { DEFAULTS, type FakeEntraConfig } from '@koa-entra/fake-entra';
import { chromium, describeWith } from '../support/prerequisites.ts';
import { launchBrowser, signInThroughPage } from './support/browser.ts';
import { defaultFakeConfig, systemPerSuite } from './support/suite-system.ts';

type Config = FakeEntraConfig & {
  apis: Record<string, unknown>[];
  conditionalAccessPolicies?: unknown[];
};
const defaultConfig = (): Config => defaultFakeConfig<Config>();

/** The default configuration with our API's entry edited. */
function withOurApi(edit: Record<string, unknown>): Config {
  const config = defaultConfig();
  config.apis = config.apis.map((a) =>
    a.clientId === DEFAULTS.apiClientId ? { ...a, ...edit } : a,
  );
  return config;
}

let browser: Browser;

beforeAll(async () => {
  if (chromium.check() !== undefined) return;
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

async function write(page: Page, web: string, text: string): Promise<void> {
  await page.goto(`${web}/items/new`);
  await page.getByLabel(/^Text/).fill(text);
  await page.getByRole('button', { name: 'Save' }).click();
}

/** One system per describe block (tests/e2e/support/suite-system.ts). */
const systemWith = (config: (webPort: number) => Config, apiEnv: Record<string, string> = {}) =>
  systemPerSuite(() => browser, config, { apiEnv });

describeWith([chromium], 'a permission only an administrator may grant', () => {
  const s = systemWith(() => withOurApi({ adminOnlyScopes: ['data.write'] }));

  test('bob writes: "Need admin approval" at the issuer, then a page naming who can grant it, with his text', async () => {
    const { page, web } = s;
    await signInThroughPage(page, web.url, 'Bob Example', '/items');
    const text = `needs an admin ${Date.now()}`;
    await write(page, web.url, text);
    await page.getByRole('heading', { name: 'Need admin approval' }).waitFor();
    await page
      .getByRole('button', { name: 'Return to the application without granting consent' })
      .click();
    await page.waitForURL((u) => u.toString().startsWith(web.url));
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Permission not granted',
    );
    const body = (await page.locator('main').textContent()) ?? '';
    expect(body).toContain('data.write');
    expect(body).toContain(text);
    expect(body).toContain('Need admin approval');
    expect(body).toContain('Cloud Application Administrator');
    // Still signed in, reading works, nothing was written.
    expect((await page.goto(`${web.url}/items`))?.status()).toBe(200);
    expect(await page.content()).not.toContain(text);
  }, 60_000);
});

describeWith([chromium], 'Conditional Access: a second factor for the API', () => {
  const s = systemWith(() => {
    const config = defaultConfig();
    config.conditionalAccessPolicies = [
      {
        id: '5d0c1b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d',
        name: 'MFA for the API',
        apis: [DEFAULTS.apiIdentifier],
        grantControls: ['mfa'],
      },
    ];
    return config;
  });

  test('reading the API: the claims challenge goes to the issuer, "Approve sign-in", back with the data', async () => {
    const { page, web, system } = s;
    await signInThroughPage(page, web.url, 'Alice Example'); // Graph only: no second factor yet
    const before = system.fake.requests().at(-1)?.seq ?? 0;
    await page.goto(`${web.url}/items`);
    await page.getByRole('button', { name: 'Approve sign-in' }).click();
    await page.waitForURL(`${web.url}/items`);
    await expect(page.getByTestId('scopes').textContent()).resolves.toContain('data.read');
    // The silent request met AADSTS50076 (basic_action); the interactive one carried its claims.
    const refused = system.fake
      .requests({ endpoint: 'token' })
      .filter((r) => r.seq > before && r.response.status === 400);
    expect(String(refused[0]?.response.body?.error_description)).toContain('AADSTS50076');
    const authorize = system.fake
      .requests({ endpoint: 'authorize' })
      .filter((r) => r.seq > before && r.method === 'GET' && r.query.scope);
    expect(authorize[0]?.query.scope).toContain(`${DEFAULTS.apiIdentifier}/data.read`);
    expect(authorize[0]?.query.claims).toBeTruthy();
    const claims = JSON.parse(authorize[0]!.query.claims!) as Record<string, unknown>;
    expect(claims).toMatchObject({ access_token: { xms_cc: { values: ['CP1'] } } });
    // ...with the policy Entra named (capolids), as the silent request's answer gave it.
    expect(claims).toMatchObject({
      access_token: { capolids: { values: ['5d0c1b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d'] } },
    });
  }, 60_000);

  test('a write that needs the second factor is kept, and saved once after "Approve sign-in"', async () => {
    const { page, web } = s;
    await signInThroughPage(page, web.url, 'Alice Example');
    const text = `stepped up ${Date.now()}`;
    await write(page, web.url, text);
    await page.getByRole('button', { name: 'Approve sign-in' }).click();
    await page.waitForURL(`${web.url}/items`);
    await expect(page.getByText(text, { exact: true }).count()).resolves.toBe(1);
  }, 60_000);
});

describeWith([chromium], 'the API requires authentication context c1 for writes', () => {
  const s = systemWith(
    () => {
      const config = defaultConfig();
      config.conditionalAccessPolicies = [
        {
          id: '6e1d2c3b-4f5a-4b6c-9d7e-8f9a0b1c2d3e',
          name: 'Step-up for writes',
          authenticationContexts: ['c1'],
          grantControls: ['mfa'],
        },
      ];
      return config;
    },
    { WRITE_AUTH_CONTEXT: 'c1' },
  );

  test('a write: the API says insufficient_claims, "Approve sign-in" at the issuer, the text is saved once', async () => {
    const { page, web, system } = s;
    await signInThroughPage(page, web.url, 'Alice Example', '/items'); // reading needs no c1
    const before = system.fake.requests().at(-1)?.seq ?? 0;
    const text = `c1 write ${Date.now()}`;
    await write(page, web.url, text);
    await page.getByRole('button', { name: 'Approve sign-in' }).click();
    await page.waitForURL(`${web.url}/items`);
    await expect(page.getByText(text, { exact: true }).count()).resolves.toBe(1);
    const authorize = system.fake
      .requests({ endpoint: 'authorize' })
      .filter((r) => r.seq > before && r.method === 'GET' && r.query.scope);
    expect(authorize).toHaveLength(1);
    expect(JSON.parse(authorize[0]!.query.claims!)).toMatchObject({
      access_token: { acrs: { value: 'c1' }, xms_cc: { values: ['CP1'] } },
    });
  }, 60_000);
});

describe('front-channel logout', () => {
  describeWith([chromium], 'from the issuer’s sign-out page', () => {
    // The web app's front-channel logout URL as registered: on the port it runs on.
    const s = systemWith((port) => {
      const config = defaultConfig() as Config & { clients: Record<string, unknown>[] };
      config.clients = config.clients.map((c) =>
        c.clientId === DEFAULTS.webClientId
          ? { ...c, frontChannelLogoutUrl: `http://localhost:${port}/auth/front-channel-logout` }
          : c,
      );
      return config;
    });

    test('signing out in one browser ends the app session of another browser of the same issuer session', async () => {
      const { page, web, context, system } = s;
      await signInThroughPage(page, web.url, 'Alice Example', '/items');
      // A second browser with the same issuer session (its cookie) but an app session of its own:
      // it signs in without a page (SSO), so both app sessions belong to one issuer `sid`.
      const other = await browser.newContext();
      other.setDefaultTimeout(20_000);
      try {
        // (Cookies are per host, not per port: take the issuer's only, not the app's.)
        const issuerCookies = (await context.cookies(system.fake.publicUrl)).filter(
          (c) => !c.name.startsWith('webapp.'),
        );
        expect(issuerCookies.length).toBeGreaterThan(0);
        await other.addCookies(issuerCookies);
        const second = await other.newPage();
        await second.goto(`${web.url}/items`);
        await second.waitForURL(`${web.url}/items`);
        expect(await second.getByTestId('scopes').textContent()).toContain('data.read');
        // Sign-out in the first: the issuer's sign-out page frames the app's front-channel
        // logout URL with ?sid= (the frame carries the first browser's cookies only).
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.waitForURL(`${web.url}/`);
        // The second browser's app session is gone: /write (a page that needs a session but no
        // token; sign-out also dropped the user's token cache) sends it to sign in.
        await second.goto(`${web.url}/items/new`);
        expect(second.url().startsWith(`${web.url}/items/new`)).toBe(false);
        expect(await second.getByRole('button', { name: 'Save' }).count()).toBe(0);
      } finally {
        await other.close();
      }
    }, 60_000);

    test('the endpoint may be framed by the issuer only; an unknown sid ends nothing', async () => {
      const { page, web, system } = s;
      await signInThroughPage(page, web.url, 'Alice Example', '/items');
      const answer = await fetch(`${web.url}/auth/front-channel-logout?sid=unknown-sid`);
      expect(answer.status).toBe(200);
      const csp = answer.headers.get('content-security-policy') ?? '';
      expect(csp).toContain(`frame-ancestors ${new URL(system.fake.publicUrl).origin}`);
      expect(answer.headers.get('x-frame-options')).toBeNull();
      // Every other page refuses to be framed.
      const home = await fetch(web.url);
      expect(home.headers.get('x-frame-options')).toBe('DENY');
      expect(home.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      // An unknown sid ended nothing.
      expect((await page.goto(`${web.url}/items`))?.status()).toBe(200);
    }, 60_000);
  });
});
