// The write flood of issue 13 (W8), as a script that prints figures (never a test): one valid
// token POSTs FLOOD_REQUESTS bodies of FLOOD_BYTES to /data/write, FLOOD_CONCURRENCY at a time,
// against the API as a process (`node src/main.ts`, SQLite under a fresh DATA_DIR, the quota and
// rate limit at their defaults unless the environment sets them). It prints the statuses, the
// time taken and how much the database grew.
// Env: FLOOD_REQUESTS (3000), FLOOD_BYTES (16000), FLOOD_CONCURRENCY (10), FLOOD_PATH (/data/write).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, FakeEntra } from '@koa-entra/fake-entra';

const requests = Number(process.env.FLOOD_REQUESTS ?? 3000);
const bytes = Number(process.env.FLOOD_BYTES ?? 16_000);
const concurrency = Number(process.env.FLOOD_CONCURRENCY ?? 10);
const path = process.env.FLOOD_PATH ?? '/data/write';
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

/** Bytes of every file in the data directory (the SQLite file, its WAL and shared memory). */
const diskUse = (dir: string) =>
  readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);

const fake = await FakeEntra.start({ tls: { caDir: here('../../../.certs') } });
const work = mkdtempSync(join(tmpdir(), 'api-flood-'));
const dataDir = join(work, 'data');
const port = await freePort();
const { NODE_OPTIONS: _omit, ...parentEnv } = process.env;
const child = spawn(
  process.execPath,
  ['--no-warnings', '--conditions=@koa-entra/source', here('../src/main.ts')],
  {
    env: {
      ...parentEnv,
      AUTHORITY: fake.baseUrl,
      TENANT_ID: DEFAULTS.tenantId,
      API_CLIENT_ID: DEFAULTS.apiClientId,
      NODE_EXTRA_CA_CERTS: fake.caCertFile,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
const url = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (i > 400 || child.exitCode !== null) throw new Error('api did not become ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const token = await fake.mintAccessToken({
    user: DEFAULTS.users.alice.upn,
    scopes: ['data.read', 'data.write'],
  });
  // A JSON object of `bytes` characters: {"text":"xxx…"}.
  const body = JSON.stringify({ text: 'x'.repeat(Math.max(0, bytes - 11)) });
  const before = diskUse(dataDir);
  const statuses = new Map<number, number>();
  let retryAfter: string | null = null;
  let firstError = '';
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        const response = await fetch(`${url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
        const text = await response.text();
        if (response.status >= 400 && response.status !== 429 && !firstError)
          firstError = `${response.status} ${text.slice(0, 300)}`;
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        retryAfter ??= response.headers.get('retry-after');
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const grown = diskUse(dataDir) - before;
  console.log(
    `write flood: ${requests} POST ${path} of ${body.length} bytes, ${concurrency} at a time, one token; Node ${process.version}; ${new Date().toISOString()}`,
  );
  console.log(`took ${seconds.toFixed(1)} s (${(requests / seconds).toFixed(0)} req/s)`);
  console.log(
    `statuses: ${[...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(', ')}${retryAfter ? ` (first Retry-After: ${retryAfter} s)` : ''}`,
  );
  if (firstError) console.log(`first error: ${firstError}`);
  console.log(`database grew by ${(grown / 1e6).toFixed(1)} MB (${grown} bytes)`);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await fake.close();
  rmSync(work, { recursive: true, force: true });
}
