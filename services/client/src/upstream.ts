// Calls to Microsoft Graph and to the API, with their failures turned into typed errors (a 401
// as a claims challenge or a named token rejection, which Authenticator.withAccessToken follows).
import type { WebAppConfig } from './config.ts';
import type { PageError } from './errors.ts';
import {
  ClaimsChallengeError,
  InsufficientScopeError,
  TokenRejectedError,
  UpstreamError,
} from './errors.ts';
import type { Profile } from './views/pages.ts';

export interface UpstreamObserver {
  (service: 'graph' | 'api', outcome: string): void;
}

/** Parameters of a `WWW-Authenticate: Bearer ...` challenge (RFC 6750). */
export function parseBearerChallenge(header: string | null): Record<string, string> {
  const params: Record<string, string> = {};
  if (!header) return params;
  const re = /([A-Za-z_]+)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(header); m; m = re.exec(header))
    params[(m[1] as string).toLowerCase()] = (m[2] as string).replace(/\\(.)/g, '$1');
  return params;
}

/**
 * The claims of a `error="insufficient_claims"` challenge as JSON: Microsoft sends them base64
 * encoded (learn.microsoft.com/entra/identity-platform/claims-challenge); raw JSON is taken too.
 */
export function challengeClaims(challenge: Record<string, string>): string | undefined {
  if (challenge.error !== 'insufficient_claims' || !challenge.claims) return undefined;
  const raw = challenge.claims.trim();
  const json = raw.startsWith('{') ? raw : Buffer.from(raw, 'base64').toString('utf8');
  try {
    const parsed = JSON.parse(json) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? json : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A 401 from Graph or the API as what it is: a claims challenge to follow, or a token the
 * resource refuses, named by its stated reason (a version mismatch or a size limit is a
 * configuration problem, never worth signing in again).
 */
export function unauthorized(service: string, response: Response): PageError {
  const challenge = parseBearerChallenge(response.headers.get('WWW-Authenticate'));
  const claims = challengeClaims(challenge);
  if (claims) return new ClaimsChallengeError(service, claims);
  const description = (challenge.error_description ?? '').slice(0, 300);
  const kind = /version/i.test(description)
    ? 'version'
    : /too large|too_large|longer than/i.test(description)
      ? 'too_large'
      : 'other';
  return new TokenRejectedError(service, description || challenge.error || 'HTTP 401', kind);
}

async function call(
  service: 'Microsoft Graph' | 'The API',
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `did not answer within ${timeoutMs} ms`
        : 'could not be reached';
    throw new UpstreamError(service, `${service} ${reason}.`, { cause: error });
  }
}

async function json(service: string, response: Response): Promise<Record<string, unknown>> {
  try {
    const body = (await response.json()) as unknown;
    if (body && typeof body === 'object' && !Array.isArray(body))
      return body as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new UpstreamError(service, `${service} sent an answer that is not a JSON object.`);
}

export class Upstreams {
  readonly #config: WebAppConfig;
  readonly #observe: UpstreamObserver;

  constructor(config: WebAppConfig, observe: UpstreamObserver = () => {}) {
    this.#config = config;
    this.#observe = observe;
  }

  async profile(accessToken: string): Promise<Profile> {
    const response = await call(
      'Microsoft Graph',
      `${this.#config.graphBaseUrl}/v1.0/me`,
      { headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' } },
      this.#config.upstreamTimeoutMs,
    ).catch((e: unknown) => {
      this.#observe('graph', 'unreachable');
      throw e;
    });
    this.#observe('graph', String(response.status));
    if (response.status === 401) throw unauthorized('Microsoft Graph', response);
    if (!response.ok) {
      throw new UpstreamError(
        'Microsoft Graph',
        `Microsoft Graph answered HTTP ${response.status} for your profile.`,
      );
    }
    const me = await json('Microsoft Graph', response);
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    const graph: Record<string, string> = {};
    for (const [field, value] of Object.entries(me)) {
      if (field.startsWith('@odata.')) continue;
      if (str(value)) graph[field] = value as string;
      else if (Array.isArray(value) && value.length && value.every((v) => str(v)))
        graph[field] = value.join(', ');
    }
    return {
      displayName: str(me.displayName) ?? str(me.userPrincipalName) ?? '(no name)',
      email: str(me.mail) ?? str(me.userPrincipalName) ?? '(no email)',
      jobTitle: str(me.jobTitle),
      graph,
    };
  }

  /** One page of the caller's items, newest first (GET /data/items?limit=&cursor=). */
  async listItems(
    accessToken: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<ItemPage> {
    const query = new URLSearchParams({ limit: String(page.limit) });
    if (page.cursor) query.set('cursor', page.cursor);
    const response = await this.#api('GET', `/data/items?${query}`, accessToken, {
      pass: [400],
    });
    if (response.status === 400) throw new StaleCursorError();
    const body = await json('The API', response);
    const list = Array.isArray(body.items) ? body.items : [];
    return {
      items: list.map((raw: unknown) => toItem(raw)),
      nextCursor: typeof body.nextCursor === 'string' && body.nextCursor ? body.nextCursor : null,
    };
  }

  /** One of the caller's items, or undefined when there is none with this id (404). */
  async getItem(accessToken: string, id: string): Promise<Item | undefined> {
    const response = await this.#api('GET', itemPath(id), accessToken, { pass: [404] });
    if (response.status === 404) return undefined;
    return toItem(await json('The API', response), response.headers.get('ETag'));
  }

  /** Creates an item; the same idempotency key writes once however often it is sent. */
  async createItem(accessToken: string, text: string, idempotencyKey?: string): Promise<Item> {
    const response = await this.#api('POST', '/data/items', accessToken, {
      body: { text },
      headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {},
    });
    return toItem(await json('The API', response), response.headers.get('ETag'));
  }

  /** Replaces the item's text, if it is still the version `etag` names. */
  async updateItem(
    accessToken: string,
    id: string,
    text: string,
    etag: string,
  ): Promise<ItemChange<Item>> {
    const response = await this.#api('PUT', itemPath(id), accessToken, {
      body: { text },
      headers: { 'If-Match': quotedEtag(etag) },
      pass: [404, 412],
    });
    if (response.status === 404) return { outcome: 'not_found' };
    if (response.status === 412) return { outcome: 'stale' };
    return {
      outcome: 'done',
      value: toItem(await json('The API', response), response.headers.get('ETag')),
    };
  }

  /** Deletes the item, if it is still the version `etag` names. */
  async deleteItem(accessToken: string, id: string, etag: string): Promise<ItemChange<void>> {
    const response = await this.#api('DELETE', itemPath(id), accessToken, {
      headers: { 'If-Match': quotedEtag(etag) },
      pass: [404, 412],
    });
    if (response.status === 404) return { outcome: 'not_found' };
    if (response.status === 412) return { outcome: 'stale' };
    return { outcome: 'done', value: undefined };
  }

  async #api(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    accessToken: string,
    options: {
      body?: unknown;
      headers?: Record<string, string>;
      /** Statuses the caller handles itself (404, 412, ...): returned instead of thrown. */
      pass?: number[];
    } = {},
  ): Promise<Response> {
    const { body } = options;
    const headers: Record<string, string> = {
      ...options.headers,
      Authorization: `Bearer ${accessToken}`,
      Accept: 'application/json',
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await call(
      'The API',
      `${this.#config.apiBaseUrl}${path}`,
      { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) },
      this.#config.upstreamTimeoutMs,
    ).catch((e: unknown) => {
      this.#observe('api', 'unreachable');
      throw e;
    });
    this.#observe('api', String(response.status));
    if (response.ok || options.pass?.includes(response.status)) return response;
    const challenge = parseBearerChallenge(response.headers.get('WWW-Authenticate'));
    if (response.status === 403 && challenge.error === 'insufficient_scope') {
      const missing = (challenge.scope ?? '').split(/\s+/).filter(Boolean);
      throw new InsufficientScopeError(missing, challenge.error_description);
    }
    if (response.status === 401) throw unauthorized('The API', response);
    if (response.status >= 500) {
      throw new UpstreamError('The API', `The API answered HTTP ${response.status}.`);
    }
    throw new UpstreamError(
      'The API',
      `The API refused the request (HTTP ${response.status}${challenge.error ? `, ${challenge.error}` : ''}).`,
    );
  }
}

