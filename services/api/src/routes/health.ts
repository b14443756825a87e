// Probes of the API (the kit's routes): liveness and readiness (signing keys usable, store
// answering, not stopping). The body names a failing check only; why it fails (issuer URLs,
// resolver errors) goes to the log. /metrics is on METRICS_PORT (server.ts).
import type Router from '@koa/router';
import { healthRoutes as kitHealthRoutes } from '@koa-entra/service-kit';
import type { SigningKeys } from '@koa-entra/bearer';
import type { Logger } from 'pino';
import type { Store } from '../store/index.ts';

export function healthRoutes(
  router: Router,
  options: {
    keys: SigningKeys;
    store: Store;
    logger: Logger;
    isStopping: () => boolean;
    timeoutMs: number;
  },
): Router {
  const { keys, store, logger, isStopping, timeoutMs } = options;
  return kitHealthRoutes({
    router,
    readiness: {
      logger,
      isStopping,
      timeoutMs,
      checks: {
        // A cold instance fetches here too (bounded by the failure cooldown inside SigningKeys).
        signingKeys: async () => {
          await keys.ensureKeys();
          const status = keys.status();
          if (!status.ready) throw new Error(status.lastError ?? '');
        },
        store: async () => {
          await store.ping();
          return `ok (${store.kind})`;
        },
      },
    },
  });
}
