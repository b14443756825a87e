// A small real resource server for the web app's tests, in the API's shapes: it verifies every
// access token with jose against the fake issuer's JWKS (RS256, issuer, audience), requires
// data.read / data.write, and answers RFC 6750 errors. It stands in for services/api until that
// exports createApi/startApi through its package entry; `failNext` injects a server fault.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import { DEFAULTS, type FakeEntra } from '@koa-entra/fake-entra';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import Koa, { type Context } from 'koa';

export interface ApiCall {
  method: string;
  path: string;
  /** The bearer token as received. */
  token: string;
  /** Its claims, when it verified. */
  claims: JWTPayload | undefined;
  body: unknown;
  status: number;
}

interface Item {
  id: number;
  data: unknown;
  createdAt: string;
}

function challenge(
  ctx: Context,
  status: number,
  error: string,
  description: string,
  scope?: string,
) {
  ctx.status = status;
  ctx.set(
    'WWW-Authenticate',
    `Bearer realm="api", error="${error}", error_description="${description}"${scope ? `, scope="${scope}"` : ''}`,
  );
  ctx.body = { error, error_description: description };
}

export class TestApi {
  readonly calls: ApiCall[] = [];
  readonly url: string;
  readonly #server: Server;
  readonly #items = new Map<string, Item[]>();
  #faults: number[] = [];
  #writeAuthContext: string | undefined;

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  static async start(fake: FakeEntra): Promise<TestApi> {
    const jwks = createRemoteJWKSet(new URL(`${fake.authority()}/discovery/v2.0/keys`));
    const app = new Koa();
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const api = new TestApi(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    app.use(bodyParser({ enableTypes: ['json'] }));
    app.use(async (ctx) => {
      const token = /^Bearer (\S+)$/.exec(ctx.get('authorization'))?.[1] ?? '';
      const call: ApiCall = {
        method: ctx.method,
        path: ctx.path,
        token,
        claims: undefined,
        body: (ctx.request as unknown as { body?: unknown }).body,
        status: 0,
      };
      try {
        await api.#handle(ctx, call, jwks, fake);
      } finally {
        call.status = ctx.status;
        api.calls.push(call);
      }
    });
    server.on('request', app.callback());
    return api;
  }

  async #handle(
    ctx: Context,
    call: ApiCall,
    jwks: ReturnType<typeof createRemoteJWKSet>,
    fake: FakeEntra,
  ): Promise<void> {
    if (!call.token) return challenge(ctx, 401, 'invalid_token', 'No bearer token');
    try {
      call.claims = (
        await jwtVerify(call.token, jwks, {
          algorithms: ['RS256'],
          issuer: fake.issuer(),
          audience: [DEFAULTS.apiClientId, DEFAULTS.apiIdentifier],
          requiredClaims: ['exp', 'oid'],
        })
      ).payload;
    } catch (error) {
      return challenge(ctx, 401, 'invalid_token', (error as Error).message.replace(/"/g, "'"));
    }
    const fault = this.#faults.shift();
    if (fault) {
      ctx.status = fault;
      ctx.body = { error: 'server_error' };
      return;
    }
    const scopes = String(call.claims.scp ?? '')
      .split(' ')
      .filter(Boolean);
    const items = this.#items.get(String(call.claims.oid)) ?? [];
    this.#items.set(String(call.claims.oid), items);
    if (ctx.method === 'GET' && ctx.path === '/data/read') {
      if (!scopes.includes('data.read') && !scopes.includes('data.write'))
        return challenge(ctx, 403, 'insufficient_scope', 'data.read is required', 'data.read');
      ctx.body = { data: items, 'current-user-scopes': scopes };
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/data/write') {
      if (!scopes.includes('data.write'))
        return challenge(ctx, 403, 'insufficient_scope', 'data.write is required', 'data.write');
      const acrs = Array.isArray(call.claims.acrs) ? call.claims.acrs : [];
      if (this.#writeAuthContext && !acrs.includes(this.#writeAuthContext)) {
        // Microsoft's step-up with an authentication context: claims base64-encoded.
        const claims = JSON.stringify({
          access_token: { acrs: { essential: true, value: this.#writeAuthContext } },
        });
        ctx.status = 401;
        ctx.set(
          'WWW-Authenticate',
          `Bearer realm="api", error="insufficient_claims", error_description="the authentication context ${this.#writeAuthContext} is required", claims="${Buffer.from(claims).toString('base64')}"`,
        );
        ctx.body = { error: 'insufficient_claims' };
        return;
      }
      const item = { id: items.length + 1, data: call.body, createdAt: new Date().toISOString() };
      items.unshift(item);
      ctx.status = 201;
      ctx.body = { result: 'You wrote protected data!', item, 'current-user-scopes': scopes };
      return;
    }
    ctx.status = 404;
    ctx.body = { error: 'not_found' };
  }

  /** Writes need this authentication context in `acrs` (the API's WRITE_AUTH_CONTEXT); undefined: none. */
  requireWriteAuthContext(acr: string | undefined): void {
    this.#writeAuthContext = acr;
  }

  /** The next call (with a valid token) is answered with this status instead. */
  failNext(status: number): void {
    this.#faults.push(status);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
