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

/** What of the request the mapping may name (never credentials). */
export interface RequestFacts {
  /** The request's Content-Encoding header ('' when absent). */
  contentEncoding?: string;
}

/**
 * Whether `error` is a request body that failed to decompress: node:zlib's gzip/deflate errors
 * (`Z_DATA_ERROR`, `Z_BUF_ERROR`, ...) and brotli's (`ERR__ERROR_FORMAT_...`, `ERR_BROTLI_...`),
 * raised by the body parser's inflation of `Content-Encoding` (W2: the caller's fault, not a 500).
 */
export function isBodyDecodingError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown })?.code;
  // Duck-typed: node:zlib's errors may come from another realm (jest's vm), so no instanceof.
  return (
    typeof (error as { message?: unknown })?.message === 'string' &&
    (error as { status?: unknown }).status === undefined &&
    typeof code === 'string' &&
    /^(Z_[A-Z_]+|ERR__ERROR_FORMAT_\w+|ERR_BROTLI_\w+|ERR__ERROR_\w+)$/.test(code)
  );
}

/** An unknown Content-Encoding, as the body parser (inflation) raises it: 415. */
const isUnsupportedEncoding = (error: unknown) =>
  (error as { status?: unknown })?.status === 415 &&
  /^Unsupported Content-Encoding/.test((error as { message?: unknown }).message as string);

/** The Content-Encoding for a message, when it is a plain list of coding names. */
function encodingName(value: string | undefined): string {
  const v = (value ?? '').trim().toLowerCase();
  return /^[a-z0-9._+-]{1,32}(\s*,\s*[a-z0-9._+-]{1,32}){0,3}$/.test(v) ? v : 'unknown';
}

export function toResponse(error: unknown, request: RequestFacts = {}): ErrorResponse {
  if (isBodyDecodingError(error)) {
    return {
      status: 400,
      headers: { connection: 'close' },
      body: {
        error: 'invalid_request',
        error_description: `The request body is not valid ${encodingName(request.contentEncoding)} data (Content-Encoding)`,
      },
    };
  }
  if (isUnsupportedEncoding(error)) {
    return {
      status: 415,
      headers: {},
      body: {
        error: 'unsupported_media_type',
        error_description: `The request body has a Content-Encoding this API does not accept (${encodingName(request.contentEncoding)}); use gzip, deflate, br or none`,
      },
    };
  }
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
