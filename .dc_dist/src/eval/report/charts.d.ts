import * as vl from 'vega-lite';
import type { Results } from '../results.js';
export interface Chart {
    id: string;
    title: string;
    /** One or two sentences under the chart: what it shows and how to read it. */
    caption: string;
    svg: string;
    /** Warnings vega-lite / vega raised while compiling or rendering (kept off the console; tests expect none). */
    warnings: string[];
    /** True for charts that need the full page width (faceted panels). */
    wide?: boolean;
}
type Spec = vl.TopLevelSpec;
/**
 * Renders a vega-lite spec to an SVG string; element ids are prefixed so several charts can share
 * a page. Warnings are appended to `warnings` rather than printed, so `kdrec demo` output stays clean.
 */
export declare function renderSvg(spec: Spec, idPrefix: string, warnings?: string[]): Promise<string>;
/** Quality (primary metric) vs inference cost per 1k candidates, log x, ± std error bars. */
export declare function qualityVsCostSpec(results: Results): {
    spec: Spec;
    omitted: string[];
} | undefined;
/** Learning curves, one small panel per loss term, one line per model. */
export declare function learningCurvesSpec(results: Results): Spec | undefined;
/** Gap recovered, (student − plain) / (teacher − plain), one bar per student, with 0% and 100% marked. */
export declare function gapRecoveredSpec(results: Results): Spec | undefined;
/** Overlap of each model's top K with the teacher's, as a function of K. */
export declare function overlapCurvesSpec(results: Results): Spec | undefined;
/** All charts that the results have data for, rendered to SVG, in report order. */
export declare function renderCharts(results: Results): Promise<Chart[]>;
export {};
