// Benchmark (prints figures; never a test). Starts the fake issuer in-process, and as child
// processes the API (`node src/main.ts`, access log at info, as deployed) and three servers to
// compare it with (servers/): a plain Koa route answering the same JSON body without any token
// check, the naive Koa + jose server, and Express + Auth0's express-oauth2-jwt-bearer. Then it
// loads each with wrk (C, one thread) and, as a second opinion, with autocannon:
//   plain   GET /data/read on plain Koa, sent A's request (token included, not read): the
//           baseline of every ratio, so that the ratios differ only in what the servers do
//   plain-bare  the same without the Authorization header (what parsing the token's ~1.4 KB
//           of header costs Node's HTTP parser, before any code of the server runs)
//   kit     the same route behind the service kit's requestContext (access line at info): the
//           shared request path alone, no token check; the ceiling of A on the machine measured
//   kit-quiet  the same at LOG_LEVEL=warn: the request context without its access line
//   healthz GET /healthz of the API (no token; its common request path only, logged at debug)
//   A       GET /data/read of the API, one valid token repeated (a client's usual hour)
//   jose    the same on naive Koa + jose
//   auth0   the same on Express + express-oauth2-jwt-bearer
//   B       GET /data/read of the API, a distinct token per request (a full RS256 check each)
// Runs are interleaved for BENCH_ROUNDS rounds and medians reported, so that a load change on
// a shared machine does not land on one scenario only. Ratios, not absolute figures, compare.
// Env: BENCH_SECONDS (5 per run), BENCH_B_SECONDS (3), BENCH_CONNECTIONS (10), BENCH_ROUNDS (3),
// BENCH_TOOLS (wrk,autocannon), BENCH_SCENARIOS (all; e.g. plain,kit,A: plain is always run).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { DEFAULTS, FakeEntra } from '@koa-entra/fake-entra';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const bSeconds = Number(process.env.BENCH_B_SECONDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const tools = (process.env.BENCH_TOOLS ?? 'wrk,autocannon').split(',').map((t) => t.trim());
const SCENARIO_NAMES = [
  'plain',
  'plain-bare',
  'kit',
  'kit-quiet',
  'healthz',
  'A',
  'jose',
  'auth0',
  'B',
] as const;
type ScenarioName = (typeof SCENARIO_NAMES)[number];
const isScenarioName = (name: string): name is ScenarioName =>
  (SCENARIO_NAMES as readonly string[]).includes(name);
const selected = new Set(
  (process.env.BENCH_SCENARIOS ?? SCENARIO_NAMES.join(',')).split(',').map((t) => t.trim()),
);
for (const name of selected)
  if (!isScenarioName(name)) {
    console.error(
      `bench: unknown scenario ${JSON.stringify(name)} in BENCH_SCENARIOS (known: ${SCENARIO_NAMES.join(', ')})`,
    );
    process.exit(1);
  }
selected.add('plain');
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const repoRoot = here('../../../');

if (tools.includes('wrk') && spawnSync('wrk', ['--version']).error) {
  console.error(
    'bench: wrk not found; install it (apt-get install wrk) or set BENCH_TOOLS=autocannon',
  );
  process.exit(1);
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

const fake = await FakeEntra.start({ tls: { caDir: join(repoRoot, '.certs') } });
const work = mkdtempSync(join(tmpdir(), 'api-bench-'));
const { NODE_OPTIONS: _omit, ...parentEnv } = process.env;
const issuerEnv = {
  AUTHORITY: fake.baseUrl,
  TENANT_ID: DEFAULTS.tenantId,
  API_CLIENT_ID: DEFAULTS.apiClientId,
  NODE_EXTRA_CA_CERTS: fake.caCertFile,
};
const children: ChildProcess[] = [];
/** Each server's process id by its origin, to read the CPU time it spends on a run. */
const pidOf = new Map<string, number>();

// CPU seconds a process has used (user + system), from /proc (Linux); NaN elsewhere. Divided by
// the requests of a run it gives the server's CPU per request, which, unlike req/s, does not
// depend on whether the server or the load generator was the one waiting.
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime, stime
  } catch {
    return NaN;
  }
}

