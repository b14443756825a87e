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
import type { Profile, DataItem } from './views/pages.ts';

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
    return {
      displayName: str(me.displayName) ?? str(me.userPrincipalName) ?? '(no name)',
      email: str(me.mail) ?? str(me.userPrincipalName) ?? '(no email)',
      jobTitle: str(me.jobTitle),
    };
  }

  async readData(accessToken: string): Promise<{ items: DataItem[]; scopes: string[] }> {
    const response = await this.#api('GET', '/data/read', accessToken);
    const body = await json('The API', response);
    const list = Array.isArray(body.data) ? body.data : [];
    const items = list.map((raw: unknown): DataItem => {
      const item = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
      const data = item.data;
      const text =
        data &&
        typeof data === 'object' &&
        typeof (data as Record<string, unknown>).text === 'string'
          ? ((data as Record<string, unknown>).text as string)
          : JSON.stringify(data ?? raw);
      return {
        id: String(item.id ?? ''),
        text,
        createdAt: typeof item.createdAt === 'string' ? item.createdAt : '',
      };
    });
    return { items, scopes: scopesOf(body['current-user-scopes']) };
  }

  async writeData(accessToken: string, text: string): Promise<void> {
    await this.#api('POST', '/data/write', accessToken, { text });
  }

  async #api(
    method: 'GET' | 'POST',
    path: string,
    accessToken: string,
    body?: unknown,
  ): Promise<Response> {
    const headers: Record<string, string> = {
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
    if (response.ok) return response;
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

function scopesOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return [];
}
