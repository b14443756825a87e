// Composition: build the Koa app from a validated config; start and stop it.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import type { DestinationStream, Logger } from 'pino';
import { entraBearer, type SigningKeys, type TokenVerifier } from '@koa-entra/bearer';
import type { ApiConfig } from './config.ts';
import { createLogger } from './http/logger.ts';
import { Metrics } from './http/metrics.ts';
import { requestContext } from './http/request-context.ts';
import { dataRoutes } from './routes/data.ts';
import { docsRoutes } from './routes/docs.ts';
import { healthRoutes } from './routes/health.ts';
import { openStore, type Store } from './store/index.ts';
import { createTokenVerifier } from './token-verifier.ts';

export interface ApiOptions {
  /** Where log lines go (default: stdout). */
  logDestination?: DestinationStream;
}

export interface Api {
  app: Koa;
  keys: SigningKeys;
  verifier: TokenVerifier;
  store: Store;
  metrics: Metrics;
  logger: Logger;
  /** Marks the instance as stopping: /readyz answers 503 and responses close their connection. */
  beginShutdown(): void;
  /** Closes the store; call after the HTTP server has drained. */
  close(): Promise<void>;
}

export interface RunningApi {
  api: Api;
  server: Server;
  url: string;
  port: number;
  /** Stop accepting, let in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS), close the store. */
  close(): Promise<void>;
}

export async function createApi(config: ApiConfig, options: ApiOptions = {}): Promise<Api> {
  const logger = createLogger(config.logLevel, options.logDestination);
  const metrics = new Metrics();
  const verifier = createTokenVerifier(config, { metrics, logger });
  const keys = verifier.keys;
  const store = await openStore(config);

  let stopping = false;
  const app = new Koa({ proxy: config.trustProxy });
  app.silent = true; // errors are mapped and logged by requestContext
  app.use(requestContext(logger, metrics));
  app.use(async (ctx, next) => {
    if (stopping) ctx.set('connection', 'close');
    await next();
  });
  const auth = entraBearer(verifier);
  // One router: one route match per request, the hot data routes first.
  const router = new Router();
  dataRoutes(router, { store, authenticate: auth, maxBodyBytes: config.maxBodyBytes });
  healthRoutes(router, { keys, store, metrics, isStopping: () => stopping });
  docsRoutes(router, config);
  app.use(router.routes());
  app.use(router.allowedMethods());

  // Warm the key cache without delaying start; a failure leaves /readyz not ready.
  keys.refresh().catch(() => undefined);

  return {
    app,
    keys,
    verifier,
    store,
    metrics,
    logger,
    beginShutdown: () => {
      stopping = true;
    },
    close: () => store.close(),
  };
}

export async function startApi(config: ApiConfig, options: ApiOptions = {}): Promise<RunningApi> {
  const api = await createApi(config, options);
  const server = api.app.listen({ port: config.port, host: config.host });
  // Bound slow clients: the whole request must arrive within 30 s, its headers within 10 s.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  try {
    await once(server, 'listening');
  } catch (error) {
    await api.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host =
    config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : 'localhost';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      api.beginShutdown();
      // Stop accepting; idle keep-alive connections close now, busy ones after their response.
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection becomes idle once its in-flight response is sent: close it then.
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs);
      });
      if ((await Promise.race([drained, timedOut])) === 'timeout') {
        api.logger.warn(
          { timeoutMs: config.shutdownTimeoutMs },
          'in-flight requests did not finish in time; closing connections',
        );
        server.closeAllConnections();
        await drained;
      }
      clearTimeout(timer);
      clearInterval(sweeper);
      await api.close();
      api.logger.info('api stopped');
      api.logger.flush();
    })());

  api.logger.info({ url, store: api.store.kind }, 'api listening');
  return { api, server, url, port, close };
}
