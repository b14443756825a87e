// Prometheus metrics of one web app instance: the kit's (process, http_request_duration_seconds,
// all with service="client") plus the web app's own, named client_*.
import { ServiceMetrics } from '@koa-entra/service-kit';
import { Counter } from 'prom-client';

export class Metrics extends ServiceMetrics {
  readonly tokenRequests = new Counter({
    name: this.name('token_requests_total'),
    help: 'Access tokens obtained per resource: from the cache, from the issuer (refresh/code), interaction required, error',
    labelNames: ['resource', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly signIns = new Counter({
    name: this.name('sign_ins_total'),
    help: 'Completed sign-ins by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly upstreamCalls = new Counter({
    name: this.name('upstream_calls_total'),
    help: 'Calls to Graph (upstream="graph") and the API (upstream="api") by outcome',
    labelNames: ['upstream', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    super({ service: 'client' });
  }
}

export function createMetrics(): Metrics {
  return new Metrics();
}
