// The one mapping from failures to responses. Bodies carry `error` and `error_description`;
// never a stack trace, never the token. Bearer-token failures (@koa-entra/bearer) bring their
// status and headers (WWW-Authenticate, Retry-After); this module only adds the JSON body.
import { BearerError } from '@koa-entra/bearer';
import { StoreUnavailableError } from '../store/store.ts';

/** A request the API refuses, with the response it gets. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly error: string;
  /** Extra response headers (Retry-After of a 429, ...). */
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    error: string,
    description: string,
    headers: Record<string, string> = {},
  ) {
    super(description);
    this.status = status;
    this.error = error;
    this.headers = headers;
  }
}

export const invalidRequest = (description: string) =>
  new HttpError(400, 'invalid_request', description);

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: string; error_description: string };
}

export function toResponse(error: unknown): ErrorResponse {
  if (error instanceof BearerError) {
    return {
      status: error.status,
      headers: { ...error.headers },
      // No credentials at all: RFC 6750 sends no error code; the body still names the problem.
      body: { error: error.error ?? 'unauthorized', error_description: error.message },
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
  if (error instanceof HttpError) {
    // The unread rest of an oversized body is not worth receiving: close the connection.
    return {
      status: error.status,
      headers: error.status === 413 ? { ...error.headers, connection: 'close' } : error.headers,
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