/** Starts a server as its own process (logs to /dev/null: writing them is measured, reading not). */
async function startServer(script: string, env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--no-warnings', '--conditions=@koa-entra/source', script],
    {
      env: {
        ...parentEnv,
        ...issuerEnv,
        ...env,
        PORT: String(port),
        METRICS_PORT: '0',
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  if (child.pid !== undefined) pidOf.set(url, child.pid);
  for (let i = 0; ; i++) {
    const up = await fetch(`${url}/healthz`).then(
      () => true,
      () => false,
    );
    if (up) return url;
    if (i > 200 || child.exitCode !== null) throw new Error(`${script} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  /** The server's CPU time per request in µs, and its CPU use in % of one core (Linux only). */
  cpuUs?: number;
  cpuPercent?: number;
}

/** wrk -t1: one thread, `connections` connections; `--latency` for the percentiles. */
function wrk(
  url: string,
  duration: number,
  headers: Record<string, string>,
  script?: string,
): Figures {
  const args = ['-t1', `-c${connections}`, `-d${duration}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (script) args.push('-s', script);
  const out = spawnSync('wrk', [...args, url], { encoding: 'utf8', env: process.env });
  if (out.status !== 0) throw new Error(`wrk failed: ${out.stderr}`);
  const text = out.stdout;
  const ms = (label: string) => {
    const m = new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]),
    p50: ms('50'),
    p99: ms('99'),
    requests: Number(/(\d+) requests in/.exec(text)?.[1]),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
  };
}

async function cannon(
  url: string,
  duration: number,
  headers: Record<string, string>,
  tokens?: string[],
): Promise<Figures> {
  let next = 0;
  const r = await autocannon({
    url,
    connections,
    duration,
    headers,
    ...(tokens
      ? {
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
        }
      : {}),
  });
  return {
    // Exact rate: autocannon's per-second average is quantised.
    rps: r.requests.total / ((r.finish.getTime() - r.start.getTime()) / 1000),
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx + r.errors,
  };
}

try {
  const api = await startServer(here('../src/main.ts'), {
    DATA_DIR: join(work, 'data'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  });
  for (let i = 0; (await fetch(`${api}/readyz`)).status !== 200; i++) {
    if (i > 200) throw new Error('api did not become ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const user = DEFAULTS.users.alice.upn;
  const token = await fake.mintAccessToken({ user, scopes: ['data.read'] });
  const auth = { authorization: `Bearer ${token}` };
  await fetch(`${api}/data/write`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await fake.mintAccessToken({ user, scopes: ['data.write'] })}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ text: 'bench' }),
  });
  // The baselines answer the body the API answers, so that only the work per request differs.
  const body = await (await fetch(`${api}/data/read`, { headers: auth })).text();
  const plain = await startServer(here('servers/plain-koa.mjs'), { BENCH_BODY: body });
  // Only the servers of the selected scenarios are started.
  const startIf = (name: string, script: string, env: Record<string, string>) =>
    selected.has(name) ? startServer(here(script), env) : Promise.resolve('');
  const kit = await startIf('kit', 'servers/koa-kit.ts', { BENCH_BODY: body, LOG_LEVEL: 'info' });
  const kitQuiet = await startIf('kit-quiet', 'servers/koa-kit.ts', {
    BENCH_BODY: body,
    LOG_LEVEL: 'warn',
  });
  const jose = await startIf('jose', 'servers/koa-jose.mjs', { BENCH_BODY: body });
  const auth0 = await startIf('auth0', 'servers/express-auth0.mjs', { BENCH_BODY: body });

  const perB = Math.ceil(bSeconds * 15_000);
  const tokenFiles: string[] = [];
  const tokenLists: string[][] = [];
  const bRuns = selected.has('B') ? rounds * tools.length : 0;
  if (bRuns > 0) process.stderr.write(`minting ${perB * bRuns} distinct tokens for B...\n`);
  for (let i = 0; i < bRuns; i++) {
    const list: string[] = [];
    for (let j = 0; j < perB; j++)
      list.push(await fake.mintAccessToken({ user, scopes: ['data.read'] }));
    tokenLists.push(list);
    const file = join(work, `tokens-${i}.txt`);
    writeFileSync(file, list.join('\n') + '\n');
    tokenFiles.push(file);
  }

  // Every scenario but plain-bare and B sends A's request: the token's header costs Node's HTTP
  // parser the same in each, and the ratios compare only what the servers do with a request.
  const row = (
    name: ScenarioName,
    label: string,
    url: string,
    headers: Record<string, string>,
  ) => ({
    name,
    label,
    url,
    headers,
  });
  const allScenarios = [
    row('plain', 'plain Koa route (baseline)', `${plain}/data/read`, auth),
    row('plain-bare', 'the same, no Authorization header', `${plain}/data/read`, {}),
    row('kit', 'plain Koa + kit requestContext', `${kit}/data/read`, auth),
    row('kit-quiet', 'the same, no access line (warn)', `${kitQuiet}/data/read`, auth),
    row('healthz', 'API GET /healthz (token not read)', `${api}/healthz`, auth),
    row('A', 'API GET /data/read, one token', `${api}/data/read`, auth),
    row('jose', 'naive Koa + jose, one token', `${jose}/data/read`, auth),
    row('auth0', 'Express + express-oauth2-jwt-bearer', `${auth0}/data/read`, auth),
    row('B', 'API GET /data/read, distinct tokens', `${api}/data/read`, {}),
  ];
  const scenarios = allScenarios.filter((s) => selected.has(s.name));

  // Warm every server (JIT, key caches) before anything is measured.
  for (const s of scenarios) if (s.name !== 'B') await cannon(s.url, 2, s.headers);

  let used = 0;
  for (const tool of tools) {
    const results = new Map<string, Figures[]>(scenarios.map((s) => [s.name, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const s of scenarios) {
        let f: Figures;
        const pid = pidOf.get(new URL(s.url).origin);
        const cpuBefore = cpuSeconds(pid);
        const startedAt = performance.now();
        if (s.name === 'B') {
          const i = used++;
          process.env.BENCH_TOKENS_FILE = tokenFiles[i];
          f =
            tool === 'wrk'
              ? wrk(s.url, bSeconds, {}, here('servers/distinct-tokens.lua'))
              : await cannon(s.url, bSeconds, {}, tokenLists[i]);
          if (f.requests > perB)
            process.stderr.write(`note: B sent ${f.requests} requests with ${perB} tokens\n`);
        } else {
          f =
            tool === 'wrk'
              ? wrk(s.url, seconds, s.headers)
              : await cannon(s.url, seconds, s.headers);
        }
        const cpu = cpuSeconds(pid) - cpuBefore;
        f.cpuUs = (cpu * 1e6) / f.requests;
        f.cpuPercent = (100 * cpu) / ((performance.now() - startedAt) / 1000);
        process.stderr.write(`${tool} round ${round} ${s.name}: ${f.rps.toFixed(0)} req/s\n`);
        results.get(s.name)!.push(f);
      }
    }
    const median = (xs: number[]) =>
      xs.length === 0 ? NaN : ([...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] as number);
    const runsOf = (name: string) => results.get(name) ?? [];
    const base = median(results.get('plain')!.map((f) => f.rps));
    // Each run against the plain run of its own round: the machine's speed drifts over minutes.
    const plainRuns = results.get('plain')!;
    const paired = (name: string) =>
      median(runsOf(name).map((f, round) => f.rps / (plainRuns[round] as Figures).rps));
    console.log(
      `\n${tool}: ${connections} connections, ${rounds} interleaved rounds, ${seconds} s per run (B ${bSeconds} s); Node ${process.version}; ${new Date().toISOString()}`,
    );
    const cpuOf = (name: string) => median(runsOf(name).map((f) => f.cpuUs ?? NaN));
    const cell = (x: number, width: number, digits = 2) =>
      (Number.isNaN(x) ? '-' : x.toFixed(digits)).padStart(width);
    console.log(
      'scenario                                        req/s   ratio  paired   p50 ms   p99 ms   non-2xx   cpu µs/req  cpu %   per round',
    );
    for (const s of scenarios) {
      const fs = results.get(s.name)!;
      const rps = median(fs.map((f) => f.rps));
      console.log(
        [
          `${s.name.padEnd(10)} ${s.label}`.padEnd(46),
          cell(rps, 7, 0),
          cell(rps / base, 7),
          cell(paired(s.name), 7),
          cell(median(fs.map((f) => f.p50)), 8),
          cell(median(fs.map((f) => f.p99)), 8),
          String(fs.reduce((n, f) => n + f.non2xx, 0)).padStart(9),
          cell(cpuOf(s.name), 12, 1),
          cell(median(fs.map((f) => f.cpuPercent ?? NaN)), 6, 0),
          `  ${fs.map((f) => f.rps.toFixed(0)).join('/')}`,
        ].join(' '),
      );
    }
    const ratio = (x: number) => cell(x, 0);
    console.log(
      `A/plain = ${ratio(paired('A'))} paired (target >= 0.85); kit/plain = ${ratio(paired('kit'))} paired (the ceiling of A here; ${ratio(paired('kit-quiet'))} without the access line); plain-bare/plain = ${ratio(paired('plain-bare'))} (the token's header); p99 of A = ${ratio(median(runsOf('A').map((f) => f.p99)))} ms (target <= 5 ms)`,
    );
    // A server near 100 % of a core is the bottleneck, and then req/s ratios are CPU ratios.
    const us = (name: string) => `${name} ${cell(cpuOf(name), 0, 1)} µs`;
    console.log(
      `server CPU per request: ${['plain', 'plain-bare', 'kit', 'kit-quiet', 'A'].map(us).join(', ')} (plain/A = ${ratio(cpuOf('plain') / cpuOf('A'))})`,
    );
  }
  console.log(
    `\nJWKS fetches at the issuer during the whole benchmark: ${fake.requestCounts().jwks} (one per server at start)`,
  );
} finally {
  // Each child is waited for, so that none is left running (or writing into `work`) after this.
  const exits = children.map((child) =>
    child.exitCode !== null || child.signalCode !== null ? undefined : once(child, 'exit'),
  );
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(exits);
  await fake.close();
  rmSync(work, { recursive: true, force: true });
}
