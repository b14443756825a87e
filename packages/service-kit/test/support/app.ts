// Test support: a real Koa app with the kit's request context, on a real port.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import {
  ServiceMetrics,
  createLogger,
  requestContext,
  type RequestContextOptions,
} from '../../src/index.ts';
import { LogCapture } from './log-capture.ts';

export interface TestApp {
  app: Koa;
  router: Router;
  url: string;
  server: Server;
  logs: LogCapture;
  logger: Logger;
  metrics: ServiceMetrics;
  close(): Promise<void>;
}

/**
 * Builds Koa + requestContext + `between` (e.g. a service's error mapper) + router, listening on
 * port 0; `routes` adds the routes (given the app's metrics, for /metrics).
 */
export async function startApp(
  routes: (router: Router, metrics: ServiceMetrics, logger: Logger) => void,
  options: {
    level?: 'debug' | 'info';
    between?: Koa.Middleware[];
    context?: Partial<RequestContextOptions>;
  } = {},
): Promise<TestApp> {
  const logs = new LogCapture();
  const logger = createLogger({
    service: 'test',
    level: options.level ?? 'info',
    destination: logs,
  });
  const metrics = new ServiceMetrics({ service: 'test' });
  const app = new Koa();
  app.silent = true;
  app.use(requestContext({ logger, metrics, ...options.context }));
  for (const m of options.between ?? []) app.use(m);
  const router = new Router();
  routes(router, metrics, logger);
  app.use(router.routes());
  app.use(router.allowedMethods());
  const server = createServer(app.callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    app,
    router,
    url: `http://127.0.0.1:${port}`,
    server,
    logs,
    logger,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
