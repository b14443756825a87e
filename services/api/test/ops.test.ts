// Operations: health, readiness, metrics, request ids, logs, OpenAPI and the docs page.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import {
  ALICE,
  API_ID,
  FakeEntra,
  call,
  read,
  startTestApi,
  write,
  type TestApi,
} from './support/api.ts';

jest.setTimeout(30_000);

/** The value of the series `name` whose labels include `labels` and service="api". */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = { ...labels, service: 'api' };
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries(
      [...(m[2] as string).matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(wanted).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

let fake: FakeEntra;
let api: TestApi;
beforeAll(async () => {
  fake = await FakeEntra.start();
  api = await startTestApi(fake);
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

describe('health', () => {
  test('/healthz and /readyz', async () => {
    expect((await call(`${api.url}/healthz`)).body).toEqual({ status: 'ok' });
    const ready = await call(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      checks: { signingKeys: 'ok', store: 'ok (sqlite)' },
    });
  });

  test('unknown routes and methods get JSON errors', async () => {
    const missing = await call(`${api.url}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'not_found', error_description: 'No such resource' });
    const method = await call(`${api.url}/data/read`, { method: 'DELETE' });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toContain('GET');
  });
});

describe('metrics', () => {
  test('request duration by route template and status, issuer fetches, cache hits', async () => {
    const token = await fake.mintAccessToken({ user: ALICE, scopes: ['data.read', 'data.write'] });
    await read(api, token);
    await read(api, token);
    await write(api, token, { n: 1 });
    await read(api);
    const text = (await call(String(api.metricsUrl))).text;
    // One naming scheme in both services: service="api" on every series.
    const duration = 'http_request_duration_seconds_count';
    expect(sample(text, duration, { method: 'GET', route: '/data/read', status: '200' })).toBe(2);
    expect(sample(text, duration, { method: 'POST', route: '/data/write', status: '201' })).toBe(1);
    expect(sample(text, duration, { method: 'GET', route: '/data/read', status: '401' })).toBe(1);
    expect(sample(text, 'api_issuer_fetches_total', { target: 'jwks', result: 'ok' })).toBe(1);
    expect(sample(text, 'api_issuer_fetches_total', { target: 'discovery', result: 'ok' })).toBe(1);
    expect(sample(text, 'api_token_cache_hits_total', {})).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
      expect(line).toContain('service="api"');
  });

  test('only on METRICS_PORT: the app port, which an ingress routes, answers 404', async () => {
    expect(new URL(String(api.metricsUrl)).port).not.toBe(String(api.port));
    expect((await call(`${api.url}/metrics`)).status).toBe(404);
  });
});

describe('request ids and logs', () => {
  test('a request id is generated, or a safe one from the caller reused', async () => {
    const generated = await call(`${api.url}/openapi.json`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const given = await call(`${api.url}/openapi.json`, {
      headers: { 'x-request-id': 'trace-123.abc' },
    });
    expect(given.headers.get('x-request-id')).toBe('trace-123.abc');
    const unsafe = await call(`${api.url}/openapi.json`, {
      headers: { 'x-request-id': 'a b<script>' },
    });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const line = api.logs.entries().find((e) => e.requestId === 'trace-123.abc');
    expect(line).toMatchObject({
      msg: 'request',
      method: 'GET',
      path: '/openapi.json',
      route: '/openapi.json',
      status: 200,
      service: 'api',
    });
  });

  test('successful probes are logged at debug, not info, so they do not drown the access log', async () => {
    const probe = await call(`${api.url}/healthz`, { headers: { 'x-request-id': 'probe-1' } });
    expect(probe.headers.get('x-request-id')).toBe('probe-1');
    expect(api.logs.entries().find((e) => e.requestId === 'probe-1')).toBeUndefined();
  });

  test('logs carry the caller identity but never the token, cookies or the Authorization header', async () => {
    const token = await fake.mintAccessToken({ user: ALICE, scopes: ['data.read'] });
    await read(api, token, {
      headers: { cookie: 'session=s3cr3t-cookie', 'x-request-id': 'who-am-i' },
    });
    const line = api.logs.entries().find((e) => e.requestId === 'who-am-i');
    expect(line).toMatchObject({ status: 200, tid: fake.tenantId });
    expect(api.logs.text).not.toContain(token.split('.')[1]);
    expect(api.logs.text).not.toContain('s3cr3t-cookie');
    expect(api.logs.text).not.toMatch(/bearer\s+ey/i);
  });

  test('the logger redacts credentials even when code logs them by mistake', async () => {
    api.api.logger.info(
      {
        req: { headers: { authorization: 'Bearer abc.def.ghi', cookie: 'a=b' } },
        token: 'abc.def.ghi',
      },
      'careless',
    );
    const line = api.logs.entries().find((e) => e.msg === 'careless');
    expect(JSON.stringify(line)).not.toContain('abc.def.ghi');
    expect(JSON.stringify(line)).not.toContain('a=b');
  });
});

describe('OpenAPI and docs', () => {
  test('/openapi.json: OpenAPI 3.1 with the authorization-code scheme and both scopes', async () => {
    const doc = (await call(`${api.url}/openapi.json`)).body as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(doc.openapi).toBe('3.1.0');
    const flow = doc.components.securitySchemes.entra.flows.authorizationCode;
    expect(flow.authorizationUrl).toBe(`${fake.authority()}/oauth2/v2.0/authorize`);
    expect(flow.tokenUrl).toBe(`${fake.authority()}/oauth2/v2.0/token`);
    expect(Object.keys(flow.scopes).sort()).toEqual([
      `api://${API_ID}/data.read`,
      `api://${API_ID}/data.write`,
    ]);
    expect(doc.paths['/data/read'].get.security).toEqual([
      { entra: [`api://${API_ID}/data.read`] },
    ]);
    expect(doc.paths['/data/write'].post.security).toEqual([
      { entra: [`api://${API_ID}/data.write`] },
    ]);
    expect(Object.keys(doc.paths['/data/write'].post.responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '413', '503']),
    );
  });

  test('/docs is Swagger UI from the npm package, under a strict CSP, with no CDN', async () => {
    const page = await call(`${api.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(page.text).not.toMatch(/https?:\/\//);
    expect(page.text).not.toMatch(/<script>[^<]/); // no inline script
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs).toEqual(
      expect.arrayContaining([
        '/docs/swagger-ui-bundle.js',
        '/docs/swagger-initializer.js',
        '/docs/swagger-ui.css',
      ]),
    );
    for (const ref of refs) {
      const asset = await fetch(`${api.url}${ref}`);
      expect(asset.status).toBe(200);
      await asset.arrayBuffer();
    }
    const init = await (await fetch(`${api.url}/docs/swagger-initializer.js`)).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(init).toContain('"usePkceWithAuthorizationCodeGrant":true');
    expect((await call(`${api.url}/docs/oauth2-redirect.html`)).status).toBe(200);
    expect((await call(`${api.url}/docs/..%2F..%2Fpackage.json`)).status).toBe(404);
  });
});
