// /docs in a real browser (Debian's chromium): Swagger UI renders our document under the
// page's Content-Security-Policy, with no violation and nothing loaded from elsewhere.
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { chromium as playwright, type Browser } from 'playwright-core';
import { chromium, chromiumPath, describeWith } from '../../../tests/support/prerequisites.ts';
import { API_ID, FakeEntra, startTestApi, type TestApi } from './support/api.ts';

jest.setTimeout(60_000);

describeWith([chromium], '/docs in a browser', () => {
  let fake: FakeEntra;
  let api: TestApi;
  let browser: Browser;
  beforeAll(async () => {
    fake = await FakeEntra.start();
    api = await startTestApi(fake);
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

  test('Swagger UI shows both operations and the OAuth2 scopes, with no CSP violation', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    const origins = new Set<string>();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => origins.add(new URL(r.url()).origin));
    await page.goto(`${api.url}/docs`);
    await page.getByText('koa-entra API').first().waitFor();
    await page.getByText('/data/read').first().waitFor();
    await page.getByText('/data/write').first().waitFor();
    await page
      .getByRole('button', { name: /Authorize/ })
      .first()
      .click();
    await page.getByText(`api://${API_ID}/data.read`).first().waitFor();
    await page.getByText(`api://${API_ID}/data.write`).first().waitFor();
    expect(problems).toEqual([]);
    expect([...origins]).toEqual([new URL(api.url).origin]);
  });
});
