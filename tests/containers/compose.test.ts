// Smoke test of the README's first command: `docker compose up --build` (docker-compose 1.29
// here, whose builds use the classic builder), then a newcomer's browser session against it,
// then `down -v`. Host ports are moved to free ones (FAKE_ENTRA_PORT, CLIENT_PORT, API_PORT)
// so the test does not collide with a system already running on 5001/5050/8000.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { chromium as playwright } from 'playwright-core';
import type { Browser } from 'playwright-core';
import {
  chromium,
  chromiumPath,
  describeWith,
  docker as dockerEngine,
} from '../support/prerequisites.ts';
import {
  docker,
  freePort,
  inspectContainer,
  run,
  signIn,
  waitFor,
  writeAndRead,
} from './support.ts';
import type { RunResult } from './support.ts';

/** `docker compose` (v2) where the plugin exists, else `docker-compose` (1.29). */
async function composeCommand(): Promise<[string, ...string[]]> {
  try {
    await run('docker', ['compose', 'version'], { timeoutMs: 10_000 });
    return ['docker', 'compose'];
  } catch {
    return ['docker-compose'];
  }
}

const project = `koa-entra-smoke-${randomBytes(3).toString('hex')}`;

describeWith([dockerEngine, chromium], 'docker compose up (offline, fake issuer)', () => {
  let compose: (
    args: string[],
    timeoutMs?: number,
    extraEnv?: NodeJS.ProcessEnv,
  ) => Promise<RunResult>;
  let browser: Browser | undefined;
  let webApp: string;
  let env: NodeJS.ProcessEnv;

  const containerOf = async (service: string) =>
    (await compose(['ps', '-q', service])).stdout.trim();
  const waitHealthy = (services: string[]) =>
    waitFor(
      `${services.join(', ')} to be healthy`,
      async () => {
        for (const service of services) {
          const id = await containerOf(service);
          if (!id || (await inspectContainer(id)).health !== 'healthy') return undefined;
        }
        return true;
      },
      { timeoutMs: 180_000, intervalMs: 1000 },
    );

  beforeAll(async () => {
    const [command, ...prefix] = await composeCommand();
    const ports = {
      FAKE_ENTRA_PORT: await freePort(),
      CLIENT_PORT: await freePort(),
      API_PORT: await freePort(),
    };
    // COMPOSE_FILE from a developer's .env must not send this test to real Entra.
    env = { ...process.env, COMPOSE_FILE: 'docker-compose.yml', COMPOSE_PROJECT_NAME: project };
    for (const [k, v] of Object.entries(ports)) env[k] = String(v);
    webApp = `http://localhost:${ports.CLIENT_PORT}`;
    compose = (args, timeoutMs = 120_000, extraEnv = {}) =>
      run(command, [...prefix, '-f', 'docker-compose.yml', '-p', project, ...args], {
        env: { ...env, ...extraEnv },
        timeoutMs,
      });
    const t0 = Date.now();
    await compose(['up', '-d', '--build'], 20 * 60_000, {
      DOCKER_BUILDKIT: '0',
      COMPOSE_DOCKER_CLI_BUILD: '0',
    });
    await waitHealthy(['fake-entra', 'api', 'client', 'redis']);
    console.log(`compose: up --build and healthy in ${Math.round((Date.now() - t0) / 1000)} s`);
  }, 25 * 60_000);

  afterAll(async () => {
    await browser?.close();
    if (compose) {
      await compose(['down', '-v', '--remove-orphans'], 120_000).catch((error: unknown) =>
        console.error(String(error)),
      );
      const { stdout } = await docker([
        'volume',
        'ls',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${project}`,
      ]);
      expect(stdout.trim()).toBe('');
    }
  }, 180_000);

  test('every service is healthy, read-only and unprivileged', async () => {
    for (const service of ['fake-entra', 'api', 'client']) {
      const state = await inspectContainer(await containerOf(service));
      expect({ service, ...state }).toMatchObject({
        service,
        running: true,
        health: 'healthy',
        readOnly: true,
        user: 'node',
      });
    }
  }, 30_000);

  test('a newcomer signs in on the fake issuer page, writes and reads protected data; the data survives a new API container', async () => {
    browser = await playwright.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    const page = await browser.newPage();
    await signIn(page, webApp, 'alice@contoso.test');
    const text = `written through compose ${project}`;
    await writeAndRead(page, webApp, text);

    // Replace the API container; the named volume keeps the SQLite file.
    const before = await containerOf('api');
    await compose(['rm', '-s', '-f', 'api']);
    await compose(['up', '-d', '--no-deps', 'api'], 180_000);
    await waitHealthy(['api']);
    expect(await containerOf('api')).not.toBe(before);

    await page.goto(`${webApp}/items`);
    await expect(page.getByText(text).first().isVisible()).resolves.toBe(true);
    await page.close();
  }, 300_000);

  test('the real-Entra compose file runs no fake issuer and names every missing variable', async () => {
    const filled = {
      TENANT_ID: '11111111-1111-4111-8111-111111111111',
      API_CLIENT_ID: '22222222-2222-4222-8222-222222222222',
      CLIENT_ID: '33333333-3333-4333-8333-333333333333',
      CLIENT_SECRET: 'secret',
      SESSION_KEYS: 'k'.repeat(32),
      API_SCOPES: 'api://22222222-2222-4222-8222-222222222222/data.read',
    };
    const [command, ...prefix] = await composeCommand();
    const config = (extra: NodeJS.ProcessEnv) =>
      run(command, [...prefix, '-f', 'docker-compose.entra.yml', 'config'], {
        env: { ...process.env, COMPOSE_FILE: '', ...extra },
        timeoutMs: 30_000,
      });
    const { stdout } = await config(filled);
    expect(stdout).not.toMatch(/fake-entra/);
    expect(stdout).toContain('https://login.microsoftonline.com');
    expect(stdout).toContain('https://graph.microsoft.com');
    await expect(config({ ...filled, CLIENT_SECRET: '' })).rejects.toThrow(/CLIENT_SECRET/);
  }, 60_000);
});
