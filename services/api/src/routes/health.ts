// Probes of the API (the kit's routes): liveness, readiness (signing keys usable, store
// answering, not stopping) and /metrics.
import type Router from '@koa/router';
import { healthRoutes as kitHealthRoutes } from '@koa-entra/service-kit';
import type { SigningKeys } from '@koa-entra/bearer';
import type { Metrics } from '../http/metrics.ts';
import type { Store } from '../store/index.ts';

export function healthRoutes(
  router: Router,
  options: {
    keys: SigningKeys;
    store: Store;
    metrics: Metrics;
    isStopping: () => boolean;
    timeoutMs: number;
  },
): Router {
  const { keys, store, metrics, isStopping, timeoutMs } = options;
  return kitHealthRoutes({
    router,
    registry: metrics.registry,
    readiness: {
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
