// One system per describe block of a browser suite: the fake issuer with a configuration of the
// block's own, the API, a web app process, and a fresh browser context per test.
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEFAULT_CONFIG_FILE, type FakeEntraConfig } from '@koa-entra/fake-entra';
import {
  freePort,
  startSystem,
  startWebAppProcess,
  type System,
  type WebAppProcess,
} from './system.ts';

/** A fresh copy of the fake's default configuration, to edit for one suite. */
export function defaultFakeConfig<C extends FakeEntraConfig>(): C {
  return JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as C;
}

export interface SuiteSystem {
  system: System;
  web: WebAppProcess;
  context: BrowserContext;
  page: Page;
}

/**
 * Registers the hooks: `config` is given the web app's port (registered URLs may name it);
 * `browser` is read when each test starts (the suite launches it in its own beforeAll).
 */
export function systemPerSuite(
  browser: () => Browser,
  config: (webPort: number) => FakeEntraConfig,
  options: { apiEnv?: Record<string, string>; webEnv?: Record<string, string> } = {},
): SuiteSystem {
  const s = {} as SuiteSystem;
  beforeAll(async () => {
    const port = await freePort();
    s.system = await startSystem({ config: config(port) }, options.apiEnv ?? {});
    s.web = await startWebAppProcess({
      ...s.system.webEnv,
      PORT: String(port),
      ...options.webEnv,
    });
  }, 60_000);
  afterAll(async () => {
    await s.web?.stop();
    await s.system?.close();
  });
  beforeEach(async () => {
    s.context = await browser().newContext();
    s.context.setDefaultTimeout(20_000);
    s.page = await s.context.newPage();
  });
  afterEach(async () => {
    await s.context?.close();
  });
  return s;
}
