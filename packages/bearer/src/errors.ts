// The RFC 6750 vocabulary as typed errors. Each error carries what an HTTP answer needs
// (`status`, `expose`, `headers` with WWW-Authenticate or Retry-After), so Koa's default error
// handler, Express's, or an application's own mapper answers correctly without knowing the
// classes. Messages are safe to send to the caller: they name the rule that failed, never the
// token or a claim value.

/** The `realm` of every challenge unless a verifier is given another one. */
export const DEFAULT_REALM = 'api';

/** Why a token was refused; stable values, meant as a metric label. */
export type TokenRejectionReason =
  | 'malformed'
  | 'too_large'
  | 'unsupported_alg'
  | 'missing_kid'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_exp'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'wrong_tenant'
  | 'unsupported_version'
  | 'id_token'
  | 'invalid_claims';

/** Why a request's credentials were malformed; stable values. */
export type InvalidRequestReason =
  'token_in_query' | 'token_in_body' | 'multiple_authorization_headers' | 'malformed_authorization';

/** Options every error constructor takes. */
export interface BearerErrorOptions {
  /** `realm` of the WWW-Authenticate challenge (default `"api"`). */
  realm?: string;
  cause?: unknown;
}

// Quotes a challenge parameter; `"` and `\` are dropped rather than escaped (RFC 6750 §3 forbids
// them in error_description and scope, and some clients do not unescape).
const quote = (value: string) => `"${value.replace(/["\\]/g, '')}"`;

/** `Bearer realm="…"[, name="value"]…` (RFC 6750 §3). */
function challenge(realm: string, params: [string, string | undefined][] = []): string {
  let header = `Bearer realm=${quote(realm)}`;
  for (const [name, value] of params) if (value) header += `, ${name}=${quote(value)}`;
  return header;
}

/**
 * Base class of every error this package throws at request time. Catch this one to map all of
 * them; read `status` and `headers` to answer.
 *
 * @example
 * ```ts
 * try {
 *   principal = await verifier.verify(token);
 * } catch (error) {
 *   if (error instanceof BearerError) {
 *     res.writeHead(error.status, error.headers).end(error.message);
 *     return;
 *   }
 *   throw error;
 * }
 * ```
 */
export abstract class BearerError extends Error {
  /** Stable identifier of the error class, e.g. `ERR_BEARER_INVALID_TOKEN`. */
  abstract readonly code: string;
  /** HTTP status to answer with. */
  readonly status: number;
  /** Whether `message` may be shown to the caller (http-errors / Koa convention). */
  readonly expose: boolean;
  /**
   * RFC 6750 `error` code (`invalid_request`, `invalid_token`, `insufficient_scope`), Microsoft's
   * `insufficient_claims` (claims challenge), `insufficient_role` (a user lacks an app role),
   * RFC 6749's `temporarily_unavailable` for an issuer outage, or `undefined` when the request
   * carried no credentials (RFC 6750 §3.1: then no error code is sent).
   */
  readonly error: string | undefined;
  /** Response headers: `WWW-Authenticate` for credential problems, `Retry-After` for outages. */
  readonly headers: Readonly<Record<string, string>>;

  protected constructor(
    message: string,
    status: number,
    error: string | undefined,
    headers: Record<string, string>,
    options: BearerErrorOptions | undefined,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.expose = status < 500;
    this.error = error;
    this.headers = Object.freeze(headers);
  }
}

/**
 * 401: the request carries no bearer credentials (no Authorization header, an empty one, or
 * another scheme such as Basic). The challenge is bare, with no error code (RFC 6750 §3.1).
 *
 * @example
 * ```ts
 * // WWW-Authenticate: Bearer realm="api"
 * throw new MissingTokenError();
 * ```
 */
export class MissingTokenError extends BearerError {
  static readonly code = 'ERR_BEARER_MISSING_TOKEN';
  readonly code = MissingTokenError.code;
  constructor(
    message = 'This resource needs a bearer access token in the Authorization header',
    options?: BearerErrorOptions,
  ) {
    super(
      message,
      401,
      undefined,
      { 'WWW-Authenticate': challenge(options?.realm ?? DEFAULT_REALM) },
      options,
    );
  }
}

/**
 * 400 `invalid_request`: the credentials are malformed or sent another way than the one
 * Authorization header (query string, body, two headers, two tokens).
 *
 * @example
 * ```ts
 * if (error instanceof InvalidRequestError && error.reason === 'token_in_query') {
 *   // the client leaked its token into a URL: tell its owner
 * }
 * ```
 */
