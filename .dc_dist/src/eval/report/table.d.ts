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
export declare function metricDirection(metric: string): 'higher' | 'lower' | 'none';
/** The metric the report centres on: results.primaryMetric, else the teacher's (or first model's) first metric. */
export declare function primaryMetricOf(results: Results): string | undefined;
/** Metric names in display order: primary first, then by first appearance across models. */
export declare function metricNames(results: Results): string[];
/**
 * (model − plain) / (teacher − plain) on `metric`, or undefined when the teacher or the plain
 * student is missing, lacks the metric, or the two are equal (no gap to recover).
 */
export declare function gapRecovered(results: Results, model: ModelResult, metric: string): number | undefined;
/** "0.7123 ± 0.0031" (or "0.7123" for a single seed). */
export declare function formatMeanStd(s: MetricSummary | MeanStd, seeds: number, decimals?: number): string;
/** 1234567 → "1.23M", 45300 → "45.3k". */
export declare function formatCount(n: number): string;
export declare function formatPercent(v: number): string;
export declare function comparisonTable(results: Results, options?: TableOptions): Table;
/** Aligned plain-text table for the terminal: header, a rule, one line per model. */
export declare function formatTable(table: Table): string;
/** Aligned GitHub-flavoured Markdown table; the best non-teacher value per metric is bold. */
export declare function markdownTable(table: Table): string;
