// The fake's pages in a real browser (Debian's chromium via playwright-core): axe-core finds no
// WCAG 2.1 A/AA violation on the sign-in, consent, admin approval, account picker, signed-out
// and error pages, in light and dark mode, at 360 px without horizontal scrolling, with the
// strict CSP in force (no violation reported). And front-channel logout really runs: the
// sign-out page frames the app's front-channel URL with ?sid=, then returns to the app.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEFAULTS, FakeEntra, loadConfig, type FakeEntraConfig } from '../src/index.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = (() => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
})();
// Under CI a missing browser fails the run instead of skipping (as tests/support does).
const required = process.env.CI === 'true' || process.env.REQUIRE_ALL_SUITES === '1';
const suite = haveChromium || required ? describe : describe.skip;
if (!haveChromium && !required)
  console.warn(`skipping the fake's page tests: ${CHROMIUM} not found (apt-get install chromium)`);

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);
const T = DEFAULTS.tenantId;

let browser: Browser;
let fake: FakeEntra;
let app: Server;
let appUrl: string;
const frontChannelCalls: string[] = [];

beforeAll(async () => {
  if (!haveChromium) throw new Error(`${CHROMIUM} not found (CI requires the browser)`);
  // A stand-in for the web app: its redirect URI, home page and front-channel logout URL.
  app = createServer((req, res) => {
    const url = new URL(req.url!, 'http://localhost');
    if (url.pathname === '/auth/front-channel-logout') frontChannelCalls.push(url.search);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html lang="en"><title>app</title><main><h1>app ${url.pathname}</h1></main></html>`,
    );
  });
  app.listen(0);
  await once(app, 'listening');
  appUrl = `http://localhost:${(app.address() as AddressInfo).port}`;
  const config = loadConfig() as FakeEntraConfig;
  config.clients = config.clients!.map((c) =>
    c.clientId === DEFAULTS.webClientId
      ? {
          ...c,
          redirectUris: [`${appUrl}/auth/redirect`, `${appUrl}/`],
          frontChannelLogoutUrl: `${appUrl}/auth/front-channel-logout`,
        }
      : c,
  );
  [browser, fake] = await Promise.all([
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    }),
    FakeEntra.start({ config }),
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await fake?.close();
  app?.close();
});

const authorizeUrl = (scope: string, extra: Record<string, string> = {}) =>
  `${fake.publicUrl}/${T}/oauth2/v2.0/authorize?${new URLSearchParams({
    client_id: DEFAULTS.webClientId,
    response_type: 'code',
    redirect_uri: `${appUrl}/auth/redirect`,
    scope,
    state: 'st',
    ...extra,
  })}`;

/** axe-core's WCAG 2.1 A/AA violations of the page, as `rule: target` lines. */
async function violations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() =>
    (
      globalThis as unknown as {
        axe: {
          run(o: unknown): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

/** Checks the page as a phone user sees it, in both colour schemes. */
async function checkPage(page: Page, what: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    expect([what, colorScheme, await violations(page)]).toEqual([what, colorScheme, []]);
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect([what, colorScheme, overflow]).toEqual([what, colorScheme, 0]);
  }
  expect(await page.getAttribute('html', 'lang')).toBe('en');
  await expect(page.locator('h1').count()).resolves.toBe(1);
}

async function newPage(): Promise<{ page: Page; cspErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  const cspErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  return { page, cspErrors };
}

suite('the fake issuer pages in a browser', () => {
  test('the check itself finds a violation where there is one (low contrast, no lang, no label)', async () => {
    const { page } = await newPage();
    await page.setContent(
      '<html><body><main><h1>x</h1><p style="color:#bbb;background:#fff">faint</p><input type="text"></main></body></html>',
    );
    const found = await violations(page);
    expect(found.map((v) => v.split(':')[0])).toEqual(
      expect.arrayContaining(['color-contrast', 'html-has-lang', 'label']),
    );
  });

  test('sign-in, consent (Accept), admin approval and error pages pass axe at AA, light and dark, at 360 px', async () => {
    const { page, cspErrors } = await newPage();
    await page.goto(authorizeUrl(`openid ${DEFAULTS.apiIdentifier}/data.write`));
    await checkPage(page, 'sign-in');
    await expect(
      page.getByRole('link', { name: 'Back to koa-entra web app' }).getAttribute('href'),
    ).resolves.toBe(`${appUrl}/`);
    await page.getByRole('button', { name: 'Sign in as Bob Example' }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Permissions requested',
    );
    await checkPage(page, 'consent');
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL((u) => u.pathname === '/auth/redirect');
    expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();

    await page.goto(authorizeUrl('User.Read.All', { prompt: 'login' }));
    await page.getByRole('button', { name: 'Sign in as Alice Example' }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Need admin approval',
    );
    await checkPage(page, 'admin approval');
    await page
      .getByRole('button', { name: 'Return to the application without granting consent' })
      .click();
    await page.waitForURL((u) => u.pathname === '/auth/redirect');
    expect(new URL(page.url()).searchParams.get('error')).toBe('access_denied');

    await page.goto(
      `${fake.publicUrl}/${T}/oauth2/v2.0/authorize?client_id=${DEFAULTS.webClientId}&redirect_uri=http://evil.example/`,
    );
    await checkPage(page, 'error');
    expect(cspErrors).toEqual([]);
  }, 60_000);

  test('sign-out: the account picker, then the signed-out page frames the front-channel URL with sid and returns to the app', async () => {
    const { page, cspErrors } = await newPage();
    await page.goto(authorizeUrl('openid profile'));
    await page.getByRole('button', { name: 'Sign in as Alice Example' }).click();
    await page.waitForURL((u) => u.pathname === '/auth/redirect');
    const sid = new URL(page.url()).searchParams.get('session_state');
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);

    frontChannelCalls.length = 0;
    await page.goto(
      `${fake.publicUrl}/${T}/oauth2/v2.0/logout?${new URLSearchParams({
        post_logout_redirect_uri: `${appUrl}/`,
        state: 'bye',
      })}`,
    );
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Pick an account',
    );
    await checkPage(page, 'account picker');
    await page.getByRole('button', { name: 'Sign out Alice Example' }).click();
    // The frames load, then the page sends the browser back to the app's home page.
    await page.waitForURL((u) => u.origin === appUrl && u.pathname === '/', { timeout: 10_000 });
    expect(new URL(page.url()).searchParams.get('state')).toBe('bye');
    expect(frontChannelCalls).toEqual([`?sid=${sid}`]);
    expect(cspErrors).toEqual([]);

    // Without a session: the signed-out page stays (checked for accessibility), with a way back.
    await page.goto(
      `${fake.publicUrl}/${T}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent(`${appUrl}/`)}&client_id=${DEFAULTS.webClientId}`,
    );
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'You signed out of your account',
    );
    await checkPage(page, 'signed out');
    await expect(
      page.getByRole('link', { name: 'Back to koa-entra web app' }).count(),
    ).resolves.toBe(1);
  }, 60_000);
});
