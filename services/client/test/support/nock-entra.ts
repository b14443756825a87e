// Entra, Graph and the API imitated with nock for integration tests of the web app: the real
// MSAL library talks to it over (intercepted) HTTPS. Records every token request so tests can
// assert what MSAL sent (PKCE verifier, grant type, refresh token) and how often.
import { createHash, randomBytes } from 'node:crypto';
import nock from 'nock';

type ReplyFnResult = nock.ReplyFnResult;

export const AUTHORITY = 'https://login.entra.test';
export const TENANT = '3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e';
export const CLIENT_ID = '0d7f3a52-9c1b-4e8a-b6f4-2c5e8a1d9b37';
export const GRAPH = 'https://graph.entra.test';
export const API = 'https://api.entra.test';
export const API_SCOPES = [
  'api://c750c37c-6c67-4211-a9e2-6f035a897cfa/data.read',
  'api://c750c37c-6c67-4211-a9e2-6f035a897cfa/data.write',
];

export interface NockUser {
  oid: string;
  upn: string;
  name: string;
}

export const USERS: Record<string, NockUser> = {
  alice: {
    oid: 'a11ce000-5e7d-4c3b-9a2f-0e1d2c3b4a59',
    upn: 'alice@contoso.test',
    name: 'Alice <b>Example</b>',
  },
  bob: {
    oid: 'b0b00000-6f8e-4d4c-8b3a-1f2e3d4c5b6a',
    upn: 'bob@contoso.test',
    name: 'Bob Example',
  },
};

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const unsignedJwt = (claims: Record<string, unknown>) =>
  `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k' })}.${b64(claims)}.${randomBytes(16).toString('base64url')}`;

export interface TokenCall {
  grant_type: string;
  scope: string;
  code?: string;
  code_verifier?: string;
  refresh_token?: string;
  body: Record<string, string>;
}

interface PendingCode {
  user: NockUser;
  nonce: string;
  challenge: string;
}

export class NockEntra {
  readonly tokenCalls: TokenCall[] = [];
  readonly graphCalls: string[] = [];
  readonly apiCalls: { method: string; path: string; token: string; body?: unknown }[] = [];
  /** access token → user, for Graph and the API */
  readonly tokens = new Map<string, { user: NockUser; scopes: string[] }>();
  readonly #codes = new Map<string, PendingCode>();
  readonly #refresh = new Map<string, NockUser>();
  /** Seconds of life of the next access tokens issued. */
  accessTokenLifetime = 3600;
  /** When set, the token endpoint answers this error to refresh-token grants. */
  refreshError: { error: string; suberror?: string } | undefined;
  /** Lets a test make the next ID token carry another nonce. */
  nonceOverride: string | undefined;
  apiBehaviour: 'ok' | 'insufficient_scope' | 'error500' = 'ok';
  graphBehaviour: 'ok' | 'error503' = 'ok';
  readonly items: { id: number; data: unknown; createdAt: string }[] = [];

  install(): this {
    if (!nock.isActive()) nock.activate();
    nock.disableNetConnect();
    nock.enableNetConnect((host) => host.startsWith('127.0.0.1') || host.startsWith('localhost'));
    const base = `/${TENANT}`;
    nock(AUTHORITY)
      .persist()
      .get(`${base}/v2.0/.well-known/openid-configuration`)
      .reply(200, {
        issuer: `${AUTHORITY}/${TENANT}/v2.0`,
        authorization_endpoint: `${AUTHORITY}${base}/oauth2/v2.0/authorize`,
        token_endpoint: `${AUTHORITY}${base}/oauth2/v2.0/token`,
        end_session_endpoint: `${AUTHORITY}${base}/oauth2/v2.0/logout`,
        jwks_uri: `${AUTHORITY}${base}/discovery/v2.0/keys`,
        response_types_supported: ['code'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      })
      .post(`${base}/oauth2/v2.0/token`)
      .query(true) // MSAL adds client-request-id
      .reply(async (request: Request) => this.#token(await request.text()));
    this.#installGraphAndApi();
    return this;
  }

  /** Simulates the browser round trip through the sign-in page: returns the redirect query. */
  authorize(authorizeUrl: string, user: NockUser): { code: string; state: string } {
    const url = new URL(authorizeUrl);
    const code = randomBytes(24).toString('base64url');
    this.#codes.set(code, {
      user,
      nonce: url.searchParams.get('nonce') ?? '',
      challenge: url.searchParams.get('code_challenge') ?? '',
    });
    return { code, state: url.searchParams.get('state') ?? '' };
  }

