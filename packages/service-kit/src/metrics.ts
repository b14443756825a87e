// Prometheus metrics of one app instance: its own registry (several instances may share a
// process in tests), one naming scheme, a `service` label on every series.
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Upper bounds (seconds) of the request duration buckets: most answers here take 0.1-10 ms. */
export const HTTP_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The route label of a request no route matched (raw paths would grow the series without bound). */
export const UNMATCHED_ROUTE = 'unmatched';

export interface MetricsOptions {
  /** Value of the `service` label on every series, and the prefix of the service's own metrics. */
  service: string;
  /** Node's default process metrics (CPU, memory, event loop lag, GC); default true. */
  defaultMetrics?: boolean;
}

type DurationChild = ReturnType<Histogram<'method' | 'route' | 'status'>['labels']>;

/**
 * `http_request_duration_seconds{method,route,status}`: one histogram for both services, with
 * the route template (`/data/read`) or `unmatched`, and the final status.
 */
export class HttpRequestDuration {
  readonly histogram: Histogram<'method' | 'route' | 'status'>;
  // prom-client hashes the label object on every observation; the children of the few
  // (method, route, status) combinations a service answers are looked up by one string instead.
  readonly #children = new Map<string, DurationChild>();

  constructor(registry: Registry) {
    this.histogram = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by method, route template (or "unmatched") and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [...HTTP_DURATION_BUCKETS],
      registers: [registry],
    });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let child = this.#children.get(key);
    if (child === undefined) {
      child = this.histogram.labels(method, route, String(status));
      this.#children.set(key, child);
    }
    child.observe(seconds);
  }
}

export class ServiceMetrics {
  readonly service: string;
  readonly registry = new Registry();
  readonly httpRequestDuration: HttpRequestDuration;

  constructor(options: MetricsOptions) {
    this.service = options.service;
    this.registry.setDefaultLabels({ service: options.service });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.httpRequestDuration = new HttpRequestDuration(this.registry);
  }

  /**
   * The name of a metric of this service: `<service>_<name>` (e.g. `api_token_rejections_total`),
   * so that its own metrics follow the scheme too.
   */
  name(name: string): string {
    return `${this.service}_${name}`;
  }

  /** The exposition text, as /metrics serves it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
