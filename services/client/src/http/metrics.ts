// Prometheus metrics, one registry per app instance (several apps can live in one test process).
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  tokenRequests: Counter<'resource' | 'outcome'>;
  signIns: Counter<'outcome'>;
  upstreamCalls: Counter<'service' | 'outcome'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'webapp_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'webapp_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    tokenRequests: new Counter({
      name: 'webapp_token_requests_total',
      help: 'Access tokens obtained per resource: from the cache, from the issuer (refresh/code), interaction required, error',
      labelNames: ['resource', 'outcome'],
      registers: [registry],
    }),
    signIns: new Counter({
      name: 'webapp_sign_ins_total',
      help: 'Completed sign-ins by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    upstreamCalls: new Counter({
      name: 'webapp_upstream_calls_total',
      help: 'Calls to Graph and the API by outcome',
      labelNames: ['service', 'outcome'],
      registers: [registry],
    }),
  };
}
