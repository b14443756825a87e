// Composition: build the Koa app from the configuration; startWebApp listens and returns how to
// stop it. main.ts wires process signals.
import type { Server } from 'node:http';
import Koa from 'koa';
import { createLogger, requestContext, serve } from '@koa-entra/service-kit';
import type { DestinationStream, Logger } from 'pino';
import { Authenticator } from './auth/authenticator.ts';
import { PendingSignIns } from './auth/pending-sign-ins.ts';
import { SessionIndex } from './auth/session-index.ts';
import { SignInFlow } from './auth/sign-in-flow.ts';
import type { WebAppConfig } from './config.ts';
import { formBodies } from './http/body.ts';
import { errorPages, interactionRedirect } from './http/errors.ts';
import { Metrics } from './http/metrics.ts';
import { PendingWrites } from './http/pending-write.ts';
import { SignInLimiter } from './http/rate-limit.ts';
import { securityHeaders } from './http/security-headers.ts';
import { absoluteExpiry, secureCookies, sessionKey, sessions } from './http/session.ts';
import { authRoutes } from './routes/auth.ts';
import { operationalRoutes } from './routes/operational.ts';
import { pageRoutes } from './routes/pages.ts';
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
  /** Marks the instance as stopping: /readyz answers 503 and responses close their connection. */
  beginShutdown(): void;
  /** Closes the store it opened; call after the HTTP server has drained. */
  close(): Promise<void>;
}

export async function createWebApp(
  config: WebAppConfig,
  options: WebAppOptions = {},
): Promise<WebApp> {
  const log = createLogger({
    service: 'client',
    level: config.logLevel,
    destination: options.logDestination,
  });
  const store =
    options.store ?? (await openStore(config.redisUrl, { maxBytes: config.memoryStoreMaxBytes }));
  const metrics = new Metrics();
  const auth = new Authenticator(config, store, log, (resource, outcome) =>
    metrics.tokenRequests.inc({ resource, outcome }),
  );
  const upstreams = new Upstreams(config, (upstream, outcome) =>
    metrics.upstreamCalls.inc({ upstream, outcome }),
  );
  const ownOrigin = config.publicOrigin;
  const pendingSignIns = new PendingSignIns({
    sessionCookieName: config.sessionCookieName,
    secureCookies: config.secureCookies,
    sessionKeys: config.sessionKeys,
  });
  const signIns = new SignInFlow(
    auth,
    pendingSignIns,
    new SignInLimiter(config.signInLimitPerMinute),
  );
  const sessionIndex = new SessionIndex(store, config.sessionAbsoluteTimeoutSeconds, sessionKey);
  const writes = new PendingWrites(ownOrigin);

  // Fetched early so that the first page already lists the issuer in its CSP form-action.
  auth
    .issuerMetadata()
    .catch((error: unknown) =>
      log.warn({ err: { message: (error as Error).message } }, 'issuer metadata not available yet'),
    );

  let stopping = false;
  const isStopping = () => stopping;
  const app = new Koa({ proxy: config.trustProxy, keys: config.sessionKeys });
  app.silent = true; // errors are answered by errorPages and logged by requestContext
  app.use(requestContext({ logger: log, metrics, isStopping }));
  // Secure cookies and HSTS follow the configured public origin (REDIRECT_URI), not the hop in
  // front: behind a TLS-terminating proxy without TRUST_PROXY the request itself looks like http.
  app.use(secureCookies(config));
  app.use(
    securityHeaders({
      formActionOrigins: () => auth.issuerPageOrigins(),
      hsts: config.secureCookies,
    }),
  );
  app.use(errorPages());
  const operational = operationalRoutes({ store, logger: log, isStopping });
  app.use(operational.routes());
  app.use(sessions(app, config, store));
  app.use(absoluteExpiry(config));
  app.use(interactionRedirect(signIns));
  app.use(formBodies());
  const deps = {
    auth,
    upstreams,
    store,
    metrics,
    ownOrigin,
    signIns,
    pendingSignIns,
    sessionIndex,
    writes,
  };
  for (const router of [authRoutes(deps), pageRoutes(deps)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }

  return {
    app,
    log,
    store,
    metrics,
    auth,
    beginShutdown: () => {
      stopping = true;
    },
    close: async () => {
      if (!options.store) await store.close();
    },
  };
}

export interface RunningWebApp {
  url: string;
  server: Server;
  /** Where /metrics is served (METRICS_PORT). */
  metricsUrl: string | undefined;
  webApp: WebApp;
  close(): Promise<void>;
}

export async function startWebApp(
  config: WebAppConfig,
  options: WebAppOptions = {},
): Promise<RunningWebApp> {
  const webApp = await createWebApp(config, options);
  try {
    const running = await serve(webApp.app, {
      port: config.port,
      host: config.host,
      logger: webApp.log,
      name: 'web app',
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      keepAliveTimeoutMs: 65_000, // longer than typical proxy idle timeouts
      beginShutdown: webApp.beginShutdown,
      onClosed: webApp.close,
      listeningFields: { store: webApp.store.kind },
      metrics: { port: config.metricsPort, registry: webApp.metrics.registry },
    });
    const { url, server, metricsUrl, close } = running;
    return { url, server, metricsUrl, webApp, close };
  } catch (error) {
    await webApp.close();
    throw new Error(`PORT: ${(error as Error).message}`, { cause: error });
  }
}
