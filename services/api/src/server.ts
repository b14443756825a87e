// Composition: build the Koa app from a validated config; start and stop it.
import type { Server } from 'node:http';
import Router from '@koa/router';
import {
  createLogger,
  requestContext,
  serve,
  type AccessLogFields,
  type RunningServer,
} from '@koa-entra/service-kit';
import Koa from 'koa';
import type { DestinationStream, Logger } from 'pino';
import {
  entraBearer,
  type Principal,
  type SigningKeys,
  type TokenVerifier,
} from '@koa-entra/bearer';
import type { ApiConfig } from './config.ts';
import { Metrics } from './http/metrics.ts';
import { apiResponses } from './http/responses.ts';
import { WriteRateLimit } from './http/write-rate-limit.ts';
import { dataRoutes } from './routes/data.ts';
import { docsRoutes } from './routes/docs.ts';
import { healthRoutes } from './routes/health.ts';
import { itemRoutes } from './routes/items.ts';
import { authenticateWithWritePolicy } from './policy.ts';
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
  /** Where /metrics is served (METRICS_PORT). */
  metricsUrl: string | undefined;
  /** Stop accepting, let in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS), close the store. */
  close(): Promise<void>;
}

const callerFields = new WeakMap<Principal, AccessLogFields>();

/** One frozen object per principal, so that the request context serializes it once (a cached token's principal is reused). */
function callerFieldsOf(principal: Principal): AccessLogFields {
  let fields = callerFields.get(principal);
  if (fields === undefined) {
    fields = Object.freeze({
      tid: principal.tenantId,
      oid: principal.objectId,
      clientId: principal.clientId,
    });
    callerFields.set(principal, fields);
  }
  return fields;
}

export async function createApi(config: ApiConfig, options: ApiOptions = {}): Promise<Api> {
  const logger = createLogger({
    service: 'api',
    level: config.logLevel,
    destination: options.logDestination,
  });
  const metrics = new Metrics();
  const verifier = createTokenVerifier(config, { metrics, logger });
  const keys = verifier.keys;
  const store = await openStore(config);

  let stopping = false;
  const isStopping = () => stopping;
  const app = new Koa({ proxy: config.trustProxy });
  app.silent = true; // errors are answered by apiResponses and logged by requestContext
  app.use(
    requestContext({
      logger,
      metrics,
      isStopping,
      // Who called (never the token): the principal's tenant, object and client ids.
      accessLogFields: (ctx) => {
        const principal = ctx.state.principal;
        return principal ? callerFieldsOf(principal) : undefined;
      },
    }),
  );
  app.use(apiResponses());
  // Writes (any method but GET/HEAD/OPTIONS) also get the write policy (policy.ts requireWrite).
  const auth = authenticateWithWritePolicy(entraBearer(verifier), config);
  // The hot data routes in a router of their own, before the others: @koa/router tests every
  // route of a router on each request (a regular expression each), so /data/read is matched
  // against its two routes, not all fifteen (about 2k instructions). allowedMethods() sees the
  // routes of both (ctx.matched), so a wrong method on /data/read still gets its 405.
  const hot = new Router();
  const router = new Router();
  const writes = {
    store,
    authenticate: auth,
    maxBodyBytes: config.maxBodyBytes,
    quota: config.itemsQuota,
    rateLimit: new WriteRateLimit(config.writeRate),
  };
  dataRoutes(hot, writes);
  itemRoutes(router, writes);
  healthRoutes(router, {
    keys,
    store,
    logger,
    isStopping,
    timeoutMs: config.jwksFetchTimeoutMs + 500,
  });
  docsRoutes(router, config);
  app.use(hot.routes());
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
  let running: RunningServer;
  try {
    running = await serve(api.app, {
      port: config.port,
      host: config.host,
      logger: api.logger,
      name: 'api',
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      // Room for the longest accepted token (Authorization: Bearer …) and 16 KiB of other headers.
      maxHeaderSizeBytes: config.maxTokenBytes + 16 * 1024,
      beginShutdown: api.beginShutdown,
      onClosed: api.close,
      listeningFields: { store: api.store.kind },
      metrics: { port: config.metricsPort, registry: api.metrics.registry },
    });
  } catch (error) {
    await api.close();
    throw error;
  }
  return { api, ...running };
}
