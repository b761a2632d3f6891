/**
 * The comparison table, built once from results.json and printed three ways: aligned plain text
 * for the terminal (`formatTable`, reused by the CLI), an aligned Markdown table for report.md and
 * pull requests (`markdownTable`), and HTML rows in report.html. Cells read "mean ± std" over
 * seeds (just the mean when there is one seed). The "gap recovered" column is
 * (student − plain) / (teacher − plain) on the primary metric: 0% = no better than the plain
 * student trained on hard labels, 100% = as good as the teacher.
 */
import type { MeanStd, MetricSummary, ModelResult, Results } from '../results.js';

export interface TableColumn {
  header: string;
  align: 'left' | 'right';
  /** Metric name for metric columns (used to highlight the best value). */
  metric?: string;
}

export interface Table {
  columns: TableColumn[];
  /** Formatted cells, one array per model, aligned with `columns`. */
  rows: string[][];
  /** Model name of each row. */
  models: string[];
  /** Per row, the column indices holding the best non-teacher value of their metric. */
  best: Set<number>[];
}

export interface TableOptions {
  /** Metric columns, in order (default: the primary metric, then every metric in order of first appearance). */
  metrics?: string[];
  /** Include params / train time / inference cost columns (default true). */
  cost?: boolean;
}

/** 'higher' or 'lower' is better, or 'none' (e.g. a calibration ratio, best at 1). */
export function metricDirection(metric: string): 'higher' | 'lower' | 'none' {
  if (/calib|ratio/i.test(metric)) return 'none';
  if (/log ?loss|loss|ece|error|mse|mae/i.test(metric)) return 'lower';
  return 'higher';
}

/** The metric the report centres on: results.primaryMetric, else the teacher's (or first model's) first metric. */
export function primaryMetricOf(results: Results): string | undefined {
  if (results.primaryMetric) return results.primaryMetric;
  const ref = results.models.find((m) => m.role === 'teacher') ?? results.models[0]!;
  return Object.keys(ref.metrics)[0];
}

/** Metric names in display order: primary first, then by first appearance across models. */
export function metricNames(results: Results): string[] {
  const names: string[] = [];
  const primary = primaryMetricOf(results);
  if (primary) names.push(primary);
  for (const m of results.models)
    for (const k of Object.keys(m.metrics)) if (!names.includes(k)) names.push(k);
  return names;
}

/**
 * (model − plain) / (teacher − plain) on `metric`, or undefined when the teacher or the plain
 * student is missing, lacks the metric, or the two are equal (no gap to recover).
 */
export function gapRecovered(results: Results, model: ModelResult, metric: string): number | undefined {
  const teacher = results.models.find((m) => m.role === 'teacher');
  const plain = results.models.find((m) => m.name === 'plain');
  const t = teacher?.metrics[metric]?.mean;
  const p = plain?.metrics[metric]?.mean;
  const s = model.metrics[metric]?.mean;
  if (t === undefined || p === undefined || s === undefined) return undefined;
  const gap = t - p;
  if (Math.abs(gap) <= 1e-12 * Math.max(1, Math.abs(t))) return undefined;
  return (s - p) / gap;
}

/** Decimals that show a value of this magnitude to about 4 significant digits (max 4 decimals). */
function decimalsFor(v: number): number {
  const a = Math.abs(v);
  if (a === 0 || a < 10) return 4;
  if (a < 100) return 2;
  if (a < 1000) return 1;
  return 0;
}

/** "0.7123 ± 0.0031" (or "0.7123" for a single seed). */
export function formatMeanStd(s: MetricSummary | MeanStd, seeds: number, decimals?: number): string {
  const d = decimals ?? decimalsFor(s.mean);
  return seeds > 1 ? `${s.mean.toFixed(d)} ± ${s.std.toFixed(d)}` : s.mean.toFixed(d);
}

/** Milliseconds / seconds: the mean to 3 significant digits and the std to at least 1 ("0" when not measured). */
function formatCost(s: MeanStd, seeds: number): string {
  if (s.mean === 0 && s.std === 0) return '0';
  const digits = (v: number, sig: number) =>
    v > 0 ? Math.max(0, Math.min(4, sig - 1 - Math.floor(Math.log10(v)))) : 0;
  const d = Math.max(digits(Math.abs(s.mean), 3), seeds > 1 ? digits(s.std, 1) : 0);
  return formatMeanStd(s, seeds, d);
}

