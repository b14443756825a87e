// The Koa adapter in a plain Koa app with Koa's DEFAULT error handler (no error middleware of
// our own), over real HTTP, against the real fake issuer: what someone's 20-line app answers.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import {
  InvalidOptionError,
  createEntraVerifier,
  entraBearer,
  getPrincipal,
  requireAppRoles,
  requirePermission,
  requireScopes,
  type BearerMiddleware,
} from '@koa-entra/bearer';
import { ALICE, BOB, FakeEntra, entraOptions } from './support/fake.ts';

jest.setTimeout(30_000);

let fake: FakeEntra;
let server: Server;
let url: string;
let bearer: BearerMiddleware;
const errorsEmitted: Error[] = [];

beforeAll(async () => {
  fake = await FakeEntra.start();
  const app = new Koa();
  app.silent = true;
  app.on('error', (error: Error) => errorsEmitted.push(error));
  bearer = entraBearer(entraOptions(fake));
  const route =
    (path: string, ...middleware: Koa.Middleware[]): Koa.Middleware =>
    async (ctx, next) => {
      if (ctx.path !== path) return next();
      let i = 0;
      const run = async (): Promise<void> => {
        const fn = middleware[i++];
        if (fn) await fn(ctx, run);
      };
      await run();
    };
  const hello: Koa.Middleware = (ctx) => {
    const p = getPrincipal(ctx);
    ctx.body = { kind: p.kind, oid: p.objectId, scopes: p.scopes, roles: p.roles };
  };
  app.use(route('/read', bearer, requireScopes('data.read'), hello));
  app.use(route('/read-write', bearer, requireScopes('data.read', 'data.write'), hello));
  app.use(route('/daemon', bearer, requireAppRoles('Data.Read.All'), hello));
  app.use(
    route(
      '/either',
      bearer,
      requirePermission({ scopes: ['data.read'], appRoles: ['Data.Read.All'] }),
      hello,
    ),
  );
  app.use(
    route(
      '/write',
      bearer,
      requirePermission({
        scopes: ['data.write'],
        appRoles: ['Data.Write.All'],
        userRoles: ['Data.Writer'],
      }),
      hello,
    ),
  );
  app.use(
    route(
      '/step-up',
      bearer,
      requirePermission({
        scopes: ['data.write'],
        appRoles: ['Data.Write.All'],
        authContext: 'c1',
      }),
      hello,
    ),
  );
  app.use(
    route(
      '/step-up-uri',
      bearer,
      requirePermission(
        { scopes: ['data.write'], authContext: 'c7' },
        { authorizationUri: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize' },
      ),
      hello,
    ),
  );
  app.use(route('/form', bodyParser({ enableTypes: ['form', 'json'] }), bearer, hello));
  // A handler that forgot entraBearer: it must not serve the request.
  app.use(route('/forgotten', requireScopes('data.read'), hello));
  app.use(route('/forgotten-handler', hello));
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await fake?.close();
});

async function get(path: string, token?: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  const r = await fetch(`${url}${path}`, { ...init, headers });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

const alice = () => fake.mintAccessToken({ user: ALICE, scopes: ['data.read', 'data.write'] });

describe("Koa's default error handler answers every refusal correctly", () => {
  test('a valid token: 200, the principal on ctx.state', async () => {
    const r = await get('/read', await alice());
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ kind: 'user', scopes: ['data.read', 'data.write'] });
  });

  test('no token: 401, bare challenge, the description as text', async () => {
    const r = await get('/read');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    expect(r.text).toBe('This resource needs a bearer access token in the Authorization header');
  });

  test('wrong audience: 401 invalid_token', async () => {
    const token = await fake.mintBrokenToken('wrong-audience', { user: ALICE });
    const r = await get('/read', token);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="invalid_token", error_description="The token is not meant for this API (aud)"',
    );
    expect(r.text).toBe('The token is not meant for this API (aud)');
    expect(r.text).not.toContain(token);
  });

  test('missing scope: 403 insufficient_scope naming what the route requires', async () => {
    const bob = await fake.mintAccessToken({ user: BOB, scopes: ['data.read'] });
    expect((await get('/read', bob)).status).toBe(200);
    const r = await get('/read-write', bob);
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="The token does not grant data.write", scope="data.read data.write"',
    );
  });

  test('a token in the query string: 400 invalid_request, the token not echoed', async () => {
    const token = await alice();
    const r = await get(`/read?access%5Ftoken=${token}`, token);
    expect(r.status).toBe(400);
    expect(r.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="api", error="invalid_request"/,
    );
    expect(r.text).not.toContain(token);
  });

  test('a token in a body parsed before entraBearer: 400 invalid_request', async () => {
    const token = await alice();
    const r = await get('/form', token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `access_token=${token}`,
    });
    expect(r.status).toBe(400);
    expect(r.text).toBe(
      'Send the access token only in the Authorization header, not in the request body',
    );
    expect(
      (
        await get('/form', token, {
          method: 'POST',
          body: 'note=x',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        })
      ).status,
    ).toBe(200);
  });

  test('issuer unreachable and no keys: 503 with Retry-After, no challenge, message not exposed', async () => {
    const app = new Koa();
    app.silent = true;
    const down = await FakeEntra.start();
    const token = await down.mintAccessToken({ user: ALICE, scopes: ['data.read'] });
    down.setOutage(true);
    app.use(entraBearer(createEntraVerifier(entraOptions(down))));
    app.use((ctx) => {
      ctx.body = 'served';
    });
    const s = app.listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    try {
      const r = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(r.status).toBe(503);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('www-authenticate')).toBeNull();
      expect(await r.text()).toBe('Service Unavailable');
    } finally {
      await new Promise((r) => s.close(r));
      await down.close();
    }
  });

  test('no refusal above was an unexposed (500-like) error', () => {
    expect(errorsEmitted.filter((e) => !(e as { expose?: boolean }).expose)).toEqual([]);
  });
});

