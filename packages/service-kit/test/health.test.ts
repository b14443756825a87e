import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Counter } from 'prom-client';
import { healthRoutes, type ReadinessReport } from '../src/index.ts';
import { startApp, type TestApp } from './support/app.ts';

let storeUp = true;
let stopping = false;
let app: TestApp;
let custom: TestApp;
beforeAll(async () => {
  app = await startApp((router, metrics, logger) => {
    healthRoutes({
      router,
      registry: metrics.registry,
      readiness: {
        logger,
        timeoutMs: 200,
        isStopping: () => stopping,
        checks: {
          store: async () => {
            if (!storeUp) throw new Error('connection refused');
            return 'ok (memory)';
          },
          keys: () => undefined,
          slow: () => new Promise((resolve) => setTimeout(resolve, storeUp ? 0 : 1000)),
        },
      },
    });
  });
  custom = await startApp((router, metrics) => {
    healthRoutes({
      router,
      registry: metrics.registry,
      readiness: {
        checks: { store: () => undefined },
        isStopping: () => stopping,
        body: (report: ReadinessReport) =>
          report.ready
            ? { status: 'ready', store: 'memory' }
            : { status: 'not ready', reason: 'shutting down' },
      },
    });
  });
});
afterAll(async () => {
  await app?.close();
  await custom?.close();
});

async function get(base: TestApp, path: string) {
  const response = await fetch(`${base.url}${path}`);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

test('/healthz: the process answers, nothing external is asked', async () => {
  storeUp = false;
  try {
    const answer = await get(app, '/healthz');
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('{"status":"ok"}');
    expect(answer.headers.get('cache-control')).toBe('no-store');
  } finally {
    storeUp = true;
  }
});

describe('/readyz', () => {
  test('ready: every named check passes (a check may name a detail)', async () => {
    const answer = await get(app, '/readyz');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({
      status: 'ready',
      checks: { store: 'ok (memory)', keys: 'ok', slow: 'ok' },
    });
  });

  test('not ready: the body names the failing checks, the log says why (once per change); a check that hangs fails at the timeout', async () => {
    storeUp = false;
    try {
      const started = Date.now();
      const answer = await get(app, '/readyz');
      expect(Date.now() - started).toBeLessThan(900);
      expect(answer.status).toBe(503);
      // Reasons can name internal hosts and resolver errors: never in a body anyone may fetch.
      expect(JSON.parse(answer.text)).toEqual({
        status: 'not ready',
        checks: { store: 'unavailable', keys: 'ok', slow: 'unavailable' },
      });
      await get(app, '/readyz');
      expect(app.logs.find({ msg: 'not ready' })).toMatchObject([
        {
          level: 'warn',
          checks: { store: 'connection refused', slow: 'no answer within 0.2 s' },
        },
      ]);
    } finally {
      storeUp = true;
    }
    await get(app, '/readyz');
    expect(app.logs.find({ msg: 'ready again' })).toHaveLength(1);
  });

  test('503 while stopping, whatever the checks say', async () => {
    stopping = true;
    try {
      const answer = await get(app, '/readyz');
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.text)).toMatchObject({
        status: 'not ready',
        checks: { store: 'ok (memory)', shutdown: 'in progress' },
      });
      const own = await get(custom, '/readyz');
      expect(own.status).toBe(503);
      expect(JSON.parse(own.text)).toEqual({ status: 'not ready', reason: 'shutting down' });
    } finally {
      stopping = false;
    }
  });

  test('a service may shape the body', async () => {
    const answer = await get(custom, '/readyz');
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('{"status":"ready","store":"memory"}');
  });
});

test("/metrics: Prometheus text of the app's registry, its own metrics with the service's prefix", async () => {
  const signIns = new Counter({
    name: app.metrics.name('sign_ins_total'),
    help: 'Completed sign-ins by outcome',
    labelNames: ['outcome'],
    registers: [app.metrics.registry],
  });
  signIns.inc({ outcome: 'ok' });
  await get(app, '/healthz');
  const answer = await get(app, '/metrics');
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  expect(answer.text).toContain('test_sign_ins_total{outcome="ok",service="test"} 1');
  expect(answer.text).toMatch(/^process_cpu_user_seconds_total\{service="test"\} /m);
  expect(answer.text).toMatch(
    /^http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200",service="test"\} [1-9]\d*$/m,
  );
  // Every series, the kit's and the service's, carries the service label.
  for (const line of answer.text.split('\n').filter((l) => l && !l.startsWith('#')))
    expect(line).toContain('service="test"');
});
