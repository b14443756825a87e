// What was asked of the fake: every protocol request (not /healthz, not /_harness/) with its
// parameters and the answer, in arrival order, for tests to assert on (navikt's takeRequest).
// Secrets (client_secret, code_verifier, refresh_token, Authorization) are recorded as sent:
// asserting on them is the point. The fake never logs them.
import type { Context } from 'koa';

/** The endpoint a request was addressed to, by its path. */
export type Endpoint =
  | 'discovery'
  | 'instance-discovery'
  | 'jwks'
  | 'authorize'
  | 'token'
  | 'logout'
  | 'devicecode'
  | 'deviceauth'
  | 'graph'
  | 'userinfo'
  | 'unknown';

export const ENDPOINTS: readonly Endpoint[] = [
  'discovery',
  'instance-discovery',
  'jwks',
  'authorize',
  'token',
  'logout',
  'devicecode',
  'deviceauth',
  'graph',
  'userinfo',
  'unknown',
];

export interface RecordedRequest {
  /** 1, 2, 3, ... in the order the requests arrived at this instance. */
  seq: number;
  /** When the request arrived (ISO 8601). */
  time: string;
  method: string;
  /** The path without the query string. */
  path: string;
  endpoint: Endpoint;
  /** The `{tenant}` path segment as sent (id, domain, `common`, ...), for tenant endpoints. */
  tenant: string | undefined;
  /** Query parameters; a parameter sent more than once keeps its first value. */
  query: Record<string, string>;
  /** Form parameters of an `application/x-www-form-urlencoded` body, likewise. */
  form: Record<string, string>;
  /** `query` and `form` together (form wins): where OAuth parameters are, whatever the method. */
  params: Record<string, string>;
  /** Request headers, lower-case names, as sent (Authorization included). */
  headers: Record<string, string>;
  /**
   * The calling app: `client_id` (parameter or Basic credentials), else the `azp`/`appid` of the
   * bearer token (read, not verified) for Graph calls.
   */
  clientId: string | undefined;
  /** `grant_type` of a token request. */
  grantType: string | undefined;
  response: {
    status: number;
    /** The OAuth `error` (or Graph's `error.code`) of an error answer. */
    error: string | undefined;
    /** The JSON body of the answer (token responses, error bodies, discovery); pages are left out. */
    body: Record<string, unknown> | undefined;
    /** The `Location` of a redirect (e.g. the authorization code on its way to the app). */
    location: string | undefined;
  };
}

/** Which requests a lookup wants: fields that must be equal, or a predicate. */
export type RequestFilter =
  | {
      endpoint?: Endpoint;
      method?: string;
      clientId?: string;
      grantType?: string;
      tenant?: string;
    }
  | ((request: RecordedRequest) => boolean);

const TENANT_ENDPOINTS: [RegExp, Endpoint][] = [
  [/^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/, 'discovery'],
  [/^\/([^/]+)\/discovery\/v2\.0\/keys$/, 'jwks'],
  [/^\/([^/]+)\/oauth2\/v2\.0\/authorize$/, 'authorize'],
  [/^\/([^/]+)\/oauth2\/v2\.0\/token$/, 'token'],
  [/^\/([^/]+)\/oauth2\/v2\.0\/logout$/, 'logout'],
  [/^\/([^/]+)\/oauth2\/v2\.0\/devicecode$/, 'devicecode'],
  [/^\/([^/]+)\/oauth2\/deviceauth$/, 'deviceauth'],
];

/** The endpoint of a path; undefined for paths that are not recorded (health, harness). */
export function endpointOf(path: string): { endpoint: Endpoint; tenant?: string } | undefined {
  if (path === '/healthz' || path === '/_harness' || path.startsWith('/_harness/'))
    return undefined;
  if (path === '/common/discovery/instance') return { endpoint: 'instance-discovery' };
  if (path.startsWith('/v1.0/')) return { endpoint: 'graph' };
  if (path === '/oidc/userinfo') return { endpoint: 'userinfo' };
  for (const [pattern, endpoint] of TENANT_ENDPOINTS) {
    const match = pattern.exec(path);
    if (match) return { endpoint, tenant: safeDecode(match[1]!) };
  }
  return { endpoint: 'unknown' };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function firstValues(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) if (!(k in out)) out[k] = v;
  return out;
}

