/**
 * Counters and histograms rendered in the Prometheus text exposition format (version 0.0.4):
 * `# HELP` / `# TYPE` lines, then one sample per label set; histograms as cumulative `_bucket{le}`
 * samples plus `_sum` and `_count`. Enough for GET /metrics without a client library.
 *
 * A multi-process server (./cluster.ts) answers a scrape for all its workers: each worker sends a
 * `snapshot()` (plain JSON, so it crosses the IPC channel) and the merged registry sums counters
 * and histogram buckets series by series, the aggregation prometheus_client's multiprocess mode
 * uses for these two types.
 */

type Labels = Record<string, string>;

function labelKey(l: Labels): string {
  const parts = Object.keys(l)
    .sort()
    .map((k) => `${k}="${l[k]!.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** One metric's series as plain data (crosses process boundaries as JSON). */
export interface MetricSnapshot {
  type: 'counter' | 'histogram';
  name: string;
  help: string;
  buckets?: number[];
  series: { labels: Labels; value?: number; counts?: number[]; sum?: number; count?: number }[];
}

export class Counter {
  private readonly values = new Map<string, number>();
  private readonly labels = new Map<string, Labels>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    if (!this.labels.has(k)) this.labels.set(k, { ...labels });
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  snapshot(): MetricSnapshot {
    return {
      type: 'counter',
      name: this.name,
      help: this.help,
      series: [...this.values].map(([k, value]) => ({ labels: this.labels.get(k) ?? {}, value })),
    };
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
    return lines.join('\n');
  }
}

/** Latency buckets in seconds, from 0.5 ms (a warm recall) to 1 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];

export class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {}
  private at(labels: Labels) {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (s === undefined) {
      s = { labels: { ...labels }, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    return s;
  }
  observe(labels: Labels, value: number): void {
    const s = this.at(labels);
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  /** Adds another process's series (same buckets) into this histogram. */
  absorb(series: { labels: Labels; counts: readonly number[]; sum: number; count: number }): void {
    if (series.counts.length !== this.buckets.length)
      throw new Error(`${this.name}: merging ${series.counts.length} buckets into ${this.buckets.length}`);
    const s = this.at(series.labels);
    series.counts.forEach((c, i) => {
      s.counts[i]! += c;
    });
    s.sum += series.sum;
    s.count += series.count;
  }
  snapshot(): MetricSnapshot {
    return {
      type: 'histogram',
      name: this.name,
      help: this.help,
      buckets: [...this.buckets],
      series: [...this.series.values()].map((s) => ({
        labels: s.labels,
        counts: [...s.counts],
        sum: s.sum,
        count: s.count,
      })),
    };
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket${labelKey({ ...s.labels, le: String(b) })} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelKey({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelKey(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelKey(s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export class MetricsRegistry {
  private readonly metrics: (Counter | Histogram)[] = [];
  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.metrics.push(c);
    return c;
  }
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    const h = new Histogram(name, help, buckets);
    this.metrics.push(h);
    return h;
  }
  render(): string {
    return `${this.metrics.map((m) => m.render()).join('\n')}\n`;
  }
  snapshot(): MetricSnapshot[] {
    return this.metrics.map((m) => m.snapshot());
  }

  /** One registry holding the series-by-series sums of several processes' snapshots. */
  static merged(snapshots: readonly (readonly MetricSnapshot[])[]): MetricsRegistry {
    const out = new MetricsRegistry();
    const byName = new Map<string, Counter | Histogram>();
    for (const snap of snapshots) {
      for (const m of snap) {
        let target = byName.get(m.name);
        if (target === undefined) {
          target =
            m.type === 'counter' ? out.counter(m.name, m.help) : out.histogram(m.name, m.help, m.buckets);
          byName.set(m.name, target);
        }
        if (target instanceof Counter) {
          if (m.type !== 'counter')
            throw new Error(`metric ${m.name}: counter in one process, ${m.type} in another`);
          for (const s of m.series) target.inc(s.labels, s.value ?? 0);
        } else {
          if (m.type !== 'histogram')
            throw new Error(`metric ${m.name}: histogram in one process, ${m.type} in another`);
          for (const s of m.series)
            target.absorb({ labels: s.labels, counts: s.counts ?? [], sum: s.sum ?? 0, count: s.count ?? 0 });
        }
      }
    }
    return out;
  }
}