describe('permissions', () => {
  test('requireAppRoles: app-only tokens with the role; user tokens never, whatever their roles', async () => {
    const daemon = await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'] });
    const r = await get('/daemon', daemon);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ kind: 'app', roles: ['Data.Read.All'] });
    const user = await fake.mintAccessToken({
      user: ALICE,
      scopes: ['data.read'],
      roles: ['Data.Read.All'],
    });
    const refused = await get('/daemon', user);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain('scope="Data.Read.All"');
  });

  test('requireScopes refuses app-only tokens (they carry no delegated scopes)', async () => {
    const daemon = await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'] });
    const r = await get('/read', daemon);
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toContain('scope="data.read"');
  });

  test('requirePermission: scopes for users, app roles for apps, the challenge naming the one of its kind', async () => {
    expect((await get('/either', await alice())).status).toBe(200);
    expect(
      (await get('/either', await fake.mintAccessToken({ app: true, roles: ['Data.Read.All'] })))
        .status,
    ).toBe(200);
    const noRole = await get('/either', await fake.mintAccessToken({ app: true, roles: [] }));
    expect(noRole.status).toBe(403);
    expect(noRole.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="The token does not grant Data.Read.All", scope="Data.Read.All"',
    );
    // Scopes are case-sensitive.
    const shouting = await fake.mintAccessToken({ user: ALICE, scopes: ['DATA.READ'] });
    expect((await get('/either', shouting)).status).toBe(403);
  });

  test('userRoles: a user must also be assigned the app role; a clear 403 that is not insufficient_scope', async () => {
    const writer = await fake.mintAccessToken({
      user: ALICE,
      scopes: ['data.write'],
      roles: ['Data.Writer'],
    });
    expect((await get('/write', writer)).status).toBe(200);
    const notAssigned = await get(
      '/write',
      await fake.mintAccessToken({ user: ALICE, scopes: ['data.write'], roles: [] }),
    );
    expect(notAssigned.status).toBe(403);
    expect(notAssigned.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="insufficient_role", error_description="The signed-in user is not assigned the app role Data.Writer of this API"',
    );
    expect(notAssigned.text).toBe(
      'The signed-in user is not assigned the app role Data.Writer of this API',
    );
    // Apps need their application permission only; the user's role is not asked of them.
    const daemon = await fake.mintAccessToken({ app: true, roles: ['Data.Write.All'] });
    expect((await get('/write', daemon)).status).toBe(200);
  });

  test('authContext: 401 insufficient_claims with the claims challenge until acrs holds it', async () => {
    const plain = await get('/step-up', await alice());
    expect(plain.status).toBe(401);
    const claims = btoa('{"access_token":{"acrs":{"essential":true,"value":"c1"}}}');
    expect(claims).toBe(
      'eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19',
    );
    expect(plain.headers.get('www-authenticate')).toBe(
      `Bearer realm="api", error="insufficient_claims", claims="${claims}"`,
    );
    expect(plain.text).toBe(
      'This operation requires the authentication context c1; ask Entra for a token with the claims of this challenge',
    );
    const otherContext = await fake.mintAccessToken({
      user: ALICE,
      scopes: ['data.write'],
      claims: { acrs: ['c2'] },
    });
    expect((await get('/step-up', otherContext)).status).toBe(401);
    const steppedUp = await fake.mintAccessToken({
      user: ALICE,
      scopes: ['data.write'],
      claims: { acrs: ['c2', 'c1'] },
    });
    expect((await get('/step-up', steppedUp)).status).toBe(200);
    // The scope comes first: without data.write the answer is 403, not a step-up.
    const reader = await fake.mintAccessToken({ user: ALICE, scopes: ['data.read'] });
    expect((await get('/step-up', reader)).status).toBe(403);
    // App-only tokens are not asked for an authentication context.
    const daemon = await fake.mintAccessToken({ app: true, roles: ['Data.Write.All'] });
    expect((await get('/step-up', daemon)).status).toBe(200);
    // With an authorization_uri, as Microsoft's claims challenge format lists it.
    const withUri = await get('/step-up-uri', await alice());
    expect(withUri.headers.get('www-authenticate')).toBe(
      `Bearer realm="api", authorization_uri="https://login.microsoftonline.com/common/oauth2/v2.0/authorize", error="insufficient_claims", claims="${btoa('{"access_token":{"acrs":{"essential":true,"value":"c7"}}}')}"`,
    );
  });

  test('a route without entraBearer refuses rather than serving unauthenticated', async () => {
    for (const path of ['/forgotten', '/forgotten-handler']) {
      const r = await get(path, await alice());
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    }
  });

  test('a verifier with its own realm: the permission challenges name it too', async () => {
    const app = new Koa();
    app.silent = true;
    app.use(entraBearer(createEntraVerifier(entraOptions(fake, { realm: 'contoso' }))));
    app.use(requireScopes('data.admin'));
    const s = app.listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
      const r = await fetch(base, { headers: { authorization: `Bearer ${await alice()}` } });
      expect(r.status).toBe(403);
      expect(r.headers.get('www-authenticate')).toMatch(
        /^Bearer realm="contoso", error="insufficient_scope"/,
      );
      const none = await fetch(base);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="contoso"');
    } finally {
      await new Promise((r) => s.close(r));
    }
  });

  test('requirements are checked when the middleware is created', () => {
    expect(() => requireScopes()).toThrow(InvalidOptionError);
    expect(() => requireScopes('data read')).toThrow(
      'scopes must hold names without spaces, got data read',
    );
    expect(() => requirePermission({})).toThrow('requirement needs scopes or appRoles');
    expect(() => requirePermission({ userRoles: ['Data.Writer'] })).toThrow(
      'requirement needs scopes or appRoles',
    );
    expect(() => requirePermission({ scopes: ['data.write'], userRoles: [] })).toThrow(
      'userRoles must be a non-empty list of names',
    );
    for (const authContext of ['c0', 'C1', 'c100', 'mfa'])
      expect(() => requirePermission({ scopes: ['data.write'], authContext })).toThrow(
        `authContext must be an authentication context id c1 to c99, got ${authContext}`,
      );
  });
});

