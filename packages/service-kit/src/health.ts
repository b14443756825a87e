// Probe routes: /healthz (liveness: the process answers, nothing external is asked, so an outage
// of a dependency never restarts pods) and /readyz (named checks, each bounded by a timeout; not
// ready while stopping). Readiness bodies are terse: which check failed, never why (an error
// message can name internal hosts and resolver errors); the reasons go to the log.
// Metrics belong on an internal port (serve's `metrics` option), not on the app's routes.
import Router from '@koa/router';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** Resolves (optionally with a detail such as `ok (sqlite)`) when ready; throws why not. */
export type ReadinessCheck = () => unknown;

export type CheckResult = { ok: true; detail?: string } | { ok: false; reason: string };

export interface ReadinessReport {
  ready: boolean;
  stopping: boolean;
  checks: Record<string, CheckResult>;
}

export interface HealthRoutesOptions {
  /** Add the routes to this router (one route match per request); default: a new router. */
  router?: Router;
  /**
   * Served on /metrics of this router. Prefer serve's `metrics` option (an internal port that an
   * ingress does not route); this is for apps that have no other port.
   */
  registry?: Registry;
  readiness?: {
    checks: Record<string, ReadinessCheck>;
    /** Per check; a check that has not answered by then fails with `no answer within N s`. Default 2000. */
    timeoutMs?: number;
    /** While true /readyz answers 503, so that traffic moves away before the server closes. */
    isStopping?: () => boolean;
    /** The response body; default `{ status, checks: { <name>: 'ok' | 'unavailable' } }`. */
    body?: (report: ReadinessReport) => unknown;
    /** Failing checks' reasons are logged here at warn, each time the set of reasons changes. */
    logger?: Logger;
  };
}

export const LIVENESS_BODY = { status: 'ok' } as const;

/**
 * The default /readyz body: `{ status: 'ready' | 'not ready', checks: {...}, shutdown while
 * stopping }`; a failing check says `unavailable`, without its reason.
 */
export function readinessBody(report: ReadinessReport): unknown {
  const checks: Record<string, string> = {};
  for (const [name, result] of Object.entries(report.checks))
    checks[name] = result.ok ? (result.detail ?? 'ok') : 'unavailable';
  if (report.stopping) checks.shutdown = 'in progress';
  return { status: report.ready ? 'ready' : 'not ready', checks };
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
  });
  try {
    const detail = await Promise.race([Promise.resolve().then(check), timeout]);
    return typeof detail === 'string' ? { ok: true, detail } : { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check at once; ready when all pass and the service is not stopping. */
export async function checkReadiness(
  checks: Record<string, ReadinessCheck>,
  options: { timeoutMs?: number; stopping?: boolean } = {},
): Promise<ReadinessReport> {
  const { timeoutMs = 2000, stopping = false } = options;
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map((n) => runCheck(checks[n] as ReadinessCheck, timeoutMs)),
  );
  const report: ReadinessReport = { ready: !stopping, stopping, checks: {} };
  names.forEach((name, i) => {
    const result = results[i] as CheckResult;
    report.checks[name] = result;
    if (!result.ok) report.ready = false;
  });
  return report;
}

export function healthRoutes(options: HealthRoutesOptions): Router {
  const { registry, readiness } = options;
  const router = options.router ?? new Router();

  router.get('/healthz', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = LIVENESS_BODY;
  });

  // Probes run every few seconds: log a failure when it starts or changes, not on every probe.
  let loggedReasons = '{}';
  router.get('/readyz', async (ctx) => {
    const report = await checkReadiness(readiness?.checks ?? {}, {
      timeoutMs: readiness?.timeoutMs,
      stopping: readiness?.isStopping?.() ?? false,
    });
    const reasons: Record<string, string> = {};
    for (const [name, result] of Object.entries(report.checks))
      if (!result.ok) reasons[name] = result.reason;
    const key = JSON.stringify(reasons);
    if (key !== loggedReasons) {
      loggedReasons = key;
      if (key !== '{}') readiness?.logger?.warn({ checks: reasons }, 'not ready');
      else readiness?.logger?.info('ready again');
    }
    ctx.status = report.ready ? 200 : 503;
    ctx.set('cache-control', 'no-store');
    ctx.body = (readiness?.body ?? readinessBody)(report);
  });

  if (registry !== undefined)
    router.get('/metrics', async (ctx) => {
      ctx.set('cache-control', 'no-store');
      ctx.type = registry.contentType;
      ctx.body = await registry.metrics();
    });

  return router;
}
