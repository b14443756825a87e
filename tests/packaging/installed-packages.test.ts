// The packages as their users get them: @koa-entra/bearer and @koa-entra/fake-entra built,
// packed with `npm pack`, installed from the tarballs into an empty directory outside the
// repository, and used there without anything of the repository: the `fake-entra` bin from
// the install, and the Koa example app (examples/koa-api/server.mjs, ~20 lines) protecting a
// route with entraBearer + requireScopes.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '@koa-entra/fake-entra';

const run = promisify(execFile);
const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
// Nothing of the repository's test set-up may leak into the installed world: no source
// condition, no development CA.
const { NODE_OPTIONS: _options, NODE_EXTRA_CA_CERTS: _ca, ...cleanEnv } = process.env;

let dir: string;
const children: ChildProcess[] = [];

/** Starts a process of the installed directory; resolves with its first output line matching `ready`. */
function start(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<RegExpExecArray> {
  const child = spawn(args[0]!, args.slice(1), {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')} did not start:\n${output}`)),
      20_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}:\n${output}`)));
  });
}

let issuer: string;
let app: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'koa-entra-installed-'));
  const packs = join(dir, 'packs');
  mkdirSync(packs);
  await run('npm', ['run', 'build', '-w', 'packages/bearer', '-w', 'packages/fake-entra'], {
    cwd: repoRoot,
    env: cleanEnv,
  });
  await run(
    'npm',
    ['pack', '-w', 'packages/bearer', '-w', 'packages/fake-entra', '--pack-destination', packs],
    { cwd: repoRoot, env: cleanEnv },
  );
  const tarballs = readdirSync(packs);
  const bearer = tarballs.find((f) => f.startsWith('koa-entra-bearer-'));
  const fake = tarballs.find((f) => f.startsWith('koa-entra-fake-entra-'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'installed-check',
      private: true,
      type: 'module',
      dependencies: {
        koa: '^3.0.0',
        '@koa-entra/bearer': `file:packs/${bearer}`,
        '@koa-entra/fake-entra': `file:packs/${fake}`,
      },
    }),
  );
  copyFileSync(
    join(repoRoot, 'packages/fake-entra/examples/koa-api/server.mjs'),
    join(dir, 'server.mjs'),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: dir,
    env: cleanEnv,
  });

  const [, port] = await start(
    [
      join(dir, 'node_modules/.bin/fake-entra'),
      '--port',
      '0',
      '--enable-harness',
      '--ca-dir',
      join(dir, 'ca'),
    ],
    cleanEnv,
    /listening on port (\d+)/,
  );
  issuer = `https://localhost:${port}`;
  const [, url] = await start(
    [process.execPath, 'server.mjs'],
    {
      ...cleanEnv,
      NODE_EXTRA_CA_CERTS: join(dir, 'ca/ca.pem'),
      AUTHORITY: issuer,
      TENANT_ID: DEFAULTS.tenantId,
      AUDIENCE: `${DEFAULTS.apiClientId},${DEFAULTS.apiIdentifier}`,
      SCOPE: 'data.read',
      PORT: '0',
    },
    /listening on (http:\/\/\S+)/,
  );
  app = url!;
}, 240_000);

afterAll(() => {
  for (const child of children) child.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A token from the installed fake's minting endpoint (the test process trusts its CA only here). */
async function mint(body: Record<string, unknown>): Promise<string> {
  const { stdout } = await run('curl', [
    '-sf',
    '--cacert',
    join(dir, 'ca/ca.pem'),
    `${issuer}/_harness/tokens`,
    '-H',
    'content-type: application/json',
    '-d',
    JSON.stringify(body),
  ]);
  return (JSON.parse(stdout) as { access_token: string }).access_token;
}

async function hello(token?: string) {
  const res = await fetch(app, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate'),
    body: await res.text(),
  };
}

describe('@koa-entra/bearer and @koa-entra/fake-entra installed from their tarballs', () => {
  test('a valid token with the scope: 200 with the caller', async () => {
    const res = await hello(await mint({ scopes: ['data.read'] }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      hello: DEFAULTS.users.alice.oid,
      scopes: ['data.read'],
    });
  });

  test('a token for another audience: 401 invalid_token', async () => {
    const res = await hello(await mint({ kind: 'wrong-audience' }));
    expect(res.status).toBe(401);
    expect(res.challenge).toMatch(
      /^Bearer realm="api", error="invalid_token", error_description="[^"]*\(aud\)"$/,
    );
  });

  test('a token without the scope: 403 insufficient_scope naming it', async () => {
    const res = await hello(await mint({ user: DEFAULTS.users.bob.upn, scopes: ['data.write'] }));
    expect(res.status).toBe(403);
    expect(res.challenge).toMatch(/error="insufficient_scope"/);
    expect(res.challenge).toMatch(/scope="data\.read"$/);
  });

  test('no token: 401 with a bare challenge', async () => {
    const res = await hello();
    expect(res.status).toBe(401);
    expect(res.challenge).toBe('Bearer realm="api"');
  });
});
