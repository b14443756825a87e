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
  const destination = options.destination ?? stdoutDestination();
  const logger = pino(
    {
      level: options.level,
      base: { service: options.service },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
    },
    destination,
  );
  lineWriters.set(logger, plainLineWriter(logger, destination, options.service));
  return logger;
}

/** The first segment of each redacted path: a line with none of these keys needs no redaction. */
export const REDACTED_KEYS: ReadonlySet<string> = new Set(
  REDACT_PATHS.map(
    (p) => (p.startsWith('[') ? JSON.parse(p.slice(1, p.indexOf(']'))) : p.split('.')[0]) as string,
  ),
);

/**
 * Writes one line of plain fields (strings, numbers, booleans) exactly as the logger would,
 * without pino's per-key work (serializers, redaction lookups, key quoting): JSON.stringify does
 * the whole object at once. Returns false (nothing written) when the level is disabled. The
 * fields object must not change after the call: a batched destination formats it when it
 * writes the batch.
 */
export type PlainLineWriter = (
  level: 'debug' | 'info',
  fields: PlainFields,
  msg: string,
  /** More members, already JSON and after the fields' (`,"a":1`); default none. */
  more?: string,
) => boolean;

export type PlainFields = Record<string, string | number | boolean | undefined>;

const lineWriters = new WeakMap<Logger, PlainLineWriter>();

/** `,"a":1,"b":"x"` for `{ a: 1, b: 'x' }` (the members of its JSON, each after a comma). */
function members(fields: PlainFields): string {
  const json = JSON.stringify(fields);
  return json.length > 2 ? `,${json.slice(1, -1)}` : '';
}

function plainLineWriter(
  logger: Logger,
  destination: DestinationStream,
  service: string,
): PlainLineWriter {
  const bindings = `,"service":${JSON.stringify(service)}`;
  const prefix = { debug: '{"level":"debug"', info: '{"level":"info"' };
  // A batched destination takes the fields as they are and formats them with the batch.
  const batched = destination instanceof BatchedDestination ? destination : undefined;
  // Which of its levels are on, kept up to date by pino's level-change event, instead of asking
  // pino on every line (isLevelEnabled: symbol-keyed lookups on the logger). With the head and
  // tail kept below, a line costs about 0.55 µs instead of 0.7 µs (microbenchmark, Node 24).
  let on = { debug: false, info: false };
  const levelsChanged = () => {
    on = { debug: logger.isLevelEnabled('debug'), info: logger.isLevelEnabled('info') };
  };
  levelsChanged();
  logger.on('level-change', levelsChanged);
  // Head and tail of the line are kept: the head changes once per millisecond, the tail with
  // the message (the access line's is always "request").
  let time = '';
  let heads = prefix;
  let lastMsg: string | undefined;
  let tail = '';
  return (level, fields, msg, more = '') => {
    if (!on[level]) return false;
    const now = isoTime();
    if (now !== time) {
      time = now;
      heads = {
        debug: `${prefix.debug}${now}${bindings}`,
        info: `${prefix.info}${now}${bindings}`,
      };
    }
    if (msg !== lastMsg) {
      lastMsg = msg;
      tail = `,"msg":${JSON.stringify(msg)}}\n`;
    }
    const head = heads[level];
    const end = more === '' ? tail : `${more}${tail}`;
    if (batched !== undefined) batched.writeFields(head, fields, end);
    else destination.write(`${head}${members(fields)}${end}`);
    return true;
  };
}

/**
 * The plain line writer of a logger made by createLogger (not of its children, whose bindings
 * differ), for lines whose keys are known not to need redaction; undefined for other loggers.
 */
export function plainLineWriterOf(logger: Logger): PlainLineWriter | undefined {
  return lineWriters.get(logger);
}

export interface BatchedDestinationOptions {
  /** A line waits at most this long before it is written (default 10 ms). */
  maxDelayMs?: number;
  /** Pending lines are written at once when they would pass this many bytes (default 64 KiB). */
  maxPending?: number;
}

/**
 * Log lines leave in batches: one write(2) per `maxDelayMs` (or per `maxPending` bytes) through
 * pino's synchronous destination (sonic-boom, which retries EAGAIN and partial writes), instead
 * of one per line. Lines wait in order in a queue; plain lines (writeFields) wait as their
 * fields and are formatted with the batch, and every line is encoded once, into a buffer kept
 * for the purpose. Measured with wrk on the kit's request context (access line at info), a
 * synchronous write per line cost about 10 % of the requests per second, a write per event-loop
 * turn about 5 %; against a batch kept as one string and encoded by sonic-boom, this (encoding
 * into the buffer, formatting with the batch) took the request context alone from 0.71 to 0.74
 * of plain Koa's requests per second, about 2 µs per line. Pending lines
 * are written synchronously when the process exits (also after an uncaught exception and on
 * process.exit); only a SIGKILL or a crash of the runtime itself loses them (at most maxDelayMs
 * of lines).
 */
export class BatchedDestination implements DestinationStream {
  readonly #out: ReturnType<typeof pino.destination>;
  readonly #maxDelayMs: number;
  readonly #maxPending: number;
  readonly #buffer: Buffer;
  /** Lines in order, three entries each: a whole line, or head, fields and tail of a plain line. */
  readonly #queue: (string | PlainFields | undefined)[] = [];
  /** About how many bytes are queued (plain fields counted at a typical access line's size). */
  #queued = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(fd: number, options: BatchedDestinationOptions = {}) {
    this.#out = pino.destination({ dest: fd, sync: true, contentMode: 'buffer' });
    this.#maxDelayMs = options.maxDelayMs ?? 10;
    this.#maxPending = Math.max(options.maxPending ?? 65_536, 1024);
    this.#buffer = Buffer.allocUnsafeSlow(this.#maxPending);
  }

  /** A whole line (pino writes these). */
  write(line: string): void {
    this.#queue.push(line, undefined, undefined);
    this.#queued += line.length;
    this.#scheduled();
  }

  /** The line `${head}${members of fields}${tail}`, formatted when the batch is written. */
  writeFields(head: string, fields: PlainFields, tail: string): void {
    this.#queue.push(head, fields, tail);
    this.#queued += 256;
    this.#scheduled();
  }

  #scheduled(): void {
    if (this.#queued >= this.#maxPending) this.#flushPending();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#flushPending, this.#maxDelayMs);
      this.#timer.unref(); // pending lines never keep the process alive; exit writes them
    }
  }

  readonly #flushPending = (): void => {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const queue = this.#queue;
    if (queue.length === 0) return;
    const buffer = this.#buffer;
    let used = 0;
    for (let i = 0; i < queue.length; i += 3) {
      const fields = queue[i + 1] as PlainFields | undefined;
      const line =
        fields === undefined
          ? (queue[i] as string)
          : `${queue[i] as string}${members(fields)}${queue[i + 2] as string}`;
      // UTF-8 takes at most 3 bytes per UTF-16 code unit: write out first what may not fit.
      if (used > 0 && used + line.length * 3 > buffer.length) {
        this.#emit(buffer, used);
        used = 0;
      }
      if (line.length * 3 > buffer.length) this.#out.write(Buffer.from(line, 'utf8') as never);
      else used += buffer.write(line, used, 'utf8');
    }
    queue.length = 0;
    this.#queued = 0;
    if (used > 0) this.#emit(buffer, used);
  };

  #emit(buffer: Buffer, length: number): void {
    // A copy: sonic-boom may keep the bytes it could not write yet, and the buffer is reused.
    this.#out.write(Buffer.from(buffer.subarray(0, length)) as never);
  }

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
