// Test support: the real FakeEntra issuer (in-process, port 0) and the real API HTTP server.
import { afterAll } from '@jest/globals';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, FakeEntra } from '@koa-entra/fake-entra';
import { loadConfig, type ApiConfig } from '../../src/config.ts';
import { startApi, type RunningApi } from '../../src/server.ts';

export { DEFAULTS, FakeEntra };

export const API_ID = DEFAULTS.apiClientId;
export const TENANT = DEFAULTS.tenantId;
export const ALICE = DEFAULTS.users.alice.upn;
export const BOB = DEFAULTS.users.bob.upn;

export const repoRoot = new URL('../../../../', import.meta.url).pathname;
export const apiMain = join(repoRoot, 'services/api/src/main.ts');

const created: string[] = [];
// Registered by every test file that imports this module: its data directories go with it.
afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'api-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** The environment a deployment next to the fake issuer would set. */
export function apiEnv(
  fake: FakeEntra,
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    TENANT_ID: TENANT,
    API_CLIENT_ID: API_ID,
    AUTHORITY: fake.baseUrl,
    DATA_DIR: tempDir(),
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

/** Collects the JSON log lines of an API instance. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  entries(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface TestApi extends RunningApi {
  config: ApiConfig;
  logs: LogCapture;
}

export async function startTestApi(
  fake: FakeEntra,
  overrides: Record<string, string | undefined> = {},
): Promise<TestApi> {
  const config = loadConfig(apiEnv(fake, overrides) as NodeJS.ProcessEnv);
  const logs = new LogCapture();
  const running = await startApi(config, { logDestination: logs });
  // Wait for the warm-up fetch so that tests count fetches from a known state.
  await running.api.keys.ensureKeys();
  return Object.assign(running, { config, logs });
}

export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

export async function call(
  url: string,
  init: RequestInit & { token?: string } = {},
): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (init.token !== undefined) headers.set('authorization', `Bearer ${init.token}`);
  const response = await fetch(url, { ...init, headers });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body, text };
}

export const read = (api: { url: string }, token?: string, init: RequestInit = {}) =>
  call(`${api.url}/data/read`, { ...init, token });

export const write = (
  api: { url: string },
  token: string | undefined,
  data: unknown,
  init: RequestInit = {},
) =>
  call(`${api.url}/data/write`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof data === 'string' ? data : JSON.stringify(data),
    token,
    ...init,
  });
