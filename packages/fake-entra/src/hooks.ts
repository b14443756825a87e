// One-shot answers that tests queue (navikt's enqueueCallback): the next token response that
// matches carries other claims, the next Graph profile other fields, the next request to an
// endpoint an error. Each is used by exactly one request, first queued first used. Off the
// protocol path unless a test queues one: with nothing queued, the fake answers as it always does.
import { EntraError } from './errors.ts';
import type { Endpoint } from './recorder.ts';

/** Claims (or response fields) to set; a value of `undefined` removes one. */
export type Edits = Record<string, unknown>;

export interface TokenCallback {
  /** Only a token request of this app (`client_id`). */
  clientId?: string;
  /** Only this grant: `authorization_code`, `refresh_token` or `client_credentials`. */
  grantType?: string;
  /** Only a token for this resource: its identifier URI or client id (Graph: `https://graph.microsoft.com`). */
  resource?: string;
  /** Only a token for this user (UPN or oid); never matches `client_credentials`. */
  user?: string;
  /** Claims set on (`undefined`: removed from) the access token. */
  accessTokenClaims?: Edits;
  /** Claims set on (`undefined`: removed from) the ID token, when one is issued. */
  idTokenClaims?: Edits;
  /** Fields set on (`undefined`: removed from) the token response, e.g. `scope`. */
  response?: Edits;
}

export interface GraphCallback {
  /** Only the profile of this user (UPN or oid). */
  user?: string;
  /** Only a call by this app (`azp` of the token). */
  clientId?: string;
  /** Fields set on (`undefined`: removed from) the next `GET /v1.0/me` answer. */
  profile: Edits;
}

/** Endpoints that answer in Graph's error shape (`{ error: { code, message } }`). */
const GRAPH_ENDPOINTS: readonly Endpoint[] = ['graph', 'userinfo'];

export interface QueuedError {
  /** The endpoint that answers with the error (its next request that matches). */
  endpoint: Exclude<Endpoint, 'unknown'>;
  /** Only a request of this app (`client_id`, Basic credentials, or the Graph token's `azp`). */
  clientId?: string;
  /** Only a token request with this `grant_type`. */
  grantType?: string;
  /** HTTP status; default 400. (At /authorize the error is redirected to the app, as Entra does.) */
  status?: number;
  /** The OAuth `error` (e.g. `invalid_grant`), or for Graph its `error.code` (e.g. `serviceNotAvailable`). */
  error: string;
  /** Entra's AADSTS number (`error_codes`, `AADSTS{code}: ` in the description); required except for Graph. */
  code?: number;
  /** The human-readable part of `error_description` (Graph: `error.message`). */
  description?: string;
  /** `suberror` of a token error, e.g. `consent_required`, `bad_token`, `basic_action`. */
  suberror?: string;
  /** `claims` of a token error: the claims challenge (JSON) for the interactive request. */
  claims?: string;
}

export type PendingHook =
  | ({ kind: 'token' } & TokenCallback)
  | ({ kind: 'graph' } & GraphCallback)
  | ({ kind: 'error' } & QueuedError);

const CODE_WORD = /^[A-Za-z0-9_.-]+$/;
/** Endpoints whose requests say which app sends them. */
const CLIENT_ENDPOINTS: readonly Endpoint[] = [
  'authorize',
  'token',
  'logout',
  'devicecode',
  'graph',
  'userinfo',
];
const ALL_ENDPOINTS: readonly Endpoint[] = [
  'discovery',
  'instance-discovery',
  'jwks',
  'authorize',
  'token',
  'logout',
  'devicecode',
  'graph',
  'userinfo',
];

const same = (a: string | undefined, b: string | undefined) =>
  a === undefined || (b !== undefined && a.toLowerCase() === b.toLowerCase());

/** Without the fields that are `undefined` (so that pending() shows only what was asked). */
const defined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

function checkEdits(where: string, edits: unknown): void {
  if (edits !== undefined && (typeof edits !== 'object' || edits === null || Array.isArray(edits)))
    throw new TypeError(`${where} must be an object of fields to set`);
}

export class Hooks {
  #tokens: TokenCallback[] = [];
  #graph: GraphCallback[] = [];
  #errors: QueuedError[] = [];

  enqueueToken(callback: TokenCallback): void {
    checkEdits('enqueueTokenCallback: accessTokenClaims', callback.accessTokenClaims);
    checkEdits('enqueueTokenCallback: idTokenClaims', callback.idTokenClaims);
    checkEdits('enqueueTokenCallback: response', callback.response);
    if (!callback.accessTokenClaims && !callback.idTokenClaims && !callback.response)
      throw new TypeError(
        'enqueueTokenCallback: give accessTokenClaims, idTokenClaims or response (what to change)',
      );
    this.#tokens.push(defined(callback));
  }