/** An item of the API as the pages show it. */
export interface Item {
  id: string;
  /** `data.text` when the item is a text note (what this app writes), else its data as JSON. */
  text: string;
  /** Whether `data` is exactly `{"text": "..."}`, so that editing the text loses nothing. */
  isText: boolean;
  createdAt: string;
  updatedAt: string;
  /** The version, for If-Match (quoted, as the API sent it). */
  etag: string;
}

export interface ItemPage {
  items: Item[];
  nextCursor: string | null;
}

export type ItemChange<T> =
  | { outcome: 'done'; value: T }
  | { outcome: 'not_found' }
  /** 412: the item changed since the version the user saw. */
  | { outcome: 'stale' };

/** The API refused the cursor of a list page (expired, or from another list). */
export class StaleCursorError extends Error {
  override name = 'StaleCursorError';
}

const itemPath = (id: string) => `/data/items/${encodeURIComponent(id)}`;

/** Entity tags travel quoted (RFC 9110); a bare value from a JSON body is quoted here. */
export function quotedEtag(etag: string): string {
  return /^(W\/)?".*"$/.test(etag) ? etag : `"${etag}"`;
}

function toItem(raw: unknown, etagHeader?: string | null): Item {
  const item = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const data = item.data;
  const record = data && typeof data === 'object' && !Array.isArray(data) ? data : undefined;
  const text = (record as Record<string, unknown> | undefined)?.text;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const id = typeof item.id === 'number' || typeof item.id === 'string' ? String(item.id) : '';
  if (!id) throw new UpstreamError('The API', 'The API sent an item without an id.');
  return {
    id,
    text: typeof text === 'string' ? text : JSON.stringify(data ?? null),
    isText: typeof text === 'string' && Object.keys(record ?? {}).length === 1,
    createdAt: str(item.createdAt),
    updatedAt: str(item.updatedAt) || str(item.createdAt),
    etag: etagHeader || quotedEtag(str(item.etag)),
  };
}
