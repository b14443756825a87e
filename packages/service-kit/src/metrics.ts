// Prometheus metrics of one app instance: its own registry (several instances may share a
// process in tests), one naming scheme, a `service` label on every series.
import { Registry, collectDefaultMetrics, type Metric } from 'prom-client';

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

type DurationLabel = 'method' | 'route' | 'status' | 'le';

/** Counts of one (method, route, status): per bucket (not cumulative), sum and count. */
interface Series {
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * `http_request_duration_seconds{method,route,status}`: one histogram for both services, with
 * the route template (`/data/read`) or `unmatched`, and the final status. It runs on every
 * request, so it is a histogram of its own rather than prom-client's (which validates and
 * hashes the label object on each observation, about 1 µs): series are found through nested
 * maps keyed by the method, route and status values, and the registry renders them like any
 * prom-client metric (default labels included).
 */
export class HttpRequestDuration {
  readonly name = 'http_request_duration_seconds';
  readonly help =
    'HTTP request duration in seconds, by method, route template (or "unmatched") and status';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['method', 'route', 'status'] as const;
  readonly #bounds = HTTP_DURATION_BUCKETS;
  readonly #series = new Map<string, Map<string, Map<number, Series>>>();

  constructor(registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    let byRoute = this.#series.get(method);
    if (byRoute === undefined) this.#series.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (series === undefined) {
      series = {
        method,
        route,
        status,
        buckets: new Float64Array(this.#bounds.length),
        sum: 0,
        count: 0,
      };
      byStatus.set(status, series);
    }
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        (series.buckets[i] as number)++;
        break;
      }
    }
    series.sum += seconds;
    series.count++;
  }

  /** prom-client's metric interface: the values the registry renders. */
  async get() {
    const name = this.name;
    const values: {
      value: number;
      labels: Partial<Record<DurationLabel, string>>;
      metricName: string;
    }[] = [];
    for (const byRoute of this.#series.values())
      for (const byStatus of byRoute.values())
        for (const s of byStatus.values()) {
          const labels = { method: s.method, route: s.route, status: String(s.status) };
          let cumulative = 0;
          this.#bounds.forEach((bound, i) => {
            cumulative += s.buckets[i] as number;
            values.push({
              value: cumulative,
              labels: { ...labels, le: String(bound) },
              metricName: `${name}_bucket`,
            });
          });
          values.push({
            value: s.count,
            labels: { ...labels, le: '+Inf' },
            metricName: `${name}_bucket`,
          });
          values.push({ value: s.sum, labels, metricName: `${name}_sum` });
          values.push({ value: s.count, labels, metricName: `${name}_count` });
        }
    return { name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#series.clear();
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
