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
import type { Browser } from 'playwright-core';
import { chromium, chromiumPath, describeWith, docker as dockerEngine } from '../support/prerequisites.ts';
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

const images = {
  fakeEntra: { tag: 'koa-entra/fake-entra:test', dockerfile: 'test-harness/Dockerfile' },
  api: { tag: 'koa-entra/api:test', dockerfile: 'Dockerfile.api' },
  client: { tag: 'koa-entra/client:test', dockerfile: 'Dockerfile.client' },
} as const;

const suffix = randomBytes(4).toString('hex');
const caVolume = `koa-entra-test-ca-${suffix}`;
const dataVolume = `koa-entra-test-data-${suffix}`;

describeWith([dockerEngine, chromium], 'container images', () => {
  let network: StartedNetwork;
  let fake: StartedTestContainer;
  let api: StartedTestContainer;
  let client: StartedTestContainer;
  let browser: Browser | undefined;
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
        { source: caVolume, target: '/etc/fake-entra', mode: 'ro' },
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
      await GenericContainer.fromDockerfile(repoRoot, dockerfile).withBuildkit().build(tag, { deleteOnExit: false });
      console.log(`built ${tag} (BuildKit) in ${Math.round((Date.now() - t0) / 1000)} s, ${await imageSizeMb(tag)} MB`);
    }
    network = await new Network().start();
    [fakePort, clientPort] = [await freePort(), await freePort()];

    fake = await new HardenedContainer(images.fakeEntra.tag)
      .withNetwork(network)
      .withNetworkAliases('fake-entra')
      .withCommand([
        '--port', '5050',
        '--config', 'config/default.json',
        '--ca-dir', '/var/lib/fake-entra',
        '--issuer-url', 'https://fake-entra:5050',
        '--public-url', `http://localhost:${fakePort}`,
        '--tls-hostnames', 'fake-entra',
      ])
      .withBindMounts([{ source: caVolume, target: '/var/lib/fake-entra', mode: 'rw' }])
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
        GRAPH_BASE_URL: 'https://fake-entra:5050',
        NODE_EXTRA_CA_CERTS: '/etc/fake-entra/ca.pem',
      })
      .withBindMounts([{ source: caVolume, target: '/etc/fake-entra', mode: 'ro' }])
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
    await docker(['volume', 'rm', '-f', caVolume, dataVolume]).catch(() => undefined);
  }, 120_000);

  test('every container runs as the unprivileged node user, with a read-only root filesystem, and is healthy', async () => {
    for (const container of [fake, api, client]) {
      const state = await inspectContainer(container.getId());
      expect(state).toMatchObject({ running: true, health: 'healthy', readOnly: true });
      const uid = await container.exec(['node', '-e', 'process.stdout.write(String(process.getuid()))']);
      expect(uid.output.trim()).toBe('1000');
      const write = await container.exec(['node', '-e', "require('node:fs').writeFileSync('/app/probe', 'x')"]);
      expect(write.exitCode).not.toBe(0);
      expect(write.output).toMatch(/EROFS|read-only/);
    }
  });

  test('images declare NODE_ENV=production, the node user and a health check, and carry no dev dependencies or tests', async () => {
    for (const { tag } of Object.values(images)) {
      const { stdout } = await docker(['image', 'inspect', '--format', '{{json .Config}}', tag]);
      const config = JSON.parse(stdout) as { User: string; Env: string[]; Healthcheck?: { Test: string[] } };
      expect(config.User).toBe('node');
      expect(config.Env).toContain('NODE_ENV=production');
      expect(config.Healthcheck?.Test).toEqual(expect.arrayContaining(['CMD', 'node']));
    }
    const probe = "const fs=require('node:fs');process.stdout.write(JSON.stringify(['/app/node_modules/typescript','/app/node_modules/jest','/app/services/api/src','/app/services/api/test','/app/.git','/app/.env'].filter(p=>fs.existsSync(p))))";
    const { output } = await api.exec(['node', '-e', probe]);
    expect(JSON.parse(output)).toEqual([]);
  });

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
  });

  test('the API container accepts tokens issued by the fake issuer container (over TLS by service name)', async () => {
    const alice = await userToken(fakeHttp(), 'alice@contoso.test', redirectUri());
    const text = `from the container suite ${suffix}`;
    const written = await fetch(apiUrl('/data/write'), {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    expect(written.status).toBe(201);
    const read = await fetch(apiUrl('/data/read'), { headers: { authorization: `Bearer ${alice}` } });
    expect(read.status).toBe(200);
    expect(JSON.stringify(await read.json())).toContain(text);

    const daemon = await daemonToken(fakeHttp());
    const daemonRead = await fetch(apiUrl('/data/read'), { headers: { authorization: `Bearer ${daemon}` } });
    expect(daemonRead.status).toBe(200);
  });

  test('the API container answers RFC 6750 errors', async () => {
    const none = await fetch(apiUrl('/data/read'));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="api"$/);

    const alice = await userToken(fakeHttp(), 'alice@contoso.test', redirectUri());
    const [header, payload, signature] = alice.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const tampered = [header, Buffer.from(JSON.stringify({ ...claims, scp: 'data.read data.write admin' })).toString('base64url'), signature].join('.');
    const bad = await fetch(apiUrl('/data/read'), { headers: { authorization: `Bearer ${tampered}` } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/);

    const bob = await userToken(fakeHttp(), 'bob@contoso.test', redirectUri());
    const forbidden = await fetch(apiUrl('/data/write'), {
      method: 'POST',
      headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'bob may not write' }),
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    expect(forbidden.headers.get('www-authenticate')).toMatch(/scope="data\.write"/);

    const inQuery = await fetch(apiUrl(`/data/read?access_token=${alice}`), { headers: { authorization: `Bearer ${alice}` } });
    expect(inQuery.status).toBe(400);
    expect(inQuery.headers.get('www-authenticate')).toMatch(/error="invalid_request"/);
  });

  test('a user signs in through the containers in the browser, then writes and reads protected data', async () => {
    browser = await playwright.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    const page = await browser.newPage();
    await signIn(page, webApp(), 'alice@contoso.test');
    await writeAndRead(page, webApp(), `written in the browser ${suffix}`);
    await page.close();
  }, 120_000);

  test('on SIGTERM the API finishes the request in flight and stops within 10 s; its data survives a new container on the same volume', async () => {
    const alice = await userToken(fakeHttp(), 'alice@contoso.test', redirectUri());
    const text = `in flight during SIGTERM ${suffix}`;
    const body = JSON.stringify({ text });
    const port = api.getMappedPort(8000);

    // Headers and half the body now; SIGTERM; the rest of the body a second later.
    let received: ((r: { status: number; body: string }) => void) | undefined;
    let failed: ((e: Error) => void) | undefined;
    const response = new Promise<{ status: number; body: string }>((ok, fail) => ((received = ok), (failed = fail)));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/data/write',
        headers: {
          authorization: `Bearer ${alice}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (data += chunk));
        res.on('end', () => received?.({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', (error) => failed?.(error));
    req.write(body.slice(0, 10));
    await sleep(500);
    const signalledAt = Date.now();
    await docker(['kill', '--signal', 'SIGTERM', api.getId()]);
    await sleep(1000);
    req.end(body.slice(10));

    const answer = await response;
    expect(answer.status).toBe(201);
    expect(answer.body).toContain(text);

    const exited = await waitFor(
      'the API container to exit',
      async () => {
        const state = await inspectContainer(api.getId());
        return state.running ? undefined : state;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(exited.exitCode).toBe(0);

    // A fresh container on the same named volume serves what the old one stored.
    await api.stop({ remove: true, removeVolumes: false }).catch(() => undefined);
    api = await startApi();
    const read = await fetch(apiUrl('/data/read'), { headers: { authorization: `Bearer ${alice}` } });
    expect(read.status).toBe(200);
    expect(JSON.stringify(await read.json())).toContain(text);
  }, 120_000);

  test('the web app and the fake issuer also stop cleanly within 10 s of SIGTERM, idle keep-alive connections open', async () => {
    for (const [container, port] of [
      [client, clientPort],
      [fake, fakePort],
    ] as const) {
      // An idle keep-alive connection must not hold the process open.
      const agent = new Agent({ keepAlive: true });
      await new Promise<void>((ok, fail) =>
        get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => res.resume().on('end', ok)).on('error', fail),
      );
      const signalledAt = Date.now();
      await docker(['kill', '--signal', 'SIGTERM', container.getId()]);
      const exited = await waitFor(
        `container ${container.getName()} to exit`,
        async () => {
          const state = await inspectContainer(container.getId());
          return state.running ? undefined : state;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      agent.destroy();
      expect({ name: container.getName(), exitCode: exited.exitCode }).toEqual({ name: container.getName(), exitCode: 0 });
      expect(Date.now() - signalledAt).toBeLessThan(10_000);
    }
  }, 60_000);
});
