// The web app end to end: real chromium, the fake issuer's sign-in page, the real API, the web
// app as its own process.
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { DEFAULTS } from '@koa-entra/fake-entra';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium, describeWith, redis, redisUrl } from '../support/prerequisites.ts';
import { launchBrowser, signInThroughPage } from './support/browser.ts';
import {
  startSystem,
  startWebAppProcess,
  type System,
  type WebAppProcess,
} from './support/system.ts';

let browser: Browser;
let system: System;

beforeAll(async () => {
  if (chromium.check() !== undefined) return;
  browser = await launchBrowser();
  system = await startSystem();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await system?.close();
});

/** Types `text` into the new-item form and saves it. */
async function write(page: Page, web: string, text: string): Promise<void> {
  await page.goto(`${web}/items/new`);
  await page.getByLabel('Text', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Save' }).click();
}

/** The scopes the authorize requests since `after` asked for, one list per request. */
function authorizeScopes(after: number): string[][] {
  return system.fake
    .requests({ endpoint: 'authorize' })
    .filter((r) => r.seq > after && r.method === 'GET' && r.query.scope)
    .map((r) => (r.query.scope ?? '').split(' ').sort());
}

const lastSeq = () => system.fake.requests().at(-1)?.seq ?? 0;

describeWith([chromium], 'web app in a browser', () => {
  let web: WebAppProcess;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    web = await startWebAppProcess(system.webEnv);
  }, 60_000);

  afterAll(async () => {
    const code = await web?.stop();
    expect(code).toBe(0); // graceful SIGTERM
    // Nothing secret reached the logs.
    expect(web.output()).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
    expect(web.output()).not.toContain('dev-web-secret-not-for-production');
  }, 15_000);

  beforeEach(async () => {
    system.fake.setLifetimes({ accessToken: 3600 });
    context = await browser.newContext();
    context.setDefaultTimeout(20_000);
    page = await context.newPage();
  });

  afterEach(async () => {
    await context.close();
  });

  test('signs in through the issuer page and shows the name from Graph', async () => {
    await page.goto(web.url);
    await expect(
      page.getByRole('link', { name: 'Sign in with Microsoft' }).isVisible(),
    ).resolves.toBe(true);
    await signInThroughPage(page, web.url, 'Alice Example');
    await expect(page.getByTestId('profile-name').textContent()).resolves.toBe('Alice Example');
    await expect(page.getByTestId('profile-email').textContent()).resolves.toContain(
      'alice@contoso.test',
    );
    const cookies = await context.cookies(web.url);
    const session = cookies.find((c) => c.name === 'webapp.sid');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
  }, 60_000);

  test('usable on a phone and readable without the stylesheet', async () => {
    const phone = await browser.newContext({
      viewport: { width: 360, height: 640 },
      isMobile: true,
      hasTouch: true,
    });
    phone.setDefaultTimeout(20_000);
    try {
      const small = await phone.newPage();
      await signInThroughPage(small, web.url, 'Alice Example');
      const fits = await small.evaluate(
        () => document.documentElement.scrollWidth <= window.innerWidth,
      );
      expect(fits).toBe(true);
      const signOut = await small.getByRole('button', { name: 'Sign out' }).boundingBox();
      expect(signOut!.height).toBeGreaterThanOrEqual(44); // a finger-sized target
      // Without the stylesheet the page still names the user and offers the actions.
      await small.route('**/static/app.css', (route) => route.abort());
      await small.reload();
      await expect(small.getByTestId('profile-name').textContent()).resolves.toBe('Alice Example');
      await expect(small.getByRole('link', { name: 'Items' }).first().isVisible()).resolves.toBe(
        true,
      );
    } finally {
      await phone.close();
    }
  }, 60_000);

  test('reads, writes and reads back; each asks only its own scope', async () => {
    const before = lastSeq();
    await signInThroughPage(page, web.url, 'Alice Example', '/items');
    expect(new URL(page.url()).pathname).toBe('/items');
    // Incremental consent: sign-in asked for Graph's User.Read (and OpenID's scopes) only; the
    // read token was asked for data.read only, silently.
    expect(authorizeScopes(before)).toEqual([['User.Read', 'offline_access', 'openid', 'profile']]);
    const scopes = await page.getByTestId('scopes').textContent();
    expect(scopes).toContain('data.read');
    expect(scopes).not.toContain('data.write');
    const text = `note ${Date.now()} <b>not bold</b>`;
    await write(page, web.url, text);
    await page.waitForURL(`${web.url}/items`);
    await expect(page.getByText(text, { exact: true }).isVisible()).resolves.toBe(true);
    expect(await page.locator('b', { hasText: 'not bold' }).count()).toBe(0);
  }, 60_000);

  // Before the next test: Accept records bob's consent for the life of the issuer.
  test('bob declines consent for data.write: a clear page; still signed in, nothing written', async () => {
    await signInThroughPage(page, web.url, 'Bob Example', '/items');
    // A reader is told that writing needs his consent; "Allow writing" asks for it now.
    await page.getByTestId('consent-needed').waitFor();
    await page.getByRole('link', { name: 'Allow writing' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL((u) => u.toString().startsWith(web.url));
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Permission not granted',
    );
    const detail = await page.getByTestId('error-detail').textContent();
    expect(detail).toContain('data.write');
    const read = await page.goto(`${web.url}/items`);
    expect(read?.status()).toBe(200);
  }, 60_000);

  test('bob (data.read only) allows writing: consent for data.write at the issuer, Accept, then he saves once', async () => {
    await signInThroughPage(page, web.url, 'Bob Example', '/items');
    await expect(page.getByTestId('scopes').textContent()).resolves.not.toContain('data.write');
    const before = lastSeq();
    await page.getByRole('link', { name: 'Allow writing' }).click();
    // The issuer's consent page, for exactly the missing permission.
    await page.getByRole('button', { name: 'Accept' }).waitFor();
    expect(authorizeScopes(before)).toEqual([
      [`${DEFAULTS.apiIdentifier}/data.write`, 'offline_access', 'openid', 'profile'],
    ]);
    expect(await page.content()).toContain('data.write');
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL(`${web.url}/items`);
    const text = `bob writes ${Date.now()}`;
    await write(page, web.url, text);
    await page.waitForURL(`${web.url}/items`);
    await expect(page.getByText(text, { exact: true }).count()).resolves.toBe(1);
    await page.reload();
    await expect(page.getByText(text, { exact: true }).count()).resolves.toBe(1);
  }, 60_000);

  test('tokens with a lifetime of seconds are refreshed silently', async () => {
    system.fake.setLifetimes({ accessToken: 2 });
    await signInThroughPage(page, web.url, 'Alice Example', '/items');
    await new Promise((r) => setTimeout(r, 3000)); // the API token has now expired
    const before = system.fake.requestCounts();
    const answer = await page.goto(`${web.url}/items`);
    expect(answer?.status()).toBe(200);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Your items');
    expect(system.fake.requestCounts().token).toBeGreaterThan(before.token); // a refresh...
    expect(system.fake.requestCounts().authorize).toBe(before.authorize); // ...not a new sign-in
    expect(new URL(page.url()).pathname).toBe('/items');
  }, 60_000);

  test('an expired refresh token sends the user through sign-in and back to the page asked for', async () => {
    system.fake.setLifetimes({ accessToken: 1, refreshToken: 1 });
    try {
      await signInThroughPage(page, web.url, 'Alice Example');
      await new Promise((r) => setTimeout(r, 2500)); // access and refresh token have expired
      const authorizeBefore = system.fake.requestCounts().authorize;
      system.fake.setLifetimes({ accessToken: 3600, refreshToken: 86400 });
      await page.goto(`${web.url}/items?from=test`);
      if (!page.url().startsWith(web.url)) {
        // The issuer's page (unless it still remembers the browser and answers at once).
        await page.getByRole('button', { name: 'Sign in as Alice Example' }).click();
      }
      await page.waitForURL(`${web.url}/items?from=test`);
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
        'Your items',
      );
      expect(system.fake.requestCounts().authorize).toBeGreaterThan(authorizeBefore); // really signed in again
    } finally {
      system.fake.setLifetimes({ accessToken: 3600, refreshToken: 86400 });
    }
  }, 60_000);

  test('sign-out ends the session: going back shows no data', async () => {
    await signInThroughPage(page, web.url, 'Alice Example', '/items');
    const secret = `private ${Date.now()}`;
    await write(page, web.url, secret);
    await page.waitForURL(`${web.url}/items`);
    await expect(page.getByText(secret).isVisible()).resolves.toBe(true);
    const before = lastSeq();
    await page.getByRole('button', { name: 'Sign out' }).click();
    // Back on the app's registered `/` (no account picker: logout_hint named the account).
    await page.waitForURL(`${web.url}/`);
    const logouts = system.fake
      .requests({ endpoint: 'logout' })
      .filter((r) => r.seq > before && r.method === 'GET');
    expect(logouts[0]?.query).toMatchObject({
      post_logout_redirect_uri: `${web.url}/`,
    });
    // logout_hint is the ID token's login_hint claim (opaque; never the UPN).
    const hints = system.fake
      .requests({ endpoint: 'token' })
      .map((r) => r.response.body?.id_token)
      .filter((t): t is string => typeof t === 'string')
      .map((t) => decodeJwt(t).login_hint);
    expect(hints).toContain(logouts[0]?.query.logout_hint);
    expect(logouts[0]?.query.logout_hint).not.toContain('alice@');
    await expect(
      page.getByRole('link', { name: 'Sign in with Microsoft' }).isVisible(),
    ).resolves.toBe(true);
    await page.goBack();
    await page.goBack().catch(() => undefined);
    expect(await page.content()).not.toContain(secret);
    await page.goto(`${web.url}/items`);
    expect(await page.content()).not.toContain(secret);
    expect(page.url()).not.toBe(`${web.url}/items`);
  }, 60_000);

  test('a forged cross-site POST is refused with 403 and writes nothing', async () => {
    await signInThroughPage(page, web.url, 'Alice Example');
    const forger: Server = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<!doctype html><form method="post" action="${web.url}/items">
        <input name="text" value="forged by another site"><input name="_csrf" value="guess">
        <button type="submit">Win a prize</button></form>`);
    });
    forger.listen(0);
    await once(forger, 'listening');
    const port = (forger.address() as { port: number }).port;
    try {
      // Same site (another port of localhost: the browser sends the cookie) and cross site.
      for (const origin of [`http://localhost:${port}`, `http://127.0.0.1:${port}`]) {
        await page.goto(origin);
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.url() === `${web.url}/items`),
          page.getByRole('button', { name: 'Win a prize' }).click(),
        ]);
        expect(response.status()).toBe(403);
      }
    } finally {
      forger.closeAllConnections();
      await new Promise((r) => forger.close(r));
    }
    await page.goto(`${web.url}/items`);
    expect(await page.content()).not.toContain('forged by another site');
  }, 60_000);

  test('count, do not time: with a warm cache, 100 read pages call the token endpoint 0 times', async () => {
    await signInThroughPage(page, web.url, 'Alice Example', '/items'); // warms the API token
    system.fake.resetRequestCounts();
    for (let i = 0; i < 100; i++) {
      const answer = await page.goto(`${web.url}/items`);
      expect(answer?.status()).toBe(200);
    }
    expect(system.fake.requestCounts().token).toBe(0);
    expect(system.fake.requestCounts().discovery).toBe(0);
  }, 120_000);
});

describeWith([chromium, redis], 'two web app instances sharing Redis', () => {
  let first: WebAppProcess;
  let second: WebAppProcess;

  beforeAll(async () => {
    const env = { ...system.webEnv, REDIS_URL: redisUrl! };
    [first, second] = await Promise.all([startWebAppProcess(env), startWebAppProcess(env)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
  });

  test('a user signed in through one instance is signed in on the other', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(20_000);
    try {
      const page = await context.newPage();
      await signInThroughPage(page, first.url, 'Alice Example');
      // Cookies are per host, not per port: the same session cookie reaches the second instance,
      // which finds the session and the token cache in Redis.
      system.fake.resetRequestCounts();
      await page.goto(second.url);
      await expect(page.getByTestId('profile-name').textContent()).resolves.toBe('Alice Example');
      const read = await page.goto(`${second.url}/items`);
      expect(read?.status()).toBe(200);
      expect(system.fake.requestCounts().authorize).toBe(0);
    } finally {
      await context.close();
    }
  }, 60_000);
});
