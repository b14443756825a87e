// The one logger: pino JSON lines with level names, ISO time and a `service` field. Credentials
// never reach it on purpose (access lines carry the path without its query string and no
// headers; errors are logged through an allowlist); redaction is the second line of defence.
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './env.ts';

/**
 * Where credentials may appear in a log object, each redacted to "[redacted]". Explicit paths
 * only: a wildcard (`*.token`) is applied to every key of every line, which the API measured on
 * its hot path; an explicit path costs only on lines that have its top-level key. So credentials
 * go under these names, nowhere else.
 */
export const REDACT_PATHS: readonly string[] = [
  // HTTP headers, as pino's req/res serializers and hand-made header objects carry them
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["set-cookie"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'authorization',
  'cookie',
  '["set-cookie"]',
  // OAuth 2.0 / OIDC values (both spellings: protocol fields and MSAL's camelCase)
  'token',
  'access_token',
  'accessToken',
  'id_token',
  'idToken',
  'refresh_token',
  'refreshToken',
  'code',
  'state',
  'nonce',
  'code_verifier',
  'codeVerifier',
  'client_secret',
  'clientSecret',
  'query.code',
  'query.state',
  // ioredis puts the failed command's arguments (session data, token caches) on its errors
  'err.command.args',
];

export const REDACTED = '[redacted]';

export interface LoggerOptions {
  /** The `service` field of every line (`api`, `client`). */
  service: string;
  level: LogLevel;
  /** Where lines go; default: stdout, written in batches (see stdoutDestination). */
  destination?: DestinationStream;
}

/** Error fields that say what went wrong without carrying data: nothing else of an error is logged. */
export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
}

/**
 * Allowlist error serializer: type, message and stack (both with their causes) and `code`.
 * Other enumerable properties of errors (ioredis' command arguments, an HTTP client's request
 * headers) can carry secrets, so they are left out.
 */
export function serializeError(error: unknown): SerializedError | unknown {
  if (
    !(error instanceof Error) &&
    !(typeof error === 'object' && error !== null && 'message' in error)
  )
    return error;
  const full = pino.stdSerializers.err(error as Error) as unknown as {
    type: string;
    message: string;
    stack?: string;
  };
  const code = (error as { code?: unknown }).code;
  return {
    type: full.type,
    message: full.message,
    ...(full.stack ? { stack: full.stack } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
  };
}

// ISO time of the current millisecond, formatted once per millisecond rather than once per line.
let lastMs = 0;
let lastTime = '';
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
    },
    options.destination ?? stdoutDestination(),
  );
}

/**
 * Lines written in one turn of the event loop leave in one write(2) at its end (setImmediate),
 * through pino's synchronous destination: under load that is one system call for several
 * requests instead of one each, and a line waits at most one turn. Flushed synchronously when
 * the process exits (also after an uncaught exception); only a SIGKILL can lose the last turn.
 */
export class BatchedDestination implements DestinationStream {
  readonly #out: ReturnType<typeof pino.destination>;
  #pending = '';
  #scheduled = false;

  constructor(fd: number) {
    this.#out = pino.destination({ dest: fd, sync: true });
  }

  write(line: string): void {
    this.#pending += line;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushPending);
    }
  }

  readonly #flushPending = (): void => {
    this.#scheduled = false;
    const lines = this.#pending;
    if (lines === '') return;
    this.#pending = '';
    this.#out.write(lines);
  };

  /** Writes what is pending now (pino's logger.flush() calls this). */
  flush(callback?: (error?: Error) => void): void {
    this.#flushPending();
    callback?.();
  }

  flushSync(): void {
    this.#flushPending();
  }
}

let stdout: BatchedDestination | undefined;

/** The process's one batched stdout destination (shared by every logger that writes to stdout). */
export function stdoutDestination(): BatchedDestination {
  if (!stdout) {
    const destination = new BatchedDestination(1);
    process.once('exit', () => destination.flushSync());
    stdout = destination;
  }
  return stdout;
}
