// packages/fake-entra/examples/koa-api run as its README says (a Node process configured by
// env), against the real fake issuer: what the packaging check in CI expects of it.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ALICE, API_ID, BOB, FakeEntra, TENANT } from './support/fake.ts';

jest.setTimeout(30_000);

const server = fileURLToPath(
  new URL('../../fake-entra/examples/koa-api/server.mjs', import.meta.url),
);

let fake: FakeEntra;
let child: ChildProcess;
let url: string;

beforeAll(async () => {
  fake = await FakeEntra.start();
  child = spawn(process.execPath, [server], {
    env: {
      ...process.env,
      AUTHORITY: fake.baseUrl,
      TENANT_ID: TENANT,
      AUDIENCE: `${API_ID},api://${API_ID}`,
      PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1] as string);
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`example exited (${code}):\n${output}`)));
  });
});

afterAll(async () => {
  if (child?.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  await fake?.close();
});

const hello = (token?: string) =>
  fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('examples/koa-api', () => {
  test('a valid token with the scope: 200 and the caller', async () => {
    const r = await hello(await fake.mintAccessToken({ user: ALICE, scopes: ['data.read'] }));
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ scopes: ['data.read'] });
  });

  test('wrong audience: 401 invalid_token', async () => {
    const r = await hello(await fake.mintBrokenToken('wrong-audience', { user: ALICE }));
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="api", error="invalid_token", error_description="The token is not meant for this API \(aud\)"$/,
    );
  });

  test('missing scope: 403 insufficient_scope', async () => {
    const r = await hello(await fake.mintAccessToken({ user: BOB, scopes: ['data.write'] }));
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toContain(
      'error="insufficient_scope", error_description="The token does not grant data.read", scope="data.read"',
    );
  });

  test('no token: 401 with a bare challenge', async () => {
    const r = await hello();
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer realm="api"');
  });
});
