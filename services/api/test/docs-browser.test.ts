// /docs in a real browser (Debian's chromium): Swagger UI renders our document under the
// page's Content-Security-Policy, and its "Authorize" signs a real user in at the fake issuer
// (authorization code + PKCE as the public single-page client of the default config, at the
// browser-facing authority), after which "Try it out" calls the API with that token.
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { chromium as playwright, type Browser, type Page } from 'playwright-core';
import { chromium, chromiumPath, describeWith } from '../../../tests/support/prerequisites.ts';
import { API_ID, DEFAULTS, FakeEntra, startTestApi, type TestApi } from './support/api.ts';

jest.setTimeout(90_000);

describeWith([chromium], '/docs in a browser', () => {
  let fake: FakeEntra;
  let api: TestApi;
  let browser: Browser;
  let docsUrl: string;
  beforeAll(async () => {
    fake = await FakeEntra.start();
    api = await startTestApi(fake, {
      // Both loopback families: the registered redirect URI is http://localhost (any port).
      HOST: '::',
      DOCS_AUTHORITY: fake.publicUrl,
      DOCS_CLIENT_ID: DEFAULTS.docsClientId,
    });
    docsUrl = `http://localhost:${api.port}/docs`;
    browser = await playwright.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await fake?.close();
  });

  /** Console errors and page errors, and every origin the page loaded something from. */
  function watch(page: Page) {
    const problems: string[] = [];
    const origins = new Set<string>();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => origins.add(new URL(r.url()).origin));
    return { problems, origins };
  }

  test('Swagger UI shows the operations and the OAuth2 scopes, with no CSP violation', async () => {
    const page = await browser.newPage();
    const { problems, origins } = watch(page);
    await page.goto(docsUrl);
    await page.getByText('koa-entra API').first().waitFor();
    for (const path of ['/data/read', '/data/write', '/data/items', '/data/items/{id}'])
      await page.getByText(path, { exact: true }).first().waitFor();
    await page
      .getByRole('button', { name: /Authorize/ })
      .first()
      .click();
    await page.getByText(`api://${API_ID}/data.read`).first().waitFor();
    await page.getByText(`api://${API_ID}/data.write`).first().waitFor();
    expect(problems).toEqual([]);
    expect([...origins]).toEqual([new URL(docsUrl).origin]);
    await page.close();
  });

  test('Authorize signs alice in with PKCE (no secret asked) and Try it out calls the API with her token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const { problems } = watch(page);
    await page.goto(docsUrl);
    await page
      .getByRole('button', { name: /Authorize/ })
      .first()
      .click();
    const dialog = page.locator('.auth-container').first();
    await expect(dialog.locator('input#client_id_authorizationCode').inputValue()).resolves.toBe(
      DEFAULTS.docsClientId,
    );
    // A public client: the secret field is not offered.
    await expect(dialog.locator('#client_secret_authorizationCode').isVisible()).resolves.toBe(
      false,
    );
    await expect(
      dialog.getByText('authorizationCode with PKCE', { exact: true }).isVisible(),
    ).resolves.toBe(true);
    const [signIn] = await Promise.all([
      context.waitForEvent('page'),
      dialog.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click(),
    ]);
    // The browser-facing authority (DOCS_AUTHORITY), not the one the API itself uses.
    expect(signIn.url()).toContain(`${fake.publicUrl}/${DEFAULTS.tenantId}/oauth2/v2.0/authorize?`);
    // Waiting for 'close' starts before the click: the redirect page may close the popup before
    // the click's navigation wait returns, and a 'close' that already happened never comes again.
    await Promise.all([
      signIn.waitForEvent('close', { timeout: 60_000 }),
      signIn.getByRole('button', { name: `Sign in as ${DEFAULTS.users.alice.name}` }).click(),
    ]);
    await dialog.getByRole('button', { name: 'Remove authorization' }).waitFor();
    await page.getByRole('button', { name: 'Close' }).first().click();

    // The token Swagger UI holds is alice's, from the docs client, for this API.
    const token = await page.evaluate(() => {
      const ui = (
        globalThis as unknown as { ui: { authSelectors: { authorized(): { toJS(): unknown } } } }
      ).ui;
      const auth = ui.authSelectors.authorized().toJS() as Record<
        string,
        { token: { access_token: string } }
      >;
      return Object.values(auth)[0]?.token.access_token ?? '';
    });
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    expect(claims).toMatchObject({
      aud: API_ID,
      azp: DEFAULTS.docsClientId,
      oid: DEFAULTS.users.alice.oid,
    });
    expect(String(claims.scp).split(' ').sort()).toEqual(['data.read', 'data.write']);

    // Try it out: POST /data/items, then GET /data/items lists it.
    const post = page.locator('#operations-default-post_data_items');
    await post.locator('.opblock-summary').click();
    await post.getByRole('button', { name: 'Try it out' }).click();
    await post.locator('textarea.body-param__text').fill('{"text": "from the docs"}');
    await post.getByRole('button', { name: 'Execute' }).click();
    await post.locator('.live-responses-table tr.response .response-col_status').first().waitFor();
    await expect(
      post.locator('.live-responses-table tr.response .response-col_status').first().innerText(),
    ).resolves.toContain('201');
    const list = page.locator('#operations-default-get_data_items');
    await list.locator('.opblock-summary').click();
    await list.getByRole('button', { name: 'Try it out' }).click();
    await list.getByRole('button', { name: 'Execute' }).click();
    const body = list.locator('.live-responses-table .response-col_description pre').first();
    await body.waitFor();
    await expect(body.innerText()).resolves.toContain('from the docs');
    expect(problems).toEqual([]);
    await context.close();
  });
});
