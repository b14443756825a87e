import { expect, test } from '@jest/globals';
import { HTTP_DURATION_BUCKETS, ServiceMetrics } from '../src/index.ts';

/** The value of one exposition line. */
const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('the request duration histogram: cumulative buckets, sum and count per method, route and status', async () => {
  const metrics = new ServiceMetrics({ service: 'api', defaultMetrics: false });
  const d = metrics.httpRequestDuration;
  d.observe('GET', '/data/read', 200, 0.0004);
  d.observe('GET', '/data/read', 200, 0.003);
  d.observe('GET', '/data/read', 200, 42); // beyond the last bucket: +Inf only
  d.observe('GET', '/data/read', 401, 0.001); // a bound belongs to its bucket (le)
  d.observe('POST', 'unmatched', 404, 0.2);
  const text = await metrics.text();
  const series = (labels: string) => `http_request_duration_seconds${labels}`;
  const read = 'method="GET",route="/data/read",status="200"';
  expect(value(text, series(`_bucket{${read},le="0.001",service="api"}`))).toBe(1);
  expect(value(text, series(`_bucket{${read},le="0.005",service="api"}`))).toBe(2);
  expect(value(text, series(`_bucket{${read},le="10",service="api"}`))).toBe(2);
  expect(value(text, series(`_bucket{${read},le="+Inf",service="api"}`))).toBe(3);
  expect(value(text, series(`_count{${read},service="api"}`))).toBe(3);
  expect(value(text, series(`_sum{${read},service="api"}`))).toBeCloseTo(42.0034, 6);
  expect(
    value(
      text,
      series('_bucket{method="GET",route="/data/read",status="401",le="0.001",service="api"}'),
    ),
  ).toBe(1);
  expect(
    value(text, series('_count{method="POST",route="unmatched",status="404",service="api"}')),
  ).toBe(1);
  // One bucket line per bound plus +Inf, for each of the three series.
  expect(text.match(/^http_request_duration_seconds_bucket/gm)).toHaveLength(
    3 * (HTTP_DURATION_BUCKETS.length + 1),
  );
  expect(text).toContain('# TYPE http_request_duration_seconds histogram');

  // prom-client's other views of the registry work with it too.
  const json = await metrics.registry.getMetricsAsJSON();
  expect(json.find((m) => m.name === 'http_request_duration_seconds')).toMatchObject({
    type: 'histogram',
  });
  metrics.registry.resetMetrics();
  expect(await metrics.text()).not.toMatch(/^http_request_duration_seconds_count/m);
});

test("a service's own metric names follow the scheme: <service>_<name>", () => {
  expect(
    new ServiceMetrics({ service: 'client', defaultMetrics: false }).name('sign_ins_total'),
  ).toBe('client_sign_ins_total');
});

test('default process metrics, with the service label', async () => {
  const text = await new ServiceMetrics({ service: 'api' }).text();
  expect(text).toMatch(/^process_resident_memory_bytes\{service="api"\} \d+/m);
  expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{service="api"\} /m);
});
