// Accessibility of every page of the web app and of the fake issuer's sign-in and consent pages:
// axe-core in real chromium finds no WCAG 2.1 A/AA violation, at desktop and phone sizes, in the
// light and the dark colour scheme; on a phone nothing scrolls sideways and the header is one
// row. With SCREENSHOTS=1 the same run writes the README's screenshots to docs/screenshots/
// (`npm run screenshots`).
//
// The web app runs as its own process against the in-process fake issuer and, for its items,
// the items API double of the web app's tests (services/client/test/support/items-api.ts: the
// contract's shapes, tokens verified against the fake), so that the pages hold known content.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '@koa-entra/fake-entra';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { ItemsApi } from '../../services/client/test/support/items-api.ts';
import { chromium, describeWith } from '../support/prerequisites.ts';
import { launchBrowser, signInThroughPage } from './support/browser.ts';
import {
  startSystem,
  startWebAppProcess,
  type System,
  type WebAppProcess,
} from './support/system.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCREENSHOTS = process.env.SCREENSHOTS === '1' ? join(REPO, 'docs', 'screenshots') : '';
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const { alice, bob } = DEFAULTS.users;

const SIZES: Record<'desktop' | 'phone', BrowserContextOptions> = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};

let browser: Browser;
let system: System;
let items: ItemsApi;
let web: WebAppProcess;

beforeAll(async () => {
  if (chromium.check() !== undefined) return;
  browser = await launchBrowser();
  system = await startSystem();
  items = await ItemsApi.start(system.fake);
  web = await startWebAppProcess({
    ...system.webEnv,
    API_BASE_URL: items.url,
    API_DOCS_URL: `${system.api.url}/docs`,
  });
}, 60_000);

afterAll(async () => {
  await web?.stop();
  await items?.close();
  await browser?.close();
  await system?.close();
});

/** axe-core's WCAG 2.1 A/AA violations of the page, as `rule: target` lines. */
async function violations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the app's CSP (scripts by hash only) still holds.
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(
    (tags) =>
      (
        globalThis as unknown as {
          axe: {
            run(o: unknown): Promise<{
              violations: { id: string; nodes: { target: string[] }[] }[];
            }>;
          };
        }
      ).axe.run({ runOnly: { type: 'tag', values: tags } }),
    WCAG_21_AA,
  );
  return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

/** The page passes axe in both colour schemes; on a phone it fits the screen's width. */
async function check(page: Page, what: string, size: keyof typeof SIZES): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    expect([what, size, colorScheme, await violations(page)]).toEqual([
      what,
      size,
      colorScheme,
      [],
    ]);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  if (size === 'phone') {
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect([what, overflow]).toEqual([what, 0]);
  }
}

