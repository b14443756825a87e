// Prometheus metrics of one API instance: the kit's (process, http_request_duration_seconds, all
// with service="api") plus the API's own, named api_*.
import { ServiceMetrics } from '@koa-entra/service-kit';
import { Counter } from 'prom-client';

export class Metrics extends ServiceMetrics {
  readonly tokenRejections = new Counter({
    name: this.name('token_rejections_total'),
    help: 'Access tokens rejected, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly issuerFetches = new Counter({
    name: this.name('issuer_fetches_total'),
    help: 'Requests to the issuer for the discovery document or the JWKS, by target and result',
    labelNames: ['target', 'result'] as const,
    registers: [this.registry],
  });
  readonly tokenCacheHits = new Counter({
    name: this.name('token_cache_hits_total'),
    help: 'Access tokens accepted from the verified-token cache (no signature check)',
    registers: [this.registry],
  });
  readonly keysUnavailable = new Counter({
    name: this.name('signing_keys_unavailable_total'),
    help: 'Requests answered 503 because no signing keys were available',
    registers: [this.registry],
  });

  constructor() {
    super({ service: 'api' });
  }
}
