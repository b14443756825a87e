// The three images, built with BuildKit (the compose suite builds them with the classic
// builder), run together on one Docker network the way a deployment runs them: hardened
// (read-only root filesystem, no capabilities), talking over TLS to the fake issuer by its
// service name, reached by the browser on localhost.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { Agent, get, request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { GenericContainer, Network, Wait } from 'testcontainers';
import type { StartedNetwork, StartedTestContainer } from 'testcontainers';
import { chromium as playwright } from 'playwright-core';
import type { Browser, BrowserContext } from 'playwright-core';
import {
  chromium,
  chromiumPath,
  describeWith,
  docker as dockerEngine,
} from '../support/prerequisites.ts';
import {
  daemonToken,
  docker,
  freePort,
  ids,
  imageSizeMb,
  inspectContainer,
  repoRoot,
  signIn,
  sleep,
  userToken,
  waitFor,
  writeAndRead,
} from './support.ts';

// No Ryuk: it is pulled from a registry, and this suite removes what it starts itself.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

/** GenericContainer with the hardening compose applies: read-only root fs, no capabilities. */
class HardenedContainer extends GenericContainer {
  constructor(image: string) {
    super(image);
    this.hostConfig.ReadonlyRootfs = true;
    this.withTmpFs({ '/tmp': 'rw,noexec,nosuid' })
      .withDroppedCapabilities('ALL')
      .withSecurityOpt('no-new-privileges:true')
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(120_000);
  }
}

/**
 * Sends the headers and the first bytes of a request body, runs `meanwhile` (e.g. SIGTERM to
 * the server), then the rest of the body a second later; resolves with the response.
 */
async function slowRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
  meanwhile: () => Promise<void>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  let received:
    ((r: { status: number; headers: Record<string, unknown>; body: string }) => void) | undefined;
  let failed: ((e: Error) => void) | undefined;
  const response = new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (ok, fail) => ((received = ok), (failed = fail)),
  );
  const req = request(
    {
      host: '127.0.0.1',
      port,
      method,
      path,
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
    },
    (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () =>
        received?.({ status: res.statusCode ?? 0, headers: res.headers, body: data }),
      );
    },
  );
  req.on('error', (error) => failed?.(error));
  req.write(body.slice(0, 10));
  await sleep(500);
  await meanwhile();
  await sleep(1000);
  req.end(body.slice(10));
  return response;
}