/** 1234567 → "1.23M", 45300 → "45.3k". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)}k`;
  return String(n);
}

export function formatPercent(v: number): string {
  return `${(v * 100).toFixed(0)}%`;
}

export function comparisonTable(results: Results, options: TableOptions = {}): Table {
  const seeds = results.seeds.length;
  const metrics = options.metrics ?? metricNames(results);
  const primary = primaryMetricOf(results);
  const withCost = options.cost ?? true;
  const columns: TableColumn[] = [
    { header: 'model', align: 'left' },
    { header: 'role', align: 'left' },
    ...metrics.map((m) => ({ header: m, align: 'right' as const, metric: m })),
  ];
  const showGap =
    primary !== undefined &&
    results.models.some((m) => m.role === 'student' && gapRecovered(results, m, primary) !== undefined);
  if (showGap) columns.push({ header: `gap recovered (${primary})`, align: 'right' });
  if (withCost) {
    columns.push(
      { header: 'params', align: 'right' },
      { header: 'train s', align: 'right' },
      { header: 'ms / 1k cand.', align: 'right' },
    );
  }
  // Best non-teacher model per directional metric column.
  const bestModel = new Map<number, string>();
  columns.forEach((c, ci) => {
    if (!c.metric) return;
    const dir = metricDirection(c.metric);
    if (dir === 'none') return;
    let best: ModelResult | undefined;
    for (const m of results.models) {
      if (m.role === 'teacher' || !(c.metric in m.metrics)) continue;
      const v = m.metrics[c.metric]!.mean;
      if (!best || (dir === 'higher' ? v > best.metrics[c.metric]!.mean : v < best.metrics[c.metric]!.mean))
        best = m;
    }
    if (best) bestModel.set(ci, best.name);
  });
  const rows = results.models.map((m) => {
    const cells = [m.name, m.role];
    for (const metric of metrics) {
      const s = m.metrics[metric];
      cells.push(s ? formatMeanStd(s, seeds) : '–');
    }
    if (showGap) {
      const g = m.role === 'student' ? gapRecovered(results, m, primary!) : undefined;
      cells.push(g === undefined ? '–' : formatPercent(g));
    }
    if (withCost)
      cells.push(
        formatCount(m.params),
        formatCost(m.trainSeconds, seeds),
        formatCost(m.inferenceMsPer1k, seeds),
      );
    return cells;
  });
  const best = results.models.map((m) => {
    const set = new Set<number>();
    for (const [ci, name] of bestModel) if (name === m.name) set.add(ci);
    return set;
  });
  return { columns, rows, models: results.models.map((m) => m.name), best };
}

/** Display width: counts code points, so "±" and "–" take one column. */
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return align === 'left' ? s + fill : fill + s;
}

/** Aligned plain-text table for the terminal: header, a rule, one line per model. */
export function formatTable(table: Table): string {
  const w = table.columns.map((c, ci) => Math.max(width(c.header), ...table.rows.map((r) => width(r[ci]!))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(c, w[i]!, table.columns[i]!.align))
      .join('  ')
      .trimEnd();
  const header = line(table.columns.map((c) => c.header));
  const rule = w.map((n) => '─'.repeat(n)).join('  ');
  return [header, rule, ...table.rows.map(line)].join('\n');
}

/** Aligned GitHub-flavoured Markdown table; the best non-teacher value per metric is bold. */
export function markdownTable(table: Table): string {
  const rows = table.rows.map((r, ri) => r.map((c, ci) => (table.best[ri]!.has(ci) ? `**${c}**` : c)));
  const w = table.columns.map((c, ci) => Math.max(3, width(c.header), ...rows.map((r) => width(r[ci]!))));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => pad(c, w[i]!, table.columns[i]!.align)).join(' | ')} |`;
  const sep = `|${w.map((n, i) => (table.columns[i]!.align === 'right' ? `${'-'.repeat(n + 1)}:` : `:${'-'.repeat(n + 1)}`)).join('|')}|`;
  return [line(table.columns.map((c) => c.header.replace(/\|/g, '\\|'))), sep, ...rows.map(line)].join('\n');
}
