// The web app as a process: configuration errors name the variable and exit 1; SIGTERM stops it
// gracefully (exit 0, well within 10 s).
import { expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '@koa-entra/fake-entra';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const BASE_ENV = {
  PATH: process.env.PATH ?? '',
  TENANT_ID: DEFAULTS.tenantId,
  CLIENT_ID: DEFAULTS.webClientId,
  CLIENT_SECRET: 'process-test-secret',
  API_SCOPES: DEFAULTS.apiScopes.join(' '),
  SESSION_KEYS: 'p'.repeat(32),
  AUTHORITY: 'https://127.0.0.1:9', // nothing listens: the app still starts, sign-in pages would say so
  PORT: '0',
  METRICS_PORT: '0',
};

function run(env: Record<string, string>) {
  // The workspace packages the web app imports resolve to their sources under this condition.
  const child = spawn(process.execPath, ['--conditions=@koa-entra/source', MAIN], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out };
}

test('a missing variable stops the process with exit 1 naming it', async () => {
  const env: Record<string, string> = { ...BASE_ENV };
  delete env.CLIENT_SECRET;
  delete env.API_SCOPES; // no default: the web app must be told which API it calls
  const { child, output } = run({ ...env, SESSION_KEYS: 'short' });
  const [code] = await once(child, 'exit');
  expect(code).toBe(1);
  const lines = output().trim().split('\n');
  expect(lines).toHaveLength(1); // one fatal JSON line
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  expect(line).toMatchObject({
    level: 'fatal',
    service: 'client',
    variables: ['CLIENT_SECRET', 'SESSION_KEYS', 'API_READ_SCOPES'],
  });
  expect(line.msg).toContain('CLIENT_SECRET: is required');
  expect(line.msg).toContain('API_READ_SCOPES: is required');
  expect(line.msg).toContain('SESSION_KEYS: every key must be at least 32 characters');
  expect(output()).not.toContain('short'); // never echo secrets back
}, 15_000);

test('serves /healthz and stops gracefully on SIGTERM', async () => {
  const { child, output } = run(BASE_ENV);
  const started = Date.now();
  while (!output().includes('web app listening')) {
    if (child.exitCode !== null || Date.now() - started > 10_000)
      throw new Error(`did not start:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = JSON.parse(
    output()
      .split('\n')
      .find((l) => l.includes('web app listening'))!,
  ).url as string;
  const health = await fetch(`${url}/healthz`);
  expect(health.status).toBe(200);
  const stopAt = Date.now();
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
  expect(Date.now() - stopAt).toBeLessThan(10_000);
  expect(output()).toContain('"msg":"web app stopped"');
}, 20_000);
