import { describe, expect, jest, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import { ServiceMetrics, createLogger, requestContext, serve } from '../src/index.ts';
import { LogCapture } from './support/log-capture.ts';

jest.setTimeout(30_000);

const MAIN = fileURLToPath(new URL('./fixtures/service-main.ts', import.meta.url));

/**
 * A Koa app with the kit's request context (which says Connection: close while stopping) whose
 * /slow answers when release() is called and /never does not answer.
 */
function slowApp(logger = createLogger({ service: 'test', level: 'silent' })) {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let stopping = false;
  const app = new Koa();
  app.use(
    requestContext({
      logger,
      metrics: new ServiceMetrics({ service: 'test', defaultMetrics: false }),
      isStopping: () => stopping,
    }),
  );
  app.use(async (ctx) => {
    if (ctx.path === '/slow') await released;
    if (ctx.path === '/never') await new Promise(() => {});
    ctx.body = ctx.path;
  });
  return {
    app,
    release,
    beginShutdown: () => {
      stopping = true;
    },
  };
}

/** GET over `agent` (keep-alive); resolves with status, Connection header and body. */
function get(url: string, agent?: Agent) {
  return new Promise<{ status: number; connection: string | undefined; body: string }>(
    (resolve, reject) => {
      const req = request(url, { agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('serve', () => {
  test('listens, logs its URL, bounds request and header times', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ service: 'test', level: 'info', destination: logs });
    const { app } = slowApp();
    const running = await serve(app, {
      port: 0,
      host: '127.0.0.1',
      logger,
      name: 'test app',
      shutdownTimeoutMs: 1000,
      listeningFields: { store: 'memory' },
    });
    try {
      expect(running.url).toBe(`http://127.0.0.1:${running.port}`);
      expect(logs.find({ msg: 'test app listening' })).toMatchObject([
        { url: running.url, store: 'memory', level: 'info', service: 'test' },
      ]);
      expect((await get(`${running.url}/hello`)).body).toBe('/hello');
      expect(running.server.requestTimeout).toBe(30_000);
      expect(running.server.headersTimeout).toBe(10_000);
    } finally {
      await running.close();
    }
    expect(logs.find({ msg: 'test app stopped' })).toHaveLength(1);
  });

  test('metrics on a port of their own: GET /metrics only; the app port does not serve them', async () => {
    const metrics = new ServiceMetrics({ service: 'test', defaultMetrics: false });
    const app = new Koa();
    app.use(
      requestContext({ logger: createLogger({ service: 'test', level: 'silent' }), metrics }),
    );
    app.use((ctx) => {
      if (ctx.path === '/hello') ctx.body = 'hello';
    });
    const logs = new LogCapture();
    const running = await serve(app, {
      port: 0,
      host: '127.0.0.1',
      logger: createLogger({ service: 'test', level: 'info', destination: logs }),
      name: 'test app',
      shutdownTimeoutMs: 1000,
      metrics: { port: 0, registry: metrics.registry },
    });
    const metricsUrl = running.metricsUrl as string;
    try {
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(new URL(metricsUrl).port).not.toBe(String(running.port));
      expect(logs.find({ msg: 'test app listening' })).toMatchObject([{ metricsUrl }]);
      await get(`${running.url}/hello`);
      expect((await get(`${running.url}/metrics`)).status).toBe(404);
      const scrape = await fetch(metricsUrl);
      expect(scrape.status).toBe(200);
      expect(scrape.headers.get('content-type')).toBe(metrics.registry.contentType);
      expect(await scrape.text()).toMatch(
        /^http_request_duration_seconds_count\{method="GET",route="unmatched",status="404",service="test"\} 1$/m,
      );
      expect((await fetch(metricsUrl.replace('/metrics', '/'))).status).toBe(404);
      expect((await fetch(metricsUrl, { method: 'POST' })).status).toBe(405);
    } finally {
      await running.close();
    }
    await expect(fetch(metricsUrl)).rejects.toThrow(); // closed with the app
  });

  test('an error after the response started (a failing body stream) is logged', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ service: 'test', level: 'info', destination: logs });
    const app = new Koa();
    app.silent = true;
    app.use((ctx) => {
      ctx.body = new Readable({
        read() {
          this.push('partial ');
          this.destroy(new Error('disk gone'));
        },
      });
    });
    const running = await serve(app, {
      port: 0,
      host: '127.0.0.1',
      logger,
      name: 'test app',
      shutdownTimeoutMs: 1000,
    });
    try {
      await get(`${running.url}/file`).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
      expect(logs.find({ msg: 'response failed after it started' })).toMatchObject([
        { level: 'warn', err: { message: 'disk gone' } },
      ]);
    } finally {
      await running.close();
    }
  });

  test('a port in use is refused with the reason', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(
        serve(new Koa(), {
          port,
          host: '127.0.0.1',
          logger: createLogger({ service: 't', level: 'silent' }),
          name: 't',
          shutdownTimeoutMs: 100,
        }),
      ).rejects.toThrow(`cannot listen on 127.0.0.1:${port} (listen EADDRINUSE`);
    } finally {
      blocker.close();
    }
  });

  test('draining close: no new connections, the request in flight finishes with Connection: close, idle keep-alive sockets close at once', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ service: 'test', level: 'info', destination: logs });
    const { app, release, beginShutdown } = slowApp();
    const order: string[] = [];
    const running = await serve(app, {
      port: 0,
      host: '127.0.0.1',
      logger,
      name: 'test app',
      shutdownTimeoutMs: 5000,
      beginShutdown: () => {
        beginShutdown();
        order.push('beginShutdown');
      },
      onClosed: async () => {
        order.push('onClosed');
      },
    });
    // Two keep-alive connections: one idle, one with a request in flight.
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    await get(`${running.url}/warm`, agent);
    const idleSockets = Object.values(agent.freeSockets).flat();
    expect(idleSockets).toHaveLength(1);
    const idleClosed = once(idleSockets[0]!, 'close');
    const inFlight = get(`${running.url}/slow`, new Agent({ keepAlive: true }));
    await new Promise((r) => setTimeout(r, 100));

    const closeStarted = Date.now();
    const closed = running.close();
    expect(order).toEqual(['beginShutdown']);
    await idleClosed; // closed at once, not after a keep-alive timeout
    expect(Date.now() - closeStarted).toBeLessThan(1000);
    await expect(get(`${running.url}/new`)).rejects.toThrow(/ECONNREFUSED/);

    release();
    const answer = await inFlight;
    expect(answer).toEqual({ status: 200, connection: 'close', body: '/slow' });
    await closed;
    expect(order).toEqual(['beginShutdown', 'onClosed']);
    expect(Date.now() - closeStarted).toBeLessThan(3000);
    expect(logs.find({ msg: 'test app stopped' })).toHaveLength(1);
    expect(
      logs.find({ msg: 'in-flight requests did not finish in time; closing connections' }),
    ).toEqual([]);
    agent.destroy();
  });

  test('requests still unfinished after shutdownTimeoutMs are cut', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ service: 'test', level: 'info', destination: logs });
    const { app } = slowApp();
    const running = await serve(app, {
      port: 0,
      host: '127.0.0.1',
      logger,
      name: 'test app',
      shutdownTimeoutMs: 300,
    });
    const stuck = get(`${running.url}/never`).catch((error: Error) => error);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await running.close();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
    expect(await stuck).toMatchObject({ code: 'ECONNRESET' }); // the connection was cut
    expect(
      logs.find({ msg: 'in-flight requests did not finish in time; closing connections' }),
    ).toMatchObject([{ level: 'warn', timeoutMs: 300 }]);
    // close() is idempotent
    await running.close();
  });
});