export class InvalidRequestError extends BearerError {
  static readonly code = 'ERR_BEARER_INVALID_REQUEST';
  readonly code = InvalidRequestError.code;
  readonly reason: InvalidRequestReason;
  constructor(reason: InvalidRequestReason, message: string, options?: BearerErrorOptions) {
    super(
      message,
      400,
      'invalid_request',
      {
        'WWW-Authenticate': challenge(options?.realm ?? DEFAULT_REALM, [
          ['error', 'invalid_request'],
          ['error_description', message],
        ]),
      },
      options,
    );
    this.reason = reason;
  }
}

/**
 * 401 `invalid_token`: the token must not be accepted (signature, expiry, audience, issuer,
 * tenant, version, claims). `reason` says which rule failed.
 *
 * @example
 * ```ts
 * hooks: { tokenRejected: (error) => rejections.inc({ reason: error.reason }) }
 * ```
 */
export class InvalidTokenError extends BearerError {
  static readonly code = 'ERR_BEARER_INVALID_TOKEN';
  readonly code = InvalidTokenError.code;
  readonly reason: TokenRejectionReason;
  constructor(reason: TokenRejectionReason, message: string, options?: BearerErrorOptions) {
    super(
      message,
      401,
      'invalid_token',
      {
        'WWW-Authenticate': challenge(options?.realm ?? DEFAULT_REALM, [
          ['error', 'invalid_token'],
          ['error_description', message],
        ]),
      },
      options,
    );
    this.reason = reason;
  }
}

/**
 * 403 `insufficient_scope`: a valid token that does not grant what the resource needs.
 * `scope` lists the scopes (or app roles) the resource requires, space-separated.
 *
 * @example
 * ```ts
 * // WWW-Authenticate: Bearer realm="api", error="insufficient_scope",
 * //   error_description="The token does not grant data.write", scope="data.write"
 * throw new InsufficientScopeError(['data.write']);
 * ```
 */
export class InsufficientScopeError extends BearerError {
  static readonly code = 'ERR_BEARER_INSUFFICIENT_SCOPE';
  readonly code = InsufficientScopeError.code;
  /** What the resource requires, space-separated (the challenge's `scope`). */
  readonly scope: string;
  constructor(
    required: readonly string[],
    missing: readonly string[] = required,
    options?: BearerErrorOptions,
  ) {
    const message = `The token does not grant ${missing.join(' ')}`;
    const scope = required.join(' ');
    super(
      message,
      403,
      'insufficient_scope',
      {
        'WWW-Authenticate': challenge(options?.realm ?? DEFAULT_REALM, [
          ['error', 'insufficient_scope'],
          ['error_description', message],
          ['scope', scope],
        ]),
      },
      options,
    );
    this.scope = scope;
  }
}

/** Why no key could be had; stable values. */
export type KeysUnavailableReason =
  /** No usable key set is cached and the issuer cannot be reached (cold start, or past the stale bound). */
  | 'issuer_unreachable'
  /** The token names a key this verifier has not seen, and the issuer cannot be reached to fetch it. */
  | 'unknown_kid_issuer_unreachable';

const KEYS_UNAVAILABLE_MESSAGES: Record<KeysUnavailableReason, string> = {
  issuer_unreachable: 'The token issuer cannot be reached; try again later',
  unknown_kid_issuer_unreachable:
    'The token is signed with a key this API has not seen yet, and the token issuer cannot be reached to fetch it; try again later',
};

/**
 * 503: no usable signing keys (the issuer is unreachable and nothing usable is cached), or the
 * token's key is new and the issuer cannot be reached to fetch it. Not the caller's fault, so no
 * WWW-Authenticate; `Retry-After` says when a retry may succeed. `cause` holds the last fetch
 * failure (for logs; `expose` is false).
 *
 * @example
 * ```ts
 * hooks: { keysUnavailable: (error) => log.warn({ reason: error.reason, cause: String(error.cause) }, 'no keys') }
 * ```
 */
export class KeysUnavailableError extends BearerError {
  static readonly code = 'ERR_BEARER_KEYS_UNAVAILABLE';
  readonly code = KeysUnavailableError.code;
  /** Whole seconds, at least 1 (also in the `Retry-After` header). */
  readonly retryAfterSeconds: number;
  readonly reason: KeysUnavailableReason;
  constructor(
    retryAfterSeconds: number,
    options?: BearerErrorOptions & { reason?: KeysUnavailableReason },
  ) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    const reason = options?.reason ?? 'issuer_unreachable';
    super(
      KEYS_UNAVAILABLE_MESSAGES[reason],
      503,
      'temporarily_unavailable',
      { 'Retry-After': String(seconds) },
      options,
    );
    this.retryAfterSeconds = seconds;
    this.reason = reason;
  }
}