  #issue(user: NockUser, scopes: string[], nonce?: string): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = `at-${randomBytes(16).toString('hex')}`;
    const refreshToken = `rt-${randomBytes(16).toString('hex')}`;
    this.tokens.set(accessToken, { user, scopes });
    this.#refresh.set(refreshToken, user);
    const idClaims: Record<string, unknown> = {
      aud: CLIENT_ID,
      iss: `${AUTHORITY}/${TENANT}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      name: user.name,
      oid: user.oid,
      preferred_username: user.upn,
      sub: `sub-${user.oid}`,
      tid: TENANT,
      ver: '2.0',
    };
    if (nonce !== undefined) idClaims.nonce = this.nonceOverride ?? nonce;
    return {
      token_type: 'Bearer',
      scope: scopes.join(' '),
      expires_in: this.accessTokenLifetime,
      ext_expires_in: this.accessTokenLifetime,
      access_token: accessToken,
      refresh_token: refreshToken,
      id_token: unsignedJwt(idClaims),
      client_info: b64({ uid: user.oid, utid: TENANT }),
    };
  }

  #token(raw: string): ReplyFnResult {
    const body = Object.fromEntries(new URLSearchParams(raw));
    const call: TokenCall = { grant_type: body.grant_type ?? '', scope: body.scope ?? '', body };
    if (body.code) call.code = body.code;
    if (body.code_verifier) call.code_verifier = body.code_verifier;
    if (body.refresh_token) call.refresh_token = body.refresh_token;
    this.tokenCalls.push(call);
    const scopes = (body.scope ?? '')
      .split(' ')
      .filter((s) => !['openid', 'profile', 'offline_access'].includes(s));
    if (body.grant_type === 'authorization_code') {
      const pending = this.#codes.get(body.code ?? '');
      this.#codes.delete(body.code ?? '');
      if (!pending)
        return [
          400,
          { error: 'invalid_grant', error_description: 'AADSTS70008: code unknown or used' },
        ];
      const challenge = createHash('sha256')
        .update(body.code_verifier ?? '')
        .digest('base64url');
      if (challenge !== pending.challenge)
        return [
          400,
          { error: 'invalid_grant', error_description: 'AADSTS501481: code_verifier mismatch' },
        ];
      return [200, this.#issue(pending.user, scopes, pending.nonce)];
    }
    if (body.grant_type === 'refresh_token') {
      if (this.refreshError)
        return [
          400,
          { ...this.refreshError, error_description: 'AADSTS700082: refresh token expired' },
        ];
      const user = this.#refresh.get(body.refresh_token ?? '');
      if (!user)
        return [
          400,
          { error: 'invalid_grant', error_description: 'AADSTS9002313: bad refresh token' },
        ];
      return [200, this.#issue(user, scopes)];
    }
    return [400, { error: 'unsupported_grant_type' }];
  }

  graph(authorization: string): ReplyFnResult {
    const token = authorization.replace(/^Bearer /, '');
    this.graphCalls.push(token);
    if (this.graphBehaviour === 'error503')
      return [503, { error: { code: 'serviceNotAvailable' } }];
    const entry = this.tokens.get(token);
    if (!entry) return [401, { error: { code: 'InvalidAuthenticationToken' } }];
    return [
      200,
      {
        displayName: entry.user.name,
        mail: entry.user.upn,
        userPrincipalName: entry.user.upn,
        id: entry.user.oid,
      },
    ];
  }

  api(method: string, path: string, authorization: string, body?: unknown): ReplyFnResult {
    const token = authorization.replace(/^Bearer /, '');
    this.apiCalls.push({ method, path, token, body });
    const entry = this.tokens.get(token);
    if (!entry)
      return [
        401,
        { error: 'invalid_token' },
        { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token"' },
      ];
    if (this.apiBehaviour === 'error500') return [500, { error: 'server_error' }];
    if (this.apiBehaviour === 'insufficient_scope' && method === 'POST') {
      return [
        403,
        { error: 'insufficient_scope' },
        {
          'WWW-Authenticate':
            'Bearer realm="api", error="insufficient_scope", error_description="data.write is required", scope="data.write"',
        },
      ];
    }
    const scopes = entry.scopes.map((s) => s.split('/').pop() as string);
    if (method === 'POST') {
      const item = {
        id: this.items.length + 1,
        owner: { oid: entry.user.oid },
        data: body,
        createdAt: new Date().toISOString(),
      };
      this.items.unshift(item);
      return [201, { result: 'You wrote protected data!', item, 'current-user-scopes': scopes }];
    }
    return [200, { data: this.items, 'current-user-scopes': scopes }];
  }

  #installGraphAndApi(): void {
    const auth = (request: Request) => request.headers.get('authorization') ?? '';
    nock(GRAPH)
      .persist()
      .get('/v1.0/me')
      .reply(async (request: Request) => this.graph(auth(request)));
    const api = nock(API).persist();
    api
      .get('/data/read')
      .reply(async (request: Request) => this.api('GET', '/data/read', auth(request)));
    api
      .post('/data/write')
      .reply(async (request: Request) =>
        this.api('POST', '/data/write', auth(request), JSON.parse(await request.text())),
      );
  }
}

export function resetNock(): void {
  nock.cleanAll();
  nock.enableNetConnect();
}

/** Takes nock out of node:http/https and fetch entirely (other test files share this worker). */
export function removeNock(): void {
  resetNock();
  nock.restore();
}
