import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Middleware } from 'koa';
import { request } from 'node:http';
import { startApp, type TestApp } from './support/app.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A service's error mapper as the kit expects it: answers the error and records it. */
const mapper: Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    ctx.state.error = error;
    const status = (error as { status?: number }).status ?? 500;
    ctx.status = status;
    ctx.body = { error: status >= 500 ? 'server_error' : 'refused' };
  }
};

let app: TestApp;
let stopping = false;
beforeAll(async () => {
  app = await startApp(
    (router) => {
      router.get('/items/:id', (ctx) => {
        // Typed through Koa's DefaultState: no casts.
        const id: string = ctx.state.requestId;
        ctx.state.log.info({ item: ctx.params.id }, 'item read');
        ctx.body = { id, requestId: ctx.state.requestId };
      });
      router.get('/boom', () => {
        throw new Error('database exploded');
      });
      router.get('/busy', (ctx) => {
        ctx.throw(503, 'store down');
      });
      router.get('/refused', (ctx) => {
        ctx.throw(403, 'not yours');
      });
      router.get('/healthz', (ctx) => {
        ctx.body = { status: 'ok' };
      });
      router.get('/later', async (ctx) => {
        // The status is decided after the handler returns (by the mapper's caller): final wins.
        ctx.body = 'x';
        ctx.status = 202;
      });
    },
    {
      between: [mapper],
      context: {
        isStopping: () => stopping,
        accessLogFields: (ctx) => (ctx.path === '/items/7' ? { tenant: 't-1' } : undefined),
      },
    },
  );
});
afterAll(() => app?.close());

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${app.url}${path}`, { headers });

describe('request id', () => {
  test('a new UUID when the caller sends none, echoed in X-Request-Id and ctx.state', async () => {
    const response = await get('/items/1');
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(UUID);
    expect(await response.json()).toEqual({ id, requestId: id });
  });

  test.each([
    ['trace-123.abc:9_Z', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['a b', false],
    ['<script>', false],
    ['ünïcode', false],
  ])('a caller id %j is reused: %s', async (given, reused) => {
    const response = await get('/items/1', { 'x-request-id': given });
    const id = response.headers.get('x-request-id');
    if (reused) expect(id).toBe(given);
    else expect(id).toMatch(UUID);
  });

  test('two X-Request-Id headers: neither is trusted', async () => {
    const id = await new Promise<string | undefined>((resolve, reject) => {
      const url = new URL(`${app.url}/items/1`);
      const req = request(
        {
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          // An array keeps both headers (Host too: it is not added to an array).
          headers: ['host', url.host, 'x-request-id', 'one', 'X-Request-Id', 'two'],
        },
        (res) => {
          res.resume();
          resolve(res.headers['x-request-id'] as string | undefined);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(id).toMatch(UUID);
  });
});

describe('access log', () => {
  test('one info line per request with its final status; the child logger carries the id', async () => {
    await get('/items/7', { 'x-request-id': 'access-1' });
    const lines = app.logs.find({ requestId: 'access-1' });
    expect(lines).toEqual([
      {
        level: 'info',
        time: expect.any(String),
        service: 'test',
        requestId: 'access-1',
        item: '7',
        msg: 'item read',
      },
      {
        level: 'info',
        time: expect.any(String),
        service: 'test',
        requestId: 'access-1',
        method: 'GET',
        path: '/items/7',
        route: '/items/:id',
        status: 200,
        durationMs: expect.any(Number),
        ip: '127.0.0.1',
        tenant: 't-1',
        msg: 'request',
      },
    ]);
    await get('/later?code=secret-code', { 'x-request-id': 'access-2' });
    const later = app.logs.find({ requestId: 'access-2' });
    expect(later).toMatchObject([{ status: 202, path: '/later', route: '/later' }]);
    expect(app.logs.text).not.toContain('secret-code'); // the path only, never the query
  });

  test('a 500 is logged once, at error, with its error; the response says nothing of it', async () => {
    const response = await get('/boom', { 'x-request-id': 'boom-1' });
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain('exploded');
    const lines = app.logs.find({ requestId: 'boom-1' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'error',
      msg: 'request failed',
      status: 500,
      route: '/boom',
      err: {
        type: 'Error',
        message: 'database exploded',
        stack: expect.stringContaining('Error: database exploded'),
      },
    });
  });

  test('an error that escapes every mapper is still answered (500) and logged once', async () => {
    const bare = await startApp((router) =>
      router.get('/boom', () => {
        throw new Error('nobody maps me');
      }),
    );
    try {
      const response = await fetch(`${bare.url}/boom`, { headers: { 'x-request-id': 'bare-1' } });
      expect(response.status).toBe(500);
      expect(await response.text()).toBe('Internal Server Error');
      expect(bare.logs.find({ requestId: 'bare-1' })).toMatchObject([
        { level: 'error', status: 500, err: { message: 'nobody maps me' } },
      ]);
    } finally {
      await bare.close();
    }
  });

  test('other refusals: 503 at warn with its reason, 403 at info with its reason, 404 unmatched', async () => {
    await get('/busy', { 'x-request-id': 'busy-1' });
    await get('/refused', { 'x-request-id': 'refused-1' });
    await get('/nowhere', { 'x-request-id': 'nowhere-1' });
    expect(app.logs.find({ requestId: 'busy-1' })).toMatchObject([
      { level: 'warn', msg: 'request not served', status: 503, reason: 'store down' },
    ]);
    expect(app.logs.find({ requestId: 'refused-1' })).toMatchObject([
      { level: 'info', msg: 'request', status: 403, reason: 'not yours' },
    ]);
    expect(app.logs.find({ requestId: 'nowhere-1' })).toMatchObject([
      { level: 'info', status: 404, route: 'unmatched', path: '/nowhere' },
    ]);
  });

  test('successful probes are logged at debug; failing ones at info', async () => {
    await get('/healthz', { 'x-request-id': 'probe-1' });
    expect(app.logs.find({ requestId: 'probe-1' })).toEqual([]);
    const verbose = await startApp(
      (router) =>
        router.get('/healthz', (ctx) => {
          ctx.body = 'ok';
        }),
      { level: 'debug' },
    );
    try {
      await fetch(`${verbose.url}/healthz`, { headers: { 'x-request-id': 'probe-2' } });
      expect(verbose.logs.find({ requestId: 'probe-2' })).toMatchObject([
        { level: 'debug', msg: 'request', route: '/healthz' },
      ]);
    } finally {
      await verbose.close();
    }
  });
});

describe('metrics', () => {
  test('http_request_duration_seconds by method, route template or unmatched, status; service label', async () => {
    await get('/items/1');
    await get('/items/2');
    await get('/no/such/path/123');
    const text = await app.metrics.text();
    const count = (labels: string) =>
      Number(
        new RegExp(
          `^http_request_duration_seconds_count\\{${labels},service="test"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1],
      );
    expect(count('method="GET",route="/items/:id",status="200"')).toBeGreaterThanOrEqual(2);
    expect(count('method="GET",route="unmatched",status="404"')).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('/no/such/path');
    expect(text).toMatch(
      /^http_request_duration_seconds_bucket\{method="GET",route="\/items\/:id",status="200",le="\+Inf",service="test"\} \d+$/m,
    );
  });
});

