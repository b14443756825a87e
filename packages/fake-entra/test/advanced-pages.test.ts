// The second-factor page and the device-code pages in a real browser (Debian's chromium via
// playwright-core): a person signs in through them by their accessible names ("Approve
// sign-in", "Code", "Next", "Sign in as …"), and axe-core finds no WCAG 2.1 A/AA violation, in
// light and dark mode, at 360 px without horizontal scrolling.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import {
  APPROVE_BUTTON,
  DEFAULTS,
  FakeEntra,
  loadConfig,
  type FakeEntraConfig,
} from '../src/index.ts';
import { chromium, chromiumPath, describeWith } from '../../../tests/support/prerequisites.ts';
import { REDIRECT_URI } from './support/flows.ts';

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);
const MFA_POLICY = 'c0ffee00-2222-4333-8444-555566667777';

let browser: Browser;
let fake: FakeEntra;

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

async function checkPage(page: Page, what: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    expect([what, colorScheme, await violations(page)]).toEqual([what, colorScheme, []]);
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect([what, colorScheme, overflow]).toEqual([what, colorScheme, 0]);
  }
  await expect(page.locator('h1').count()).resolves.toBe(1);
}

describeWith([chromium], 'the second-factor and device-code pages in a browser', () => {
  beforeAll(async () => {
    const config = loadConfig() as FakeEntraConfig;
    config.conditionalAccessPolicies = [
      {
        id: MFA_POLICY,
        name: 'MFA for the API',
        users: [DEFAULTS.users.bob.upn],
        apis: [DEFAULTS.apiIdentifier],
        grantControls: ['mfa'],
      },
    ];
    const { chromium: browserType } = await import('playwright-core');
    [browser, fake] = await Promise.all([
      browserType.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] }),
      FakeEntra.start({ config }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fake?.close();
  });

  test('"Approve sign-in" after the sign-in page, then the code', async () => {
    const page = await (
      await browser.newContext({ viewport: { width: 360, height: 740 } })
    ).newPage();
    const url = new URL(`${fake.publicUrl}/${fake.tenantId}/oauth2/v2.0/authorize`);
    url.search = new URLSearchParams({
      client_id: DEFAULTS.webClientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: `openid ${DEFAULTS.apiIdentifier}/data.read`,
    }).toString();
    await page.goto(url.toString());
    await page.getByRole('button', { name: `Sign in as ${DEFAULTS.users.bob.name}` }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Approve sign in request',
    );
    await checkPage(page, 'second factor');
    const redirect = page.waitForRequest((r) => r.url().startsWith(REDIRECT_URI));
    await page.getByRole('button', { name: APPROVE_BUTTON }).click();
    expect(new URL((await redirect).url()).searchParams.get('code')).toBeTruthy();
  }, 60_000);

  test('device code: enter the code, sign in, approve, done', async () => {
    const res = await fetch(`${fake.authority()}/oauth2/v2.0/devicecode`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: DEFAULTS.webClientId,
        scope: `${DEFAULTS.apiIdentifier}/data.read`,
      }),
    });
    const { user_code, verification_uri } = (await res.json()) as Record<string, string>;
    const page = await (
      await browser.newContext({ viewport: { width: 360, height: 740 } })
    ).newPage();
    await page.goto(verification_uri!);
    await checkPage(page, 'enter code');
    await page.getByLabel('Code').fill(user_code!);
    await page.getByRole('button', { name: 'Next' }).click();
    await checkPage(page, 'device sign-in');
    await page.getByRole('button', { name: `Sign in as ${DEFAULTS.users.bob.name}` }).click();
    await checkPage(page, 'device second factor');
    await page.getByRole('button', { name: APPROVE_BUTTON }).click();
    await expect(
      page.getByText('You have signed in to the koa-entra web app application').count(),
    ).resolves.toBe(1);
    await checkPage(page, 'device done');
  }, 60_000);
});
