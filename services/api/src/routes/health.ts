import type Router from '@koa/router';
import type { SigningKeys } from '../auth/index.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Store } from '../store/index.ts';

export function healthRoutes(
  router: Router,
  options: { keys: SigningKeys; store: Store; metrics: Metrics; isStopping: () => boolean },
): Router {
  const { keys, store, metrics, isStopping } = options;

  // Liveness: the process answers. Nothing external is checked, so an issuer outage never restarts pods.
  router.get('/healthz', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = { status: 'ok' };
  });

  // Readiness: keys usable and store answering; not ready while shutting down.
  router.get('/readyz', async (ctx) => {
    // A cold instance fetches here too (bounded by the failure cooldown inside SigningKeys).
    await keys.ensureKeys();
    const status = keys.status();
    let storeOk = true;
    let storeError: string | undefined;
    try {
      await store.ping();
    } catch (error) {
      storeOk = false;
      storeError = error instanceof Error ? error.message : String(error);
    }
    const stopping = isStopping();
    const ready = status.ready && storeOk && !stopping;
    ctx.status = ready ? 200 : 503;
    ctx.set('cache-control', 'no-store');
    ctx.body = {
      status: ready ? 'ready' : 'not ready',
      checks: {
        signingKeys: status.ready
          ? 'ok'
          : `unavailable${status.lastError ? `: ${status.lastError}` : ''}`,
        store: storeOk ? `ok (${store.kind})` : `unavailable: ${storeError}`,
        ...(stopping ? { shutdown: 'in progress' } : {}),
      },
    };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });

  return router;
}
