// Benchmark (prints figures; not a test). Starts the fake issuer in-process and the API as a
// child process (`node src/main.ts`, as deployed), then measures with autocannon:
//   A: GET /data/read, one valid token repeated      (the usual client: one token per hour)
//   B: GET /data/read, a distinct valid token per request (every request a full verification)
//   C: GET /healthz, unauthenticated route of the same server (the ceiling)
// The three runs are interleaved for BENCH_ROUNDS rounds and the medians reported, so that a
// load change on a shared machine does not land on one scenario only.
// Env: BENCH_SECONDS (8, per A/C run), BENCH_B_SECONDS (3, per B run), BENCH_CONNECTIONS (10),
// BENCH_ROUNDS (3), BENCH_B_TOKENS (25000 minted per round; B must not run out of them).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { DEFAULTS, FakeEntra } from '@koa-entra/fake-entra';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const tokensPerRound = Number(process.env.BENCH_B_TOKENS ?? 25_000);
const bSeconds = Number(process.env.BENCH_B_SECONDS ?? 3);
const distinctTokens = tokensPerRound * rounds;
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

const fake = await FakeEntra.start();
const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'api-bench-'));
const { NODE_OPTIONS: _omit, ...env } = process.env;
// The workspace packages run from source, as in `npm start`.
const api = spawn(process.execPath, ['--no-warnings', '--conditions=@koa-entra/source', main], {
  env: {
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
    TENANT_ID: DEFAULTS.tenantId,
    API_CLIENT_ID: DEFAULTS.apiClientId,
    AUTHORITY: fake.baseUrl,
    DATA_DIR: dataDir,
    NODE_EXTRA_CA_CERTS: fake.caCertFile,
    // debug: /healthz (C) logs its access line at debug; this way C writes the same line per
    // request as A and B, and the ratios measure token validation, not logging.
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'debug',
  },
  // Logs go to /dev/null: writing them is part of the cost measured, reading them is not.
  stdio: ['ignore', 'ignore', 'inherit'],
});
const url = `http://127.0.0.1:${port}`;

async function stop(): Promise<void> {
  api.kill('SIGTERM');
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
}

try {
  for (let i = 0; ; i++) {
    if (
      (await fetch(`${url}/readyz`)
        .then((r) => r.status)
        .catch(() => 0)) === 200
    )
      break;
    if (i > 200 || api.exitCode !== null) throw new Error('api did not become ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const user = DEFAULTS.users.alice.upn;
  const token = await fake.mintAccessToken({ user, scopes: ['data.read'] });
  // One item so that reads return data.
  await fetch(`${url}/data/write`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await fake.mintAccessToken({ user, scopes: ['data.write'] })}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ hello: 'bench' }),
  });
  process.stderr.write(`minting ${distinctTokens} distinct tokens for B...\n`);
  const tokens: string[] = [];
  for (let i = 0; i < distinctTokens; i++)
    tokens.push(await fake.mintAccessToken({ user, scopes: ['data.read'] }));

  interface Figures {
    name: string;
    requests: number;
    rps: number;
    p50: number;
    p99: number;
    non2xx: number;
    jwks: number;
  }
  const run = async (name: string, opts: autocannon.Options, warmUp = true): Promise<Figures> => {
    // Warm-up, not measured.
    if (warmUp) await autocannon({ ...opts, connections, duration: 2 });
    fake.resetRequestCounts();
    const r = await autocannon({ connections, duration: seconds, ...opts });
    const f = {
      name,
      requests: r.requests.total,
      // Exact rate (autocannon's per-second average is quantised for runs bounded by a request count).
      rps: r.requests.total / ((r.finish.getTime() - r.start.getTime()) / 1000),
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx + r.errors,
      jwks: fake.requestCounts().jwks,
    };
    process.stderr.write(`${name}: ${f.rps.toFixed(0)} req/s\n`);
    return f;
  };

  const results: Record<'A' | 'B' | 'C', Figures[]> = { A: [], B: [], C: [] };
  let next = 0;
  for (let round = 1; round <= rounds; round++) {
    results.C.push(await run(`C round ${round}`, { url: `${url}/healthz` }));
    results.A.push(
      await run(`A round ${round}`, {
        url: `${url}/data/read`,
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    results.B.push(
      await run(
        `B round ${round}`,
        {
          url: `${url}/data/read`,
          // Bounded by time, not by count: a count-bounded autocannon run only ends on its
          // one-second tick, which would stretch the elapsed time and understate the rate.
          duration: bSeconds,
          requests: [
            {
              setupRequest: (req) => ({
                ...req,
                headers: {
                  ...req.headers,
                  authorization: `Bearer ${tokens[next++ % tokens.length]}`,
                },
              }),
            },
          ],
        },
        false, // A warmed the same route; a warm-up here would spend tokens
      ),
    );
  }
  if (next > tokens.length) {
    process.stderr.write(
      `note: B ran out of distinct tokens (${next} requests, ${tokens.length} tokens): raise BENCH_B_TOKENS\n`,
    );
  }

  const median = (xs: number[]) =>
    [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] as number;
  const summary = (name: string, fs: Figures[]) => ({
    name,
    rps: median(fs.map((f) => f.rps)),
    p50: median(fs.map((f) => f.p50)),
    p99: median(fs.map((f) => f.p99)),
    requests: fs.reduce((n, f) => n + f.requests, 0),
    non2xx: fs.reduce((n, f) => n + f.non2xx, 0),
    jwks: fs.reduce((n, f) => n + f.jwks, 0),
    all: fs.map((f) => f.rps.toFixed(0)).join('/'),
  });
  const c = summary('C  GET /healthz (no auth, ceiling)', results.C);
  const a = summary('A  GET /data/read, one token', results.A);
  const b = summary('B  GET /data/read, distinct tokens', results.B);

  console.log(
    `\nAPI benchmark: ${connections} connections, ${rounds} interleaved rounds (C, A, B), ${seconds} s per C/A run, ${bSeconds} s per B run; Node ${process.version}; ${new Date().toISOString()}`,
  );
  console.log(
    'run                                   median req/s  p50 ms  p99 ms  requests  non-2xx  JWKS fetches  req/s per round',
  );
  for (const f of [c, a, b]) {
    console.log(
      `${f.name.padEnd(38)} ${f.rps.toFixed(0).padStart(11)} ${String(f.p50).padStart(7)} ${String(f.p99).padStart(7)} ${String(f.requests).padStart(9)} ${String(f.non2xx).padStart(8)} ${String(f.jwks).padStart(13)}  ${f.all}`,
    );
  }
  console.log(`\nA/C = ${(a.rps / c.rps).toFixed(2)}  (target >= 0.85)`);
  console.log(`B/C = ${(b.rps / c.rps).toFixed(2)}  (target >= 0.40)`);
  console.log(`p99 of A = ${a.p99} ms  (target <= 5 ms at ${connections} connections)`);
  console.log(
    `JWKS fetches during the measured runs: ${a.jwks + b.jwks + c.jwks} over ${a.requests + b.requests} authenticated requests (target 0 after warm-up)`,
  );
  console.log(
    `B: ${b.requests} requests, each with a token the API had not seen (a full RS256 verification each)`,
  );
} finally {
  await stop();
}