describe('runMain (a real process)', () => {
  function run(env: Record<string, string>) {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exit = once(child, 'exit').then(([code]) => code as number | null);
    const lines = () =>
      `${stdout}${stderr}`
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { child, exit, lines, stderr: () => stderr };
  }

  async function started(env: Record<string, string> = {}) {
    const p = run({ PORT: '0', GREETING: 'hello', ...env });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const line = p.lines().find((l) => l.msg === 'fixture service listening');
      if (line) return { ...p, url: line.url as string };
      if (p.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`did not start: ${JSON.stringify(p.lines())}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  test('a configuration error: one fatal JSON line naming every variable, exit 1', async () => {
    const p = run({ PORT: 'http', SHUTDOWN_TIMEOUT_MS: '99999' });
    expect(await p.exit).toBe(1);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      level: 'fatal',
      time: expect.any(String),
      service: 'fixture',
      variables: ['PORT', 'GREETING', 'SHUTDOWN_TIMEOUT_MS'],
      msg:
        'invalid configuration: PORT: must be a whole number from 0 to 65535; ' +
        'GREETING: is required (what / answers); SHUTDOWN_TIMEOUT_MS: must be at most 9000',
    });
  });

  test('a start failure: one fatal line with the reason, exit 1', async () => {
    const p = run({ PORT: '0', GREETING: 'x', FIXTURE_MODE: 'fail-start' });
    expect(await p.exit).toBe(1);
    expect(p.lines()).toMatchObject([
      {
        level: 'fatal',
        service: 'fixture',
        msg: 'fixture service failed to start',
        err: { message: 'the store is locked' },
      },
    ]);
  });

  test.each(['SIGTERM', 'SIGINT'] as const)('%s: graceful close, exit 0', async (signal) => {
    const p = await started();
    expect(await (await fetch(p.url)).text()).toBe('hello');
    p.child.kill(signal);
    expect(await p.exit).toBe(0);
    expect(p.lines().map((l) => l.msg)).toEqual(
      expect.arrayContaining(['shutting down', 'fixture service stopped']),
    );
    expect(p.lines().find((l) => l.msg === 'shutting down')).toMatchObject({ signal });
  });

  test('a close that never finishes: hard exit 1 after hardExitMs', async () => {
    const p = await started({ FIXTURE_MODE: 'hang-close' });
    const signalled = Date.now();
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(1);
    const elapsed = Date.now() - signalled;
    expect(elapsed).toBeGreaterThanOrEqual(790);
    expect(elapsed).toBeLessThan(5000);
    expect(p.lines().find((l) => l.msg === 'shutdown took too long; exiting')).toMatchObject({
      level: 'fatal',
      hardExitMs: 800,
    });
  });
});