describe('entraBearer', () => {
  test('refusals come back as rejected promises, never as a synchronous throw', async () => {
    // The middleware are plain functions (no async step for a known token): a refusal must
    // still reach the caller the way an async middleware's would.
    const ctx = {
      querystring: '',
      request: {},
      req: { rawHeaders: [] as string[] },
      state: {},
    } as unknown as Koa.Context;
    const next = async () => undefined;
    let bearerResult: Promise<unknown> | undefined;
    expect(() => (bearerResult = bearer(ctx, next) as Promise<unknown>)).not.toThrow();
    await expect(bearerResult).rejects.toMatchObject({ status: 401 });
    let scopeResult: Promise<unknown> | undefined;
    expect(() => (scopeResult = requireScopes('data.read')(ctx, next))).not.toThrow();
    await expect(scopeResult).rejects.toMatchObject({ status: 401 });
  });

  test('a token verified before is looked up first; every other spelling of the header gets the full check', async () => {
    const token = await alice();
    const send = (authorization: string) => get('/read', undefined, { headers: { authorization } });
    expect((await send(`Bearer ${token}`)).status).toBe(200); // verified and cached
    expect((await send(`bearer ${token}`)).status).toBe(200); // the scheme in any case
    expect((await send(`Bearer   ${token}`)).status).toBe(200); // more spaces, as before
    expect((await send(`Bearer ${token}  `)).status).toBe(200);
    for (const header of [`Bearer\t${token}`, `Bearer ${token.slice(0, 20)} ${token.slice(20)}`]) {
      const r = await send(header);
      expect(r.status).toBe(400);
      expect(r.headers.get('www-authenticate')).toContain('error="invalid_request"');
    }
    expect((await send(`Basic ${token}`)).status).toBe(401);
  });

  test('exposes its verifier (key status for readiness probes)', async () => {
    await get('/read', await alice());
    expect(bearer.verifier.keys.status()).toMatchObject({ ready: true });
  });
});
