// Debian's chromium driven by playwright-core, headless.
import { chromium as playwrightChromium, type Browser, type Page } from 'playwright-core';
import { chromiumPath } from '../../support/prerequisites.ts';

export function launchBrowser(): Promise<Browser> {
  return playwrightChromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** From the web app's home page through the fake issuer's sign-in page, back to the web app. */
export async function signInThroughPage(
  page: Page,
  webUrl: string,
  userName: string,
  startPath = '/',
): Promise<void> {
  await page.goto(`${webUrl}${startPath}`);
  if (startPath === '/') await page.getByRole('link', { name: 'Sign in with Microsoft' }).click();
  await page.getByRole('button', { name: `Sign in as ${userName}` }).click();
  await page.waitForURL((u) => u.toString().startsWith(webUrl) && !u.pathname.startsWith('/auth/'));
}