/**
 * 403: a delegated token of a user who is not assigned an app role the resource requires
 * (`userRoles` of a requirement). Asking the user for more scopes cannot fix it (an
 * administrator assigns app roles), so the error code is not `insufficient_scope`.
 *
 * @example
 * ```ts
 * // WWW-Authenticate: Bearer realm="api", error="insufficient_role",
 * //   error_description="The signed-in user is not assigned the app role Data.Writer of this API"
 * throw new InsufficientRoleError(['Data.Writer']);
 * ```
 */
export class InsufficientRoleError extends BearerError {
  static readonly code = 'ERR_BEARER_INSUFFICIENT_ROLE';
  readonly code = InsufficientRoleError.code;
  /** The app roles the resource requires of the user. */
  readonly roles: readonly string[];
  constructor(
    required: readonly string[],
    missing: readonly string[] = required,
    options?: BearerErrorOptions,
  ) {
    const message = `The signed-in user is not assigned the app role${missing.length > 1 ? 's' : ''} ${missing.join(' ')} of this API`;
    super(
      message,
      403,
      'insufficient_role',
      {
        'WWW-Authenticate': challenge(options?.realm ?? DEFAULT_REALM, [
          ['error', 'insufficient_role'],
          ['error_description', message],
        ]),
      },
      options,
    );
    this.roles = Object.freeze([...required]);
  }
}

/** The claims request of a step-up to an authentication context (Microsoft's claims challenge). */
export function authContextClaimsRequest(authContext: string): string {
  return JSON.stringify({ access_token: { acrs: { essential: true, value: authContext } } });
}

/**
 * 401 `insufficient_claims`: a valid user token that lacks the Conditional Access authentication
 * context (`acrs`) the resource requires. The challenge carries Microsoft's claims challenge: the
 * base64 claims request the client passes on to Entra (MSAL's `claims`), which runs the context's
 * policy (a second factor, say) and issues a token with `acrs` containing it.
 * Sources: learn.microsoft.com/entra/identity-platform/claims-challenge (header format) and
 * developer-guide-conditional-access-authentication-context.
 *
 * @example
 * ```ts
 * // WWW-Authenticate: Bearer realm="api", error="insufficient_claims",
 * //   claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"
 * throw new InsufficientClaimsError('c1');
 * ```
 */
export class InsufficientClaimsError extends BearerError {
  static readonly code = 'ERR_BEARER_INSUFFICIENT_CLAIMS';
  readonly code = InsufficientClaimsError.code;
  /** The authentication context required, e.g. `c1`. */
  readonly authContext: string;
  /** The claims request as JSON (`claims` of the challenge is its base64). */
  readonly claims: string;
  constructor(
    authContext: string,
    options?: BearerErrorOptions & {
      /** Entra's authorize endpoint, sent as `authorization_uri` (Microsoft lists it; MSAL does not need it). */
      authorizationUri?: string;
    },
  ) {
    const claims = authContextClaimsRequest(authContext);
    super(
      `This operation requires the authentication context ${authContext}; ask Entra for a token with the claims of this challenge`,
      401,
      'insufficient_claims',
      {
        'WWW-Authenticate': challenge(options?.realm ?? DEFAULT_REALM, [
          ['authorization_uri', options?.authorizationUri],
          ['error', 'insufficient_claims'],
          ['claims', btoa(claims)],
        ]),
      },
      options,
    );
    this.authContext = authContext;
    this.claims = claims;
  }
}

/**
 * A verifier option is missing or malformed (thrown when the verifier is created, never per
 * request). `option` names it.
 *
 * @example
 * ```ts
 * createEntraVerifier({ tenantId: 'contoso', audience: 'x' });
 * // InvalidOptionError: tenantId must be a tenant GUID, got "contoso"
 * ```
 */
export class InvalidOptionError extends TypeError {
  static readonly code = 'ERR_BEARER_INVALID_OPTION';
  readonly code = InvalidOptionError.code;
  readonly option: string;
  constructor(option: string, message: string) {
    super(`${option} ${message}`);
    this.name = 'InvalidOptionError';
    this.option = option;
  }
}