async function screenshot(page: Page, name: string, size: keyof typeof SIZES): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-${size}.png`), fullPage: false });
}

/** The web app's page at `path`, loaded (the local-time script has run). */
async function open(page: Page, path: string, status = 200): Promise<void> {
  const answer = await page.goto(`${web.url}${path}`);
  expect([path, answer?.status()]).toEqual([path, status]);
}

describeWith([chromium], 'accessibility of the pages (axe-core, WCAG 2.1 AA)', () => {
  for (const size of ['desktop', 'phone'] as const) {
    test(`${size}: the web app signed out and signed in, and the fake's sign-in page`, async () => {
      items.reset();
      for (const text of [
        'Book the room for the quarterly review',
        'Ask Sam about the API docs link\nand the second factor',
        'Renew the test certificate before Friday',
      ])
        items.seed(alice.upn, text);
      const context = await browser.newContext(SIZES[size]);
      context.setDefaultTimeout(20_000);
      const page = await context.newPage();
      try {
        await open(page, '/');
        await check(page, 'home, signed out', size);

        await page.getByRole('link', { name: 'Sign in with Microsoft' }).click();
        const signInButton = page.getByRole('button', { name: `Sign in as ${alice.name}` });
        await signInButton.waitFor();
        await check(page, "the fake's sign-in page", size);
        await screenshot(page, 'sign-in', size);
        await signInButton.click();
        await page.waitForURL((u) => u.toString().startsWith(web.url) && u.pathname === '/');

        await check(page, 'home, signed in', size);
        if (size === 'phone') {
          // One row: the brand, the three sections and Sign out side by side.
          const header = await page.locator('header').boundingBox();
          expect(header!.height).toBeLessThanOrEqual(60);
        }
        await screenshot(page, 'home', size);

        await open(page, '/items');
        await expect(
          page.getByRole('link', { name: 'Items' }).getAttribute('aria-current'),
        ).resolves.toBe('page');
        await check(page, 'items', size);
        await screenshot(page, 'items', size);

        await open(page, '/items/new');
        await check(page, 'new item', size);
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByText('Type some text to save.').waitFor();
        await check(page, 'new item with an inline error', size);
        await page.getByLabel('Text', { exact: true }).fill('Water the plants');
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByText('Saved', { exact: true }).waitFor();
        await check(page, 'items with "Saved"', size);

        const item = items.items.at(-1)!;
        await open(page, `/items/${item.id}`);
        await check(page, 'one item', size);
        await open(page, `/items/${item.id}/edit`);
        await check(page, 'edit item', size);
        await open(page, `/items/${item.id}/delete`);
        await check(page, 'delete item', size);

        await open(page, '/me');
        await check(page, 'Me', size);

        await open(page, '/nowhere', 404);
        await check(page, 'error page, signed in', size);
      } finally {
        await context.close();
      }
    }, 120_000);
  }

  test('a reader without the write permission: items, the new-item page and Me ask for it', async () => {
    // Bob consented data.read only: his pages show "Allow writing" (a process of its own, so
    // that its token cache is his alone).
    const reader = await startWebAppProcess({ ...system.webEnv, API_BASE_URL: items.url });
    const context = await browser.newContext(SIZES.phone);
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    try {
      items.reset();
      const mine = items.seed(bob.upn, 'Read the onboarding notes');
      await signInThroughPage(page, reader.url, bob.name, '/items');
      await page.getByRole('link', { name: 'Allow writing' }).waitFor();
      await check(page, 'items, read only', 'phone');
      for (const [path, what] of [
        ['/items/new', 'new item, read only'],
        [`/items/${mine.id}`, 'one item, read only'],
        ['/me', 'Me, write permission missing'],
      ] as const) {
        await page.goto(`${reader.url}${path}`);
        await page.getByRole('link', { name: 'Allow writing' }).waitFor();
        await check(page, what, 'phone');
      }
    } finally {
      await context.close();
      await reader.stop();
    }
  }, 60_000);

  test("the fake's consent page, and the web app's page after Cancel", async () => {
    const context = await browser.newContext(SIZES.phone);
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    try {
      // What the web app asks when Bob (who consented data.read only) writes: data.write.
      const authorize = new URL(
        `${system.fake.publicUrl}/${DEFAULTS.tenantId}/oauth2/v2.0/authorize`,
      );
      authorize.search = new URLSearchParams({
        client_id: DEFAULTS.webClientId,
        response_type: 'code',
        redirect_uri: `${web.url}/auth/redirect`,
        scope: `openid profile offline_access ${DEFAULTS.apiIdentifier}/data.write`,
        state: 'accessibility-suite',
        login_hint: bob.upn,
      }).toString();
      await page.goto(authorize.toString());
      await page.getByRole('button', { name: `Sign in as ${bob.name}` }).click();
      const accept = page.getByRole('button', { name: 'Accept' });
      await accept.waitFor();
      await check(page, "the fake's consent page", 'phone');
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.waitForURL((u) => u.toString().startsWith(web.url));
      await check(page, 'error page, signed out', 'phone');
    } finally {
      await context.close();
    }
  }, 60_000);
});
