// Composition: build the Koa app from the configuration; startWebApp listens and returns how to
// stop it. main.ts wires process signals.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import type { DestinationStream, Logger } from 'pino';
import { Authenticator } from './auth/authenticator.ts';
import type { WebAppConfig } from './config.ts';
import { errorPages, interactionRedirect } from './http/errors.ts';
import { createLogger } from './http/logging.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import { requestContext } from './http/request-context.ts';
import { securityHeaders } from './http/security-headers.ts';
import { absoluteExpiry, sessions } from './http/session.ts';
import { operationalRoutes, routes } from './routes/index.ts';
import { openStore, type KeyValueStore } from './store/store.ts';
import { Upstreams } from './upstream.ts';

export interface WebAppOptions {
  /** Where logs go (tests capture them); default stdout. */
  logDestination?: DestinationStream;
  /** An already open store (tests); default: memory, or Redis when REDIS_URL is set. */
  store?: KeyValueStore;
}

export interface WebApp {
  app: Koa;
  log: Logger;
  store: KeyValueStore;
  metrics: Metrics;
  auth: Authenticator;
  close(): Promise<void>;
}

export async function createWebApp(
  config: WebAppConfig,
  options: WebAppOptions = {},
): Promise<WebApp> {
  const log = createLogger(config.logLevel, options.logDestination);
  const store = options.store ?? (await openStore(config.redisUrl));
  const metrics = createMetrics();
  const auth = new Authenticator(config, store, log, (resource, outcome) =>
    metrics.tokenRequests.inc({ resource, outcome }),
  );
  const upstreams = new Upstreams(config, (service, outcome) =>
    metrics.upstreamCalls.inc({ service, outcome }),
  );
  const ownOrigin = new URL(config.redirectUri).origin;

  // Fetched early so that the first page already lists the issuer in its CSP form-action.
  auth
    .issuerMetadata()
    .catch((error: unknown) =>
      log.warn({ err: { message: (error as Error).message } }, 'issuer metadata not available yet'),
    );

  const app = new Koa({ proxy: config.trustProxy, keys: config.sessionKeys });
  app.silent = true; // errors are logged once, by errorPages
  app.use(requestContext(log, metrics));
  app.use(securityHeaders(() => auth.issuerPageOrigins()));
  app.use(errorPages());
  const operational = operationalRoutes({ store, metrics });
  app.use(operational.routes());
  app.use(sessions(app, config, store));
  app.use(absoluteExpiry(config));
  app.use(interactionRedirect());
  app.use(bodyParser({ enableTypes: ['form'], formLimit: '16kb' }));
  const router = routes({ auth, upstreams, store, metrics, ownOrigin });
  app.use(router.routes());
  app.use(router.allowedMethods());

  return {
    app,
    log,
    store,
    metrics,
    auth,
    close: async () => {
      if (!options.store) await store.close();
    },
  };
}

export interface RunningWebApp {
  url: string;
  server: Server;
  webApp: WebApp;
  close(): Promise<void>;
}

export async function startWebApp(
  config: WebAppConfig,
  options: WebAppOptions = {},
): Promise<RunningWebApp> {
  const webApp = await createWebApp(config, options);
  const server = createServer(webApp.app.callback());
  server.keepAliveTimeout = 65_000; // longer than typical proxy idle timeouts
  server.listen(config.port, config.host);
  try {
    await once(server, 'listening');
  } catch (error) {
    await webApp.close();
    throw new Error(
      `PORT: cannot listen on ${config.host ?? '*'}:${config.port} (${(error as Error).message})`,
      { cause: error },
    );
  }
  const { port } = server.address() as AddressInfo;
  const host =
    config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : 'localhost';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  webApp.log.info({ url, store: webApp.store.kind }, 'web app listening');

  let stopping = false;
  // While stopping, responses say `Connection: close` so clients do not reuse the socket.
  server.prependListener('request', (_req, res) => {
    if (stopping) res.setHeader('connection', 'close');
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stopping = true;
      // Stop accepting; idle keep-alive connections close now, busy ones once their response
      // is sent (browsers keep idle sockets for minutes, so waiting for them would stall).
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      timer.unref();
      await stopped;
      clearTimeout(timer);
      clearInterval(sweeper);
      await webApp.close();
    })();
    return closing;
  };
  return { url, server, webApp, close };
}
