// The whole system for browser tests: the fake issuer in-process, the API in-process (its own
// composition, real token validation) and the web app as a real child process
// (`node services/client/src/main.ts`), stopped with SIGTERM like a container would be.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, FakeEntra, type FakeEntraOptions } from '@koa-entra/fake-entra';
import { loadConfig as loadApiConfig, startApi, type RunningApi } from '@koa-entra/api';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
export const SESSION_KEYS = 'e2e-session-key-0123456789abcdef0123456789abcdef';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export interface WebAppProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function startWebAppProcess(env: Record<string, string>): Promise<WebAppProcess> {
  // A port chosen beforehand (e.g. registered in the issuer's config as the front-channel
  // logout URL), or any free one.
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const url = `http://localhost:${port}`;
  // The source condition: the web app imports workspace packages (@koa-entra/service-kit).
  const main = join(REPO, 'services/client/src/main.ts');
  const child = spawn(process.execPath, ['--conditions=@koa-entra/source', main], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? join(REPO, '.certs/ca.pem'),
      PORT: String(port),
      METRICS_PORT: '0',
      REDIRECT_URI: `${url}/auth/redirect`,
      TENANT_ID: DEFAULTS.tenantId,
      CLIENT_ID: DEFAULTS.webClientId,
      CLIENT_SECRET: DEFAULTS.webClientSecret,
      // Incremental consent: reading asks data.read only, writing data.write only.
      API_READ_SCOPES: `${DEFAULTS.apiIdentifier}/data.read`,
      API_WRITE_SCOPES: `${DEFAULTS.apiIdentifier}/data.write`,
      SESSION_KEYS,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const started = Date.now();
  while (!out.includes('web app listening')) {
    if (child.exitCode !== null) throw new Error(`web app exited with ${child.exitCode}:\n${out}`);
    if (Date.now() - started > 15_000) {
      child.kill('SIGKILL');
      throw new Error(`web app did not start within 15 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

export interface System {
  fake: FakeEntra;
  api: RunningApi;
  dataDir: string;
  webEnv: Record<string, string>;
  close(): Promise<void>;
}

/** `apiEnv`: more of the API's variables (e.g. WRITE_AUTH_CONTEXT). */
export async function startSystem(
  fakeOptions: FakeEntraOptions = {},
  apiEnv: Record<string, string> = {},
): Promise<System> {
  const fake = await FakeEntra.start(fakeOptions);
  const dataDir = mkdtempSync(join(tmpdir(), 'e2e-api-'));
  const api = await startApi(
    loadApiConfig({
      PORT: '0',
      METRICS_PORT: '0',
      TENANT_ID: DEFAULTS.tenantId,
      API_CLIENT_ID: DEFAULTS.apiClientId,
      AUTHORITY: fake.baseUrl,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      ...apiEnv,
    }),
  );
  return {
    fake,
    api,
    dataDir,
    webEnv: { AUTHORITY: fake.baseUrl, GRAPH_BASE_URL: fake.graphBaseUrl, API_BASE_URL: api.url },
    close: async () => {
      await api.close();
      await fake.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