/** The `azp` (v2) or `appid` (v1) of a bearer JWT, without verifying it. */
export function bearerClient(authorization: string | undefined): string | undefined {
  const token = /^Bearer\s+([^.\s]+)\.([^.\s]+)\.[^.\s]*$/i.exec(authorization ?? '');
  if (!token) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(token[2]!, 'base64url').toString('utf8')) as unknown;
    if (!claims || typeof claims !== 'object') return undefined;
    const { azp, appid } = claims as { azp?: unknown; appid?: unknown };
    return typeof azp === 'string' ? azp : typeof appid === 'string' ? appid : undefined;
  } catch {
    return undefined;
  }
}

function basicClient(authorization: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon));
  } catch {
    return undefined;
  }
}

function errorOf(body: Record<string, unknown> | undefined): string | undefined {
  if (!body) return undefined;
  if (typeof body.error === 'string') return body.error;
  const graph = body.error as { code?: unknown } | undefined;
  return graph && typeof graph.code === 'string' ? graph.code : undefined;
}

/** Builds the record of a request once its answer is final (after error mapping). */
export function recordOf(
  ctx: Context,
  seq: number,
  time: Date,
  where: { endpoint: Endpoint; tenant?: string },
): RecordedRequest {
  const query = firstValues(new URLSearchParams(ctx.querystring));
  const raw = (ctx.request as unknown as { rawBody?: unknown }).rawBody;
  const form =
    typeof raw === 'string' && ctx.request.is('application/x-www-form-urlencoded')
      ? firstValues(new URLSearchParams(raw))
      : {};
  const params = { ...query, ...form };
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  const body =
    ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body)
      ? (structuredClone(ctx.body) as Record<string, unknown>)
      : undefined;
  return {
    seq,
    time: time.toISOString(),
    method: ctx.method,
    path: ctx.path,
    endpoint: where.endpoint,
    tenant: where.tenant,
    query,
    form,
    params,
    headers,
    clientId:
      params.client_id ?? basicClient(headers.authorization) ?? bearerClient(headers.authorization),
    grantType: where.endpoint === 'token' ? params.grant_type : undefined,
    response: {
      status: ctx.status,
      error: ctx.status >= 400 || ctx.status < 200 ? errorOf(body) : undefined,
      body,
      location: ctx.response.get('location') || undefined,
    },
  };
}

export function matches(request: RecordedRequest, filter: RequestFilter | undefined): boolean {
  if (!filter) return true;
  if (typeof filter === 'function') return filter(request);
  const lower = (v: string | undefined) => v?.toLowerCase();
  return (
    (filter.endpoint === undefined || request.endpoint === filter.endpoint) &&
    (filter.method === undefined || request.method === filter.method.toUpperCase()) &&
    (filter.clientId === undefined || lower(request.clientId) === lower(filter.clientId)) &&
    (filter.grantType === undefined || request.grantType === filter.grantType) &&
    (filter.tenant === undefined || lower(request.tenant) === lower(filter.tenant))
  );
}

interface Waiter {
  filter: RequestFilter | undefined;
  resolve(request: RecordedRequest | undefined): void;
}

/** The recorded requests not yet taken, oldest first, at most `limit` (oldest dropped). */
export class RequestRecorder {
  readonly #limit: number;
  #records: RecordedRequest[] = [];
  #waiters: Waiter[] = [];
  #seq = 0;

  constructor(limit = 1000) {
    this.#limit = limit;
  }

  nextSeq(): number {
    return ++this.#seq;
  }

  add(request: RecordedRequest): void {
    // A waiting takeRequest gets the request instead of the list.
    const waiter = this.#waiters.find((w) => matches(request, w.filter));
    if (waiter) {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      waiter.resolve(request);
      return;
    }
    this.#records.push(request);
    if (this.#records.length > this.#limit) this.#records.shift();
  }

  list(filter?: RequestFilter): RecordedRequest[] {
    return this.#records.filter((r) => matches(r, filter)).map((r) => structuredClone(r));
  }

  /** Removes and returns the oldest matching request, or undefined. */
  takeNow(filter?: RequestFilter): RecordedRequest | undefined {
    const index = this.#records.findIndex((r) => matches(r, filter));
    if (index < 0) return undefined;
    return this.#records.splice(index, 1)[0];
  }

  /** The oldest matching request, waiting up to `timeoutMs` for one to arrive. */
  take(filter: RequestFilter | undefined, timeoutMs: number): Promise<RecordedRequest | undefined> {
    const now = this.takeNow(filter);
    if (now || timeoutMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        filter,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(undefined);
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  clear(): void {
    this.#records = [];
  }

  /** Ends every waiting take (the server is closing). */
  cancelWaits(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve(undefined);
  }
}
