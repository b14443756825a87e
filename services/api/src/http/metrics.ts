// Prometheus metrics of one API instance (own registry: several instances may share a process in tests).
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly tokenRejections = new Counter({
    name: 'api_token_rejections_total',
    help: 'Access tokens rejected, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly issuerFetches = new Counter({
    name: 'api_issuer_fetches_total',
    help: 'Requests to the issuer for the discovery document or the JWKS, by target and result',
    labelNames: ['target', 'result'] as const,
    registers: [this.registry],
  });
  readonly tokenCacheHits = new Counter({
    name: 'api_token_cache_hits_total',
    help: 'Access tokens accepted from the verified-token cache (no signature check)',
    registers: [this.registry],
  });
  readonly keysUnavailable = new Counter({
    name: 'api_signing_keys_unavailable_total',
    help: 'Requests answered 503 because no signing keys were available',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