  /** The first queued token callback for this token, removed from the queue. */
  takeToken(request: {
    clientId: string;
    grantType: string;
    resource: { identifier: string; clientId: string };
    user?: { upn: string; oid: string };
  }): TokenCallback | undefined {
    const index = this.#tokens.findIndex(
      (c) =>
        same(c.clientId, request.clientId) &&
        same(c.grantType, request.grantType) &&
        (c.resource === undefined ||
          same(c.resource.replace(/\/+$/, ''), request.resource.identifier) ||
          same(c.resource, request.resource.clientId)) &&
        (c.user === undefined ||
          (request.user !== undefined &&
            (same(c.user, request.user.upn) || same(c.user, request.user.oid)))),
    );
    return index < 0 ? undefined : this.#tokens.splice(index, 1)[0];
  }

  enqueueGraph(callback: GraphCallback): void {
    if (!callback.profile) throw new TypeError('enqueueGraphCallback: profile is required');
    checkEdits('enqueueGraphCallback: profile', callback.profile);
    this.#graph.push(defined(callback));
  }

  takeGraph(request: {
    clientId: string | undefined;
    user: { upn: string; oid: string };
  }): GraphCallback | undefined {
    const index = this.#graph.findIndex(
      (c) =>
        same(c.clientId, request.clientId) &&
        (c.user === undefined || same(c.user, request.user.upn) || same(c.user, request.user.oid)),
    );
    return index < 0 ? undefined : this.#graph.splice(index, 1)[0];
  }

  enqueueError(error: QueuedError): void {
    if (!ALL_ENDPOINTS.includes(error.endpoint))
      throw new TypeError(
        `enqueueError: endpoint must be one of ${ALL_ENDPOINTS.join(', ')}, got ${String(error.endpoint)}`,
      );
    if (typeof error.error !== 'string' || !CODE_WORD.test(error.error))
      throw new TypeError('enqueueError: error must be a code word such as invalid_grant');
    const status = error.status ?? 400;
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw new TypeError(
        `enqueueError: status must be an HTTP error status (400-599), got ${status}`,
      );
    if (
      !GRAPH_ENDPOINTS.includes(error.endpoint) &&
      (!Number.isInteger(error.code) || (error.code as number) <= 0)
    )
      throw new TypeError(
        `enqueueError: code (Entra's AADSTS number, e.g. 70008) is required for endpoint ${error.endpoint}`,
      );
    if (error.clientId !== undefined && !CLIENT_ENDPOINTS.includes(error.endpoint))
      throw new TypeError(
        `enqueueError: clientId cannot match at endpoint ${error.endpoint} (requests there name no client); it can at ${CLIENT_ENDPOINTS.join(', ')}`,
      );
    if (error.grantType !== undefined && error.endpoint !== 'token')
      throw new TypeError('enqueueError: grantType only matches at endpoint token');
    if (error.suberror !== undefined && !CODE_WORD.test(error.suberror))
      throw new TypeError('enqueueError: suberror must be a code word such as consent_required');
    if (error.claims !== undefined) {
      try {
        JSON.parse(error.claims);
      } catch {
        throw new TypeError('enqueueError: claims must be JSON, e.g. {"access_token":{...}}');
      }
    }
    this.#errors.push(defined({ ...error, status }));
  }

  /** The first queued error for this request, removed from the queue. */
  takeError(
    endpoint: Endpoint,
    request: { clientId?: string | undefined; grantType?: string | undefined } = {},
  ): QueuedError | undefined {
    const index = this.#errors.findIndex(
      (e) =>
        e.endpoint === endpoint &&
        same(e.clientId, request.clientId) &&
        same(e.grantType, request.grantType),
    );
    return index < 0 ? undefined : this.#errors.splice(index, 1)[0];
  }

  pending(): PendingHook[] {
    return structuredClone([
      ...this.#tokens.map((c) => ({ kind: 'token' as const, ...c })),
      ...this.#graph.map((c) => ({ kind: 'graph' as const, ...c })),
      ...this.#errors.map((e) => ({ kind: 'error' as const, ...e })),
    ]);
  }

  clear(): void {
    this.#tokens = [];
    this.#graph = [];
    this.#errors = [];
  }
}

/** An error a test queued: answered like any other, but not reported as a fault of the fake. */
export class QueuedEntraError extends EntraError {}

/** A queued error as the EntraError an Entra endpoint throws. */
export function entraErrorOf(queued: QueuedError): EntraError {
  return new QueuedEntraError(
    queued.status ?? 400,
    queued.error,
    queued.code ?? 0,
    queued.description ?? `The test harness answered this request with ${queued.error}.`,
    queued.suberror,
    queued.claims,
  );
}

/** Sets or (value `undefined`) removes fields. */
export function applyEdits<T extends Record<string, unknown>>(
  target: T,
  edits: Edits | undefined,
): T {
  if (!edits) return target;
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(edits)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out as T;
}
