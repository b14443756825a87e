// The outermost middleware: request id, a child logger on ctx.state.log, the access log line and
// the duration metric. The service's error mapper runs inside it and records the error it
// answered (ctx.state.error); the access log line then carries that error, so each request is
// logged exactly once, with its final status.
import { randomUUID } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import type { Logger } from 'pino';
import { REDACTED_KEYS, plainLineWriterOf } from './logger.ts';
import { UNMATCHED_ROUTE, type ServiceMetrics } from './metrics.ts';

declare module 'koa' {
  interface DefaultState {
    /** The request id: the caller's safe X-Request-Id, or a new UUID; echoed as X-Request-Id. */
    requestId: string;
    /** A child logger whose lines carry the request id (created on first use). */
    log: Logger;
    /** Set by the service's error mapper: the error this response answers (logged with it). */
    error?: unknown;
  }
}

export type AccessLogFields = Record<string, string | number | boolean | undefined>;

/** A caller's X-Request-Id is reused only if it is this safe (it goes into logs and a header). */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Probe and scrape paths: their successful requests are logged at debug, not info. */
export const PROBE_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics'];

export interface RequestContextOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  /** Paths whose successful (< 400) requests are logged at debug; default PROBE_PATHS. */
  probePaths?: readonly string[];
  /**
   * More fields for the access log line (e.g. the authenticated caller): plain values, never
   * credentials (a field named like a redacted one still goes through the redaction).
   */
  accessLogFields?: (ctx: Context) => AccessLogFields | undefined;
  /** While true, responses carry `Connection: close` (see serve()). */
  isStopping?: () => boolean;
}

/** ctx.state of a request: the child logger is made only if something logs through it. */
class RequestState {
  requestId: string;
  error?: unknown;
  readonly #base: Logger;
  #log: Logger | undefined;
  constructor(requestId: string, base: Logger) {
    this.requestId = requestId;
    this.#base = base;
  }
  get log(): Logger {
    return (this.#log ??= this.#base.child({ requestId: this.requestId }));
  }
  set log(logger: Logger) {
    this.#log = logger;
  }
}

/** The caller's X-Request-Id if it is one header and safe (read from rawHeaders: req.headers is built lazily). */
function incomingRequestId(raw: string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 12 && name.toLowerCase() === 'x-request-id') {
      if (found !== undefined) return undefined; // two ids: trust neither
      found = raw[i + 1] as string;
    }
  }
  return found !== undefined && SAFE_REQUEST_ID.test(found) ? found : undefined;
}

export function requestContext(options: RequestContextOptions): Middleware {
  const { logger, accessLogFields, isStopping } = options;
  const duration = options.metrics.httpRequestDuration;
  const probes = new Set(options.probePaths ?? PROBE_PATHS);
  const writePlainLine = plainLineWriterOf(logger);

  // (req and res are read directly where Koa's delegating getters would add a call each.)
  return async function handleRequest(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    const { req, res } = ctx;
    const requestId = incomingRequestId(req.rawHeaders) ?? randomUUID();
    const state = new RequestState(requestId, logger);
    ctx.state = state;
    res.setHeader('x-request-id', requestId);
    try {
      await next();
    } catch (error) {
      // Only reached when the service's mapper did not answer the error: a plain 500 (or the
      // status and message of an error meant for the client, such as Koa's ctx.throw(400, ...)).
      state.error = error;
      const status = (error as { status?: unknown }).status;
      const expose = (error as { expose?: unknown }).expose === true;
      if (!res.headersSent) {
        ctx.status = expose && typeof status === 'number' ? status : 500;
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = expose ? (error as Error).message : 'Internal Server Error';
      }
    }
    if (isStopping?.()) ctx.set('connection', 'close');

    const ms = performance.now() - started;
    const status = res.statusCode;
    const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
    const route = typeof matched === 'string' ? matched : UNMATCHED_ROUTE;
    const method = req.method as string;
    duration.observe(method, route, status, ms / 1000);

    const path = ctx.request.path;
    const entry: AccessLogFields & { err?: unknown } = {
      requestId,
      method,
      path,
      route,
      status,
      durationMs: Math.round(ms * 100) / 100,
      // ctx.ip reads X-Forwarded-For (and builds req.headers) even when the proxy is not trusted.
      ip: ctx.app.proxy ? ctx.ip : (req.socket.remoteAddress ?? ''),
    };
    const extra = accessLogFields?.(ctx);
    const error = state.error;
    if (status >= 500) {
      if (extra !== undefined) Object.assign(entry, extra);
      if (status === 500) {
        if (error !== undefined) entry.err = error;
        logger.error(entry, 'request failed');
      } else {
        if (error !== undefined) entry.reason = reasonOf(error);
        logger.warn(entry, 'request not served');
      }
    } else {
      if (error !== undefined) entry.reason = reasonOf(error);
      const level = status < 400 && probes.has(path) ? 'debug' : 'info';
      // The line every request writes: written directly when nothing in it needs pino's work.
      const more = extra === undefined ? '' : plainMembersOf(extra);
      if (writePlainLine !== undefined && more !== undefined)
        writePlainLine(level, entry, 'request', more);
      else logger[level](Object.assign(entry, extra), 'request');
    }
  };
}

/** Keys of the access line itself: more fields by these names would repeat them. */
const LINE_KEYS: ReadonlySet<string> = new Set([
  'requestId',
  'method',
  'path',
  'route',
  'status',
  'durationMs',
  'ip',
  'reason',
  'err',
]);

const frozenMembers = new WeakMap<AccessLogFields, string | undefined>();

/**
 * The members of more fields' JSON (`,"a":1`), or undefined when a field needs pino's work (a
 * redacted name) or repeats a key of the line. Made once per frozen fields object: a service
 * that returns the same frozen object for the same caller (the API: one per principal) has
 * them serialized once, not on every line.
 */
function plainMembersOf(fields: AccessLogFields): string | undefined {
  const frozen = Object.isFrozen(fields);
  if (frozen && frozenMembers.has(fields)) return frozenMembers.get(fields);
  let members: string | undefined = undefined;
  let plain = true;
  for (const key in fields) if (REDACTED_KEYS.has(key) || LINE_KEYS.has(key)) plain = false;
  if (plain) {
    const json = JSON.stringify(fields);
    members = json.length > 2 ? `,${json.slice(1, -1)}` : '';
  }
  if (frozen) frozenMembers.set(fields, members);
  return members;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
