// Measurement for issue 13 W1 (prints figures; never a test): anonymous `GET /auth/signin`
// requests against the web app as its own process, then what they left behind. Memory store:
// the process's resident set size (VmRSS) before and after. Redis (FLOOD_REDIS_URL): the
// web app's session keys and their TTL. Starts the fake issuer in-process (the web app fetches
// its metadata at start).
// Env: FLOOD_REQUESTS (60000), FLOOD_CONNECTIONS (20), FLOOD_REDIS_URL (unset: memory store;
// use a database of its own, e.g. redis://127.0.0.1:6379/11), FLOOD_REPO (the repository whose
// web app runs; default this one), FLOOD_ENV (extra web app variables, `A=1,B=2`).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { DEFAULTS, FakeEntra } from '@koa-entra/fake-entra';

const requests = Number(process.env.FLOOD_REQUESTS ?? 60_000);
const connections = Number(process.env.FLOOD_CONNECTIONS ?? 20);
const redisUrl = process.env.FLOOD_REDIS_URL;
const here = fileURLToPath(new URL('../../../', import.meta.url));
const repo = process.env.FLOOD_REPO ?? here;
const extraEnv = Object.fromEntries(
  (process.env.FLOOD_ENV ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => pair.split('=', 2) as [string, string]),
);

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

const rssMb = (pid: number) => {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
};

async function sessionKeys(redis: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', 'webapp:*', 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

const fake = await FakeEntra.start({ tls: { caDir: join(here, '.certs') } });
const port = await freePort();
const { NODE_OPTIONS: _omit, ...parentEnv } = process.env;
const child = spawn(
  process.execPath,
  ['--conditions=@koa-entra/source', join(repo, 'services/client/src/main.ts')],
  {
    env: {
      PATH: parentEnv.PATH ?? '',
      NODE_EXTRA_CA_CERTS: fake.caCertFile,
      PORT: String(port),
      METRICS_PORT: '0', // the metrics listener (W9) on any free port
      HOST: '127.0.0.1',
      TENANT_ID: DEFAULTS.tenantId,
      CLIENT_ID: DEFAULTS.webClientId,
      CLIENT_SECRET: DEFAULTS.webClientSecret,
      AUTHORITY: fake.baseUrl,
      GRAPH_BASE_URL: fake.graphBaseUrl,
      REDIRECT_URI: `http://localhost:${port}/auth/redirect`,
      // Both generations of the scope variables: the one the web app does not know is ignored.
      API_SCOPES: DEFAULTS.apiScopes.join(' '),
      API_READ_SCOPES: `${DEFAULTS.apiIdentifier}/data.read`,
      API_WRITE_SCOPES: `${DEFAULTS.apiIdentifier}/data.write`,
      SESSION_KEYS: 'flood-session-key-0123456789abcdef0123456789',
      LOG_LEVEL: 'warn',
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
const base = `http://127.0.0.1:${port}`;
for (let started = Date.now(); ;) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {
    if (Date.now() - started > 20_000) throw new Error('the web app did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}
// Warm up (metadata, JIT), then settle before the first figure.
await fetch(`${base}/auth/signin`, { redirect: 'manual' });
await new Promise((r) => setTimeout(r, 1000));
const redis = redisUrl ? new Redis(redisUrl) : undefined;
const keysBefore = new Set(redis ? await sessionKeys(redis) : []);
const rssBefore = rssMb(child.pid!);

const result = await autocannon({
  url: `${base}/auth/signin?returnTo=%2Fread`,
  connections,
  amount: requests,
});
await new Promise((r) => setTimeout(r, 2000));
const statuses = Object.entries(result.statusCodeStats ?? {})
  .map(([status, { count }]) => `${status}: ${count}`)
  .join(', ');
console.log(`repository: ${repo}`);
console.log(`store: ${redisUrl ? `redis (${redisUrl})` : 'memory'}`);
console.log(`requests: ${result.requests.total} anonymous GET /auth/signin (${statuses})`);
console.log(`RSS: ${rssBefore} MB before, ${rssMb(child.pid!)} MB after`);
if (redis) {
  const all = await sessionKeys(redis);
  const keys = all.filter((k) => !keysBefore.has(k));
  const sample = keys.slice(0, 50);
  const ttls = await Promise.all(sample.map((k) => redis.ttl(k)));
  const sizes = await Promise.all(sample.map((k) => redis.strlen(k)));
  console.log(
    `redis keys webapp:*: ${keysBefore.size} before, ${all.length} after (+${keys.length})`,
  );
  if (sample.length) {
    console.log(
      `sample of ${sample.length}: TTL ${Math.min(...ttls)}-${Math.max(...ttls)} s, ` +
        `${Math.round(sizes.reduce((a, b) => a + b, 0) / sample.length)} B each`,
    );
  }
  // Leave the database as found: the keys this run created belong to nobody.
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await fake.close();
