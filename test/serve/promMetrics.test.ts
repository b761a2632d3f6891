/** Prometheus metrics: snapshots cross processes as JSON and merge series by series. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type MetricSnapshot, MetricsRegistry } from '../../src/serve/promMetrics.js';

function worker(requests: number, latencies: number[]): MetricSnapshot[] {
  const r = new MetricsRegistry();
  const c = r.counter('req_total', 'Requests.');
  const h = r.histogram('lat_seconds', 'Latency.', [0.01, 0.1]);
  c.inc({ route: '/a' }, requests);
  c.inc({ route: '/b' });
  for (const v of latencies) h.observe({ stage: 'recall' }, v);
  return JSON.parse(JSON.stringify(r.snapshot())) as MetricSnapshot[];
}

test('merged registries sum counters and histogram buckets per label set', () => {
  const text = MetricsRegistry.merged([worker(3, [0.005, 0.05]), worker(4, [0.5])]).render();
  assert.match(text, /^req_total\{route="\/a"\} 7$/m);
  assert.match(text, /^req_total\{route="\/b"\} 2$/m);
  assert.match(text, /^lat_seconds_bucket\{le="0.01",stage="recall"\} 1$/m);
  assert.match(text, /^lat_seconds_bucket\{le="0.1",stage="recall"\} 2$/m);
  assert.match(text, /^lat_seconds_bucket\{le="\+Inf",stage="recall"\} 3$/m);
  assert.match(text, /^lat_seconds_sum\{stage="recall"\} 0.555$/m);
  assert.match(text, /^lat_seconds_count\{stage="recall"\} 3$/m);
  assert.equal(text.match(/# TYPE req_total counter/g)?.length, 1);
});

test('merging a counter into a histogram of the same name, or other buckets, is refused', () => {
  const a = worker(1, [0.01]);
  const asCounter = a.map((m) => (m.name === 'lat_seconds' ? { ...m, type: 'counter' as const } : m));
  assert.throws(
    () => MetricsRegistry.merged([a, asCounter]),
    /lat_seconds: histogram in one process, counter/,
  );
  const otherBuckets = a.map((m) =>
    m.name === 'lat_seconds' ? { ...m, series: m.series.map((s) => ({ ...s, counts: [1] })) } : m,
  );
  assert.throws(() => MetricsRegistry.merged([a, otherBuckets]), /merging 1 buckets into 2/);
});
