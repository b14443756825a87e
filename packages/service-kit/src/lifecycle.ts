// Lifecycle: listen (bounded request and header times), a draining close, and the process entry
// point with a hard exit before an orchestrator's grace period (Kubernetes: 10 s by default here,
// terminationGracePeriodSeconds) runs out.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ConfigError } from './env.ts';
import { serializeError } from './logger.ts';

export interface ServeOptions {
  /** 0: any free port (the URL logged and returned says which). */
  port: number;
  /** Default: all interfaces. */
  host?: string | undefined;
  logger: Logger;
  /** How log lines name the service: `<name> listening`, `<name> stopped`. */
  name: string;
  /** How long close() lets requests in flight finish before it cuts their connections. */
  shutdownTimeoutMs: number;
  /** The whole request must have arrived within this (default 30 000 ms). */
  requestTimeoutMs?: number;
  /** Its headers within this (default 10 000 ms). */
  headersTimeoutMs?: number;
  /** Largest request head (all headers) accepted, else 431; default Node's (16 KiB). */
  maxHeaderSizeBytes?: number;
  /** Idle keep-alive connections close after this; default Node's (5 s). */
  keepAliveTimeoutMs?: number;
  /** Called first thing in close(): the service starts answering as stopping. */
  beginShutdown?: () => void;
  /** Called after the server has drained (close stores here). */
  onClosed?: () => Promise<void>;
  /** Fields for the `listening` line. */
  listeningFields?: Record<string, unknown>;
  /**
   * Serve the registry's /metrics on a port of its own (0: any free port), so that an ingress
   * routing the app's port never exposes it; the scraper reaches the pod's port directly.
   */
  metrics?: { port: number; host?: string | undefined; registry: Registry };
}

export interface RunningServer {
  server: Server;
  /** `http://<host>:<port>` (localhost when listening on all interfaces). */
  url: string;
  port: number;
  /** `http://<host>:<port>/metrics` when the metrics option was given. */
  metricsUrl: string | undefined;
  /**
   * Stops accepting, lets requests in flight finish (their responses say Connection: close, so
   * each connection closes once its response is sent), cuts what is left after
   * shutdownTimeoutMs, then calls onClosed. Idempotent.
   */
  close(): Promise<void>;
}

async function listen(server: Server, port: number, host: string | undefined): Promise<string> {
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    throw new Error(`cannot listen on ${host ?? '*'}:${port} (${(error as Error).message})`, {
      cause: error,
    });
  }
  const bound = (server.address() as AddressInfo).port;
  const name = host && host !== '0.0.0.0' && host !== '::' ? host : 'localhost';
  return `http://${name.includes(':') ? `[${name}]` : name}:${bound}`;
}

/** GET /metrics and nothing else: a plain HTTP server, no framework, no session, no logging. */
function metricsServer(registry: Registry): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => res.writeHead(500).end(),
    );
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  return server;
}

/** Listens with app's callback; rejects when the port cannot be used (onClosed is not called then). */
export async function serve(app: Koa, options: ServeOptions): Promise<RunningServer> {
  const { logger, name, shutdownTimeoutMs } = options;
  // Errors after the response started (a failing body stream, a socket error) reach Koa's
  // error event only; everything before is answered and logged by requestContext.
  if (app.listenerCount('error') === 0) {
    // Koa may report one failure twice (from the body stream and from on-finished).
    const logged = new WeakSet<object>();
    app.on('error', (error: { status?: unknown; expose?: unknown }) => {
      if (error.status === 404 || error.expose === true || logged.has(error)) return;
      logged.add(error);
      logger.warn({ err: error }, 'response failed after it started');
    });
  }
  const server = createServer(
    options.maxHeaderSizeBytes === undefined ? {} : { maxHeaderSize: options.maxHeaderSizeBytes },
    app.callback(),
  );
  server.requestTimeout = options.requestTimeoutMs ?? 30_000;
  server.headersTimeout = options.headersTimeoutMs ?? 10_000;
  if (options.keepAliveTimeoutMs !== undefined)
    server.keepAliveTimeout = options.keepAliveTimeoutMs;
  const url = await listen(server, options.port, options.host);
  const { port } = server.address() as AddressInfo;
  let metrics: Server | undefined;
  let metricsUrl: string | undefined;
  if (options.metrics !== undefined) {
    metrics = metricsServer(options.metrics.registry);
    try {
      metricsUrl = `${await listen(metrics, options.metrics.port, options.metrics.host ?? options.host)}/metrics`;
    } catch (error) {
      server.close();
      throw error;
    }
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      options.beginShutdown?.();
      // Stop accepting; connections idle right now close at once.
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // A response whose headers were sent before shutdown began has no Connection: close;
      // its connection turns idle when it is done: close such connections then.
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), shutdownTimeoutMs);
      });
      try {
        if ((await Promise.race([drained, timedOut])) === 'timeout') {
          logger.warn(
            { timeoutMs: shutdownTimeoutMs },
            'in-flight requests did not finish in time; closing connections',
          );
          server.closeAllConnections();
          await drained;
        }
      } finally {
        clearTimeout(timer);
        clearInterval(sweeper);
      }
      if (metrics !== undefined) {
        // Scrapes are short; a scrape in flight gets no second chance after the app has drained.
        const closed = new Promise<void>((resolve) => metrics.close(() => resolve()));
        metrics.closeAllConnections();
        await closed;
      }
      await options.onClosed?.();
      logger.info(`${name} stopped`);
      logger.flush();
    })());

  logger.info({ url, metricsUrl, ...options.listeningFields }, `${name} listening`);
  return { server, url, port, metricsUrl, close };
}

export interface MainOptions<Config, Running> {
  /** The `service` field of the lines main writes before a logger exists (`api`). */
  service: string;
  /** How log lines name the service (`api`, `web app`). */
  name: string;
  /** Reads the configuration; a ConfigError ends the process with one fatal line, exit 1. */
  loadConfig: () => Config;
  start: (config: Config) => Promise<Running>;
  logger: (running: Running) => Logger;
  close: (running: Running) => Promise<void>;
  /** The process is gone this long after the signal whatever happens; default 9500 ms. */
  hardExitMs?: number;
}

/** Stderr lines of main before the service's logger exists: the same JSON shape as pino's. */
function fatal(service: string, fields: Record<string, unknown>, msg: string): void {
  pino(
    {
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
    },
    pino.destination({ dest: 2, sync: true }),
  ).fatal(fields, msg);
}

/**
 * The process entry point: config error → one fatal line naming the variables, exit 1; start
 * failure → one fatal line, exit 1; SIGTERM/SIGINT → graceful close → exit 0 (exit 1 if the
 * close fails or takes longer than hardExitMs).
 */
export async function runMain<Config, Running>(
  options: MainOptions<Config, Running>,
): Promise<Running> {
  const { service, name, hardExitMs = 9_500 } = options;
  let config: Config;
  try {
    config = options.loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fatal(service, { variables: error.variables }, error.message);
    else fatal(service, { err: error }, 'cannot read the configuration');
    process.exit(1);
  }
  let running: Running;
  try {
    running = await options.start(config);
  } catch (error) {
    fatal(service, { err: error }, `${name} failed to start`);
    process.exit(1);
  }
  const logger = options.logger(running);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Not unref'd: a close stuck on a promise that nothing keeps alive must still end in exit 1.
    setTimeout(() => {
      logger.fatal({ hardExitMs }, 'shutdown took too long; exiting');
      logger.flush();
      process.exit(1);
    }, hardExitMs);
    options.close(running).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return running;
}