/** Sends SIGTERM; resolves with the exit code and how long the container took to exit. */
async function terminate(id: string): Promise<() => Promise<{ exitCode: number; ms: number }>> {
  const signalledAt = Date.now();
  await docker(['kill', '--signal', 'SIGTERM', id]);
  return async () => {
    const state = await waitFor(
      `container ${id.slice(0, 12)} to exit`,
      async () => {
        const s = await inspectContainer(id);
        return s.running ? undefined : s;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const ms = Date.now() - signalledAt;
    console.log(
      `container ${id.slice(0, 12)} exited with ${state.exitCode} ${ms} ms after SIGTERM`,
    );
    return { exitCode: state.exitCode, ms };
  };
}

const images = {
  fakeEntra: { tag: 'koa-entra/fake-entra:test', dockerfile: 'packages/fake-entra/Dockerfile' },
  api: { tag: 'koa-entra/api:test', dockerfile: 'Dockerfile.api' },
  client: { tag: 'koa-entra/client:test', dockerfile: 'Dockerfile.client' },
} as const;

const suffix = randomBytes(4).toString('hex');
const caVolume = `koa-entra-test-ca-${suffix}`;
// The services mount only the published CA certificate, never the volume with its key.
const trustVolume = `koa-entra-test-trust-${suffix}`;
const dataVolume = `koa-entra-test-data-${suffix}`;

describeWith([dockerEngine, chromium], 'container images', () => {
  let network: StartedNetwork;
  let fake: StartedTestContainer;
  let api: StartedTestContainer;
  let client: StartedTestContainer;
  let browser: Browser | undefined;
  let signedIn: BrowserContext | undefined;
  let fakePort: number;
  let clientPort: number;
  const started: StartedTestContainer[] = [];

  const fakeHttp = () => `http://localhost:${fakePort}`;
  const apiUrl = (path: string) => `http://localhost:${api.getMappedPort(8000)}${path}`;
  const webApp = () => `http://localhost:${clientPort}`;
  const redirectUri = () => `${webApp()}/auth/redirect`;

  const startApi = async () => {
    const container = await new HardenedContainer(images.api.tag)
      .withNetwork(network)
      .withNetworkAliases('api')
      .withEnvironment({
        TENANT_ID: ids.tenantId,
        API_CLIENT_ID: ids.apiClientId,
        AUTHORITY: 'https://fake-entra:5050',
        NODE_EXTRA_CA_CERTS: '/etc/fake-entra/ca.pem',
      })
      .withBindMounts([
        { source: trustVolume, target: '/etc/fake-entra', mode: 'ro' },
        { source: dataVolume, target: '/data', mode: 'rw' },
      ])
      .withExposedPorts(8000)
      .start();
    started.push(container);
    return container;
  };

  beforeAll(async () => {
    // Sequential: two cores; the first build fills the layer cache the others share.
    for (const { tag, dockerfile } of Object.values(images)) {
      const t0 = Date.now();
      await GenericContainer.fromDockerfile(repoRoot, dockerfile)
        .withBuildkit()
        .build(tag, { deleteOnExit: false });
      console.log(
        `built ${tag} (BuildKit) in ${Math.round((Date.now() - t0) / 1000)} s, ${await imageSizeMb(tag)} MB`,
      );
    }
    network = await new Network().start();
    [fakePort, clientPort] = [await freePort(), await freePort()];

    fake = await new HardenedContainer(images.fakeEntra.tag)
      .withNetwork(network)
      .withNetworkAliases('fake-entra')
      .withCommand([
        '--port',
        '5050',
        '--config',
        'config/default.json',
        '--ca-dir',
        '/var/lib/fake-entra',
        '--issuer-url',
        'https://fake-entra:5050',
        '--public-url',
        `http://localhost:${fakePort}`,
        '--tls-hostnames',
        'fake-entra',
        '--ca-cert-out',
        '/var/lib/fake-entra-trust/ca.pem',
        // Test-only: issuer sessions without the sign-in page (userToken).
        '--enable-harness',
      ])
      .withBindMounts([
        { source: caVolume, target: '/var/lib/fake-entra', mode: 'rw' },
        { source: trustVolume, target: '/var/lib/fake-entra-trust', mode: 'rw' },
      ])
      .withExposedPorts({ container: 5050, host: fakePort })
      .start();
    started.push(fake);

    api = await startApi();

    client = await new HardenedContainer(images.client.tag)
      .withNetwork(network)
      .withNetworkAliases('client')
      .withEnvironment({
        TENANT_ID: ids.tenantId,
        CLIENT_ID: ids.webClientId,
        CLIENT_SECRET: ids.webClientSecret,
        SESSION_KEYS: randomBytes(32).toString('hex'),
        AUTHORITY: 'https://fake-entra:5050',
        REDIRECT_URI: redirectUri(),
        API_BASE_URL: 'http://api:8000',
        API_SCOPES: ids.apiScopes.join(' '),
        GRAPH_BASE_URL: 'https://fake-entra:5050',
        NODE_EXTRA_CA_CERTS: '/etc/fake-entra/ca.pem',
      })
      .withBindMounts([{ source: trustVolume, target: '/etc/fake-entra', mode: 'ro' }])
      .withExposedPorts({ container: 5001, host: clientPort })
      .start();
    started.push(client);
  }, 20 * 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const container of started.reverse()) {
      await container.stop({ timeout: 10_000, removeVolumes: true }).catch(() => undefined);
    }
    await network?.stop().catch(() => undefined);
    await docker(['volume', 'rm', '-f', caVolume, trustVolume, dataVolume]).catch(() => undefined);
  }, 120_000);

  test('every container runs as the unprivileged node user, with a read-only root filesystem, and is healthy', async () => {
    for (const container of [fake, api, client]) {
      const state = await inspectContainer(container.getId());
      expect(state).toMatchObject({ running: true, health: 'healthy', readOnly: true });
      const uid = await container.exec([
        'node',
        '-e',
        'process.stdout.write(String(process.getuid()))',
      ]);
      expect(uid.output.trim()).toBe('1000');
      const write = await container.exec([
        'node',
        '-e',
        "require('node:fs').writeFileSync('/app/probe', 'x')",
      ]);
      expect(write.exitCode).not.toBe(0);
      expect(write.output).toMatch(/EROFS|read-only/);
    }
  }, 30_000);

  test("the services see the fake issuer's CA certificate but not its private key", async () => {
    const list =
      "process.stdout.write(JSON.stringify(require('node:fs').readdirSync('/etc/fake-entra')))";
    for (const container of [api, client]) {
      const { output } = await container.exec(['node', '-e', list]);
      expect(JSON.parse(output)).toEqual(['ca.pem']);
    }
  }, 30_000);

  test('images declare NODE_ENV=production, the node user and a health check, and carry no dev dependencies or tests', async () => {
    for (const { tag } of Object.values(images)) {
      const { stdout } = await docker(['image', 'inspect', '--format', '{{json .Config}}', tag]);
      const config = JSON.parse(stdout) as {
        User: string;
        Env: string[];
        Healthcheck?: { Test: string[] };
      };
      expect(config.User).toBe('node');
      expect(config.Env).toContain('NODE_ENV=production');
      expect(config.Healthcheck?.Test).toEqual(expect.arrayContaining(['CMD', 'node']));
    }
    const probe =
      "const fs=require('node:fs');process.stdout.write(JSON.stringify(['/app/node_modules/typescript','/app/node_modules/jest','/app/services/api/src','/app/services/api/test','/app/.git','/app/.env'].filter(p=>fs.existsSync(p))))";
    const { output } = await api.exec(['node', '-e', probe]);
    expect(JSON.parse(output)).toEqual([]);
  }, 30_000);

  test('health endpoints answer 200 on every container', async () => {
    const urls = [
      `${fakeHttp()}/healthz`,
      apiUrl('/healthz'),
      apiUrl('/readyz'),
      `${webApp()}/healthz`,
      `${webApp()}/readyz`,
    ];
    for (const url of urls) {
      const response = await fetch(url);
      expect({ url, status: response.status }).toEqual({ url, status: 200 });
    }
  }, 30_000);

  test('the API container accepts tokens issued by the fake issuer container (over TLS by service name)', async () => {
    const alice = await userToken(fakeHttp(), 'alice@contoso.test', redirectUri());
    const text = `from the container suite ${suffix}`;
    const written = await fetch(apiUrl('/data/write'), {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    expect(written.status).toBe(201);
    const read = await fetch(apiUrl('/data/read'), {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(read.status).toBe(200);
    expect(JSON.stringify(await read.json())).toContain(text);

    const daemon = await daemonToken(fakeHttp());
    const daemonRead = await fetch(apiUrl('/data/read'), {
      headers: { authorization: `Bearer ${daemon}` },
    });
    expect(daemonRead.status).toBe(200);
  }, 30_000);

  test('the API container answers RFC 6750 errors', async () => {
    const none = await fetch(apiUrl('/data/read'));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="api"$/);

    const alice = await userToken(fakeHttp(), 'alice@contoso.test', redirectUri());
    const [header, payload, signature] = alice.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const tampered = [
      header,
      Buffer.from(JSON.stringify({ ...claims, scp: 'data.read data.write admin' })).toString(
        'base64url',
      ),
      signature,
    ].join('.');
    const bad = await fetch(apiUrl('/data/read'), {
      headers: { authorization: `Bearer ${tampered}` },
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/,
    );

    const bob = await userToken(fakeHttp(), 'bob@contoso.test', redirectUri(), ['data.read']);
    const forbidden = await fetch(apiUrl('/data/write'), {
      method: 'POST',
      headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'bob may not write' }),
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    expect(forbidden.headers.get('www-authenticate')).toMatch(/scope="data\.write"/);

    const inQuery = await fetch(apiUrl(`/data/read?access_token=${alice}`), {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(inQuery.status).toBe(400);
    expect(inQuery.headers.get('www-authenticate')).toMatch(/error="invalid_request"/);
  }, 30_000);

  test('a user signs in through the containers in the browser, then writes and reads protected data', async () => {
    browser = await playwright.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    signedIn = await browser.newContext();
    const page = await signedIn.newPage();
    await signIn(page, webApp(), 'alice@contoso.test');
    await writeAndRead(page, webApp(), `written in the browser ${suffix}`);
  }, 120_000);

  test('on SIGTERM the API finishes the request in flight and stops within 10 s; its data survives a new container on the same volume', async () => {
    const alice = await userToken(fakeHttp(), 'alice@contoso.test', redirectUri());
    const text = `in flight during SIGTERM ${suffix}`;
    const body = JSON.stringify({ text });
    const port = api.getMappedPort(8000);

    // Headers and half the body now; SIGTERM; the rest of the body a second later.
    let exited: (() => Promise<{ exitCode: number; ms: number }>) | undefined;
    const answer = await slowRequest(
      port,
      'POST',
      '/data/write',
      { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body,
      async () => void (exited = await terminate(api.getId())),
    );
    expect(answer.status).toBe(201);
    expect(answer.body).toContain(text);
    const stop = await exited!();
    expect(stop.exitCode).toBe(0);
    expect(stop.ms).toBeLessThan(10_000);

    // A fresh container on the same named volume serves what the old one stored.
    await api.stop({ remove: true, removeVolumes: false }).catch(() => undefined);
    api = await startApi();
    const read = await fetch(apiUrl('/data/read'), {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(read.status).toBe(200);
    expect(JSON.stringify(await read.json())).toContain(text);
  }, 120_000);

  test('on SIGTERM the web app finishes a form post in flight (through the API) and stops within 10 s', async () => {
    const page = await signedIn!.newPage();
    await page.goto(`${webApp()}/items/new`);
    const form = page.locator('form[action="/items"]');
    const csrf = await form.locator('input[name=_csrf]').getAttribute('value');
    const key = await form.locator('input[name=key]').getAttribute('value');
    const cookie = (await signedIn!.cookies(webApp()))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    await page.close();
    const text = `form in flight during SIGTERM ${suffix}`;
    let exited: (() => Promise<{ exitCode: number; ms: number }>) | undefined;
    const answer = await slowRequest(
      clientPort,
      'POST',
      '/items',
      { cookie, origin: webApp(), 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ _csrf: csrf ?? '', key: key ?? '', text }).toString(),
      async () => void (exited = await terminate(client.getId())),
    );
    expect({ status: answer.status, location: answer.headers.location }).toEqual({
      status: 303,
      location: '/items',
    });
    const stop = await exited!();
    expect(stop).toEqual({ exitCode: 0, ms: expect.any(Number) });
    expect(stop.ms).toBeLessThan(10_000);

    const alice = await userToken(fakeHttp(), 'alice@contoso.test', redirectUri());
    const read = await fetch(apiUrl('/data/read'), {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(JSON.stringify(await read.json())).toContain(text);
  }, 60_000);

  test('the fake issuer stops within 10 s of SIGTERM with an idle keep-alive connection open', async () => {
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((ok, fail) =>
      get({ host: '127.0.0.1', port: fakePort, path: '/healthz', agent }, (res) =>
        res.resume().on('end', ok),
      ).on('error', fail),
    );
    const exited = await terminate(fake.getId());
    const stop = await exited();
    agent.destroy();
    expect(stop.exitCode).toBe(0);
    expect(stop.ms).toBeLessThan(10_000);
  }, 30_000);
});
