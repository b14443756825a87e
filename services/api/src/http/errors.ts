// The one mapping from failures to responses (RFC 6750 for the bearer-token ones). Bodies
// carry `error` and `error_description`; never a stack trace, never the token.
import { InvalidTokenError, KeysUnavailableError } from '../auth/index.ts';
import { StoreUnavailableError } from '../store/store.ts';

export const REALM = 'api';

/** A request the API refuses, with the response it gets. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly error: string;
  /** Whether the problem concerns the bearer credential (then WWW-Authenticate is sent). */
  readonly bearer: boolean;
  readonly scope: string | undefined;
  constructor(
    status: number,
    error: string,
    description: string,
    options: { bearer?: boolean; scope?: string } = {},
  ) {
    super(description);
    this.status = status;
    this.error = error;
    this.bearer = options.bearer ?? false;
    this.scope = options.scope;
  }
}

/** No credentials at all: 401 with a bare challenge (RFC 6750 §3.1: no error code). */
export class MissingCredentialsError extends HttpError {
  constructor() {
    super(
      401,
      'unauthorized',
      'This resource needs a bearer access token in the Authorization header',
      { bearer: true },
    );
  }
}

export const invalidRequest = (description: string, bearer = true) =>
  new HttpError(400, 'invalid_request', description, { bearer });

export const insufficientScope = (scope: string) =>
  new HttpError(403, 'insufficient_scope', `The token does not grant ${scope}`, {
    bearer: true,
    scope,
  });

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: string; error_description: string };
}

const quote = (v: string) => `"${v.replace(/["\\]/g, '')}"`;

export function toResponse(error: unknown): ErrorResponse {
  if (error instanceof InvalidTokenError) {
    return challenge(401, 'invalid_token', error.message);
  }
  if (error instanceof KeysUnavailableError) {
    return {
      status: 503,
      headers: { 'retry-after': String(error.retryAfterSeconds) },
      body: {
        error: 'temporarily_unavailable',
        error_description: 'The token issuer cannot be reached; try again later',
      },
    };
  }
  if (error instanceof StoreUnavailableError) {
    return {
      status: 503,
      headers: { 'retry-after': '5' },
      body: {
        error: 'temporarily_unavailable',
        error_description: 'The data store cannot be reached; try again later',
      },
    };
  }
  if (error instanceof MissingCredentialsError) {
    return {
      status: 401,
      headers: { 'www-authenticate': `Bearer realm=${quote(REALM)}` },
      body: { error: error.error, error_description: error.message },
    };
  }
  if (error instanceof HttpError) {
    // The unread rest of an oversized body is not worth receiving: close the connection.
    if (error.status === 413)
      return {
        status: 413,
        headers: { connection: 'close' },
        body: { error: error.error, error_description: error.message },
      };
    if (error.bearer) return challenge(error.status, error.error, error.message, error.scope);
    return {
      status: error.status,
      headers: {},
      body: { error: error.error, error_description: error.message },
    };
  }
  // Errors raised by Koa and its body parser carry a status and a safe message when `expose`.
  const e = error as { status?: unknown; type?: unknown; headers?: Record<string, unknown> };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    const allow = e.headers?.Allow ?? e.headers?.allow;
    return {
      status: e.status,
      headers: typeof allow === 'string' ? { allow } : {},
      body: clientError(e.status, e.type),
    };
  }
  return {
    status: 500,
    headers: {},
    body: { error: 'server_error', error_description: 'The server failed to answer this request' },
  };
}

function clientError(status: number, type: unknown): ErrorResponse['body'] {
  if (status === 413)
    return {
      error: 'request_too_large',
      error_description: 'The request body is larger than the API accepts',
    };
  if (status === 415)
    return {
      error: 'unsupported_media_type',
      error_description: 'The request body must be application/json',
    };
  if (status === 400 && type === 'entity.parse.failed')
    return { error: 'invalid_request', error_description: 'The request body is not valid JSON' };
  if (status === 404) return { error: 'not_found', error_description: 'No such resource' };
  if (status === 405)
    return {
      error: 'method_not_allowed',
      error_description: 'This method is not allowed on this resource',
    };
  return { error: 'invalid_request', error_description: 'The request is malformed' };
}

function challenge(
  status: number,
  error: string,
  description: string,
  scope?: string,
): ErrorResponse {
  const params = [
    `realm=${quote(REALM)}`,
    `error=${quote(error)}`,
    `error_description=${quote(description)}`,
  ];
  if (scope) params.push(`scope=${quote(scope)}`);
  return {
    status,
    headers: { 'www-authenticate': `Bearer ${params.join(', ')}` },
    body: { error, error_description: description },
  };
}