test('while stopping, responses carry Connection: close', async () => {
  stopping = true;
  try {
    const response = await get('/items/1');
    expect(response.headers.get('connection')).toBe('close');
  } finally {
    stopping = false;
  }
  expect((await get('/items/1')).headers.get('connection')).toBe('keep-alive');
});

describe('access line fields and levels', () => {
  const caller = Object.freeze({ tid: 't-9', oid: 'o-9' });
  const secret = Object.freeze({ token: 'eyJ.secret.sig' });
  const clash = Object.freeze({ status: 'from-fields' });
  let fieldsApp: TestApp;
  beforeAll(async () => {
    fieldsApp = await startApp(
      (router) => {
        router.get('/fields/:kind', (ctx) => {
          ctx.body = 'ok';
        });
        router.get('/healthz', (ctx) => {
          ctx.body = 'ok';
        });
      },
      {
        context: {
          accessLogFields: (ctx) =>
            ({ caller, secret, clash })[ctx.path.slice('/fields/'.length)] ??
            (ctx.path === '/fields/fresh' ? { tid: 't-fresh' } : undefined),
        },
      },
    );
  });
  afterAll(() => fieldsApp?.close());
  const hit = (kind: string, id: string) =>
    fetch(`${fieldsApp.url}/fields/${kind}`, { headers: { 'x-request-id': id } }).then((r) =>
      r.text(),
    );
  const rawLine = (id: string) => fieldsApp.logs.lines.filter((l) => l.includes(`"${id}"`));

  test('a frozen fields object reused on every request is on every line', async () => {
    await hit('caller', 'fields-1');
    await hit('caller', 'fields-2');
    await hit('fresh', 'fields-3');
    for (const id of ['fields-1', 'fields-2'])
      expect(fieldsApp.logs.find({ requestId: id })).toEqual([
        expect.objectContaining({ msg: 'request', status: 200, tid: 't-9', oid: 'o-9' }),
      ]);
    expect(fieldsApp.logs.find({ requestId: 'fields-3' })).toEqual([
      expect.objectContaining({ tid: 't-fresh' }),
    ]);
  });

  test('a field named like a credential is still redacted, frozen or not', async () => {
    await hit('secret', 'fields-4');
    await hit('secret', 'fields-5');
    for (const id of ['fields-4', 'fields-5']) {
      expect(fieldsApp.logs.find({ requestId: id })).toEqual([
        expect.objectContaining({ token: '[redacted]' }),
      ]);
      expect(rawLine(id).join('\n')).not.toContain('eyJ.secret.sig');
    }
  });

  test('a field repeating a key of the line gives one key, not two', async () => {
    await hit('clash', 'fields-6');
    const [line] = rawLine('fields-6');
    expect(line?.match(/"status":/g)).toHaveLength(1);
  });

  test('the access line follows a change of the logger level', async () => {
    fieldsApp.logger.level = 'warn';
    await hit('caller', 'level-1');
    fieldsApp.logger.level = 'info';
    await hit('caller', 'level-2');
    fieldsApp.logger.level = 'debug';
    await fetch(`${fieldsApp.url}/healthz`, { headers: { 'x-request-id': 'level-3' } });
    fieldsApp.logger.level = 'info';
    expect(fieldsApp.logs.find({ requestId: 'level-1' })).toEqual([]);
    expect(fieldsApp.logs.find({ requestId: 'level-2' })).toHaveLength(1);
    expect(fieldsApp.logs.find({ requestId: 'level-3' })).toEqual([
      expect.objectContaining({ level: 'debug' }),
    ]);
  });
});
