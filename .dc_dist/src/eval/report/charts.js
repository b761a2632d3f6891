/**
 * The report's charts as vega-lite specs, rendered at build time to static SVG strings
 * (vega-lite → vega → `View.toSVG()` with the headless 'none' renderer), so report.html needs no
 * script and no network. Without the optional `canvas` package vega estimates text widths instead
 * of measuring them; labels still render, and the layout leaves slack for the estimate.
 *
 * One colour per model, the same in every chart (teacher dark grey, plain light grey, students
 * from a categorical palette), so a reader can follow a model from chart to chart.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { gapRecovered, primaryMetricOf } from './table.js';
const STUDENT_PALETTE = [
    '#1f77b4',
    '#d62728',
    '#2ca02c',
    '#9467bd',
    '#ff7f0e',
    '#17becf',
    '#8c564b',
    '#e377c2',
    '#bcbd22',
];
/**
 * Model → colour, assigned over all models so a model keeps its colour in every chart; `present`
 * restricts the legend to the models a chart actually has data for.
 */
function colorScale(results, present) {
    const domain = [];
    const range = [];
    let next = 0;
    for (const m of results.models) {
        let color;
        if (m.role === 'teacher')
            color = '#333333';
        else if (m.name === 'plain')
            color = '#9a9a9a';
        else if (m.role === 'baseline')
            color = '#c7b299';
        else
            color = STUDENT_PALETTE[next++ % STUDENT_PALETTE.length];
        if (present && !present.has(m.name))
            continue;
        domain.push(m.name);
        range.push(color);
    }
    return { domain, range };
}
/** A vega/vega-lite logger that records warnings and errors instead of printing them. */
function collectingLogger(into) {
    let level = 2; // vega's Warn
    const logger = {
        level(l) {
            if (l === undefined)
                return level;
            level = l;
            return logger;
        },
        error(...args) {
            into.push(`error: ${args.map(String).join(' ')}`);
            return logger;
        },
        warn(...args) {
            into.push(args.map(String).join(' '));
            return logger;
        },
        info() {
            return logger;
        },
        debug() {
            return logger;
        },
    };
    return logger;
}
const baseConfig = {
    font: 'Helvetica, Arial, sans-serif',
    view: { stroke: '#e5e5e5' },
    axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eeeeee' },
    legend: { labelFontSize: 11, titleFontSize: 12 },
    header: { labelFontSize: 12, titleFontSize: 12 },
};
/**
 * Renders a vega-lite spec to an SVG string; element ids are prefixed so several charts can share
 * a page. Warnings are appended to `warnings` rather than printed, so `kdrec demo` output stays clean.
 */
export async function renderSvg(spec, idPrefix, warnings = []) {
    const logger = collectingLogger(warnings);
    const compiled = vl.compile(spec, { logger }).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger });
    try {
        const svg = await view.toSVG();
        // vega numbers clip paths and gradients per view ("clip1", ...); inline SVGs share one id space.
        return svg
            .replace(/\bid="([^"]+)"/g, `id="${idPrefix}-$1"`)
            .replace(/url\(#([^)]+)\)/g, `url(#${idPrefix}-$1)`);
    }
    finally {
        view.finalize();
    }
}
/** Quality (primary metric) vs inference cost per 1k candidates, log x, ± std error bars. */
export function qualityVsCostSpec(results) {
    const metric = primaryMetricOf(results);
    if (!metric)
        return undefined;
    const omitted = [];
    const values = [];
    for (const m of results.models) {
        const s = m.metrics[metric];
        if (!s)
            continue;
        if (!(m.inferenceMsPer1k.mean > 0)) {
            omitted.push(m.name);
            continue;
        }
        values.push({
            model: m.name,
            role: m.role,
            cost: m.inferenceMsPer1k.mean,
            quality: s.mean,
            lo: s.mean - s.std,
            hi: s.mean + s.std,
        });
    }
    if (values.length === 0)
        return undefined;
    const present = new Set(values.map((v) => v.model));
    const color = {
        field: 'model',
        type: 'nominal',
        title: 'model',
        scale: colorScale(results, present),
    };
    const x = {
        field: 'cost',
        type: 'quantitative',
        title: 'inference cost (ms per 1k candidates, log scale)',
        scale: { type: 'log', nice: false, padding: 40 },
    };
    const spec = {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 400,
        height: 280,
        config: baseConfig,
        data: { values },
        layer: [
            {
                mark: { type: 'rule', strokeWidth: 1.5 },
                encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
            },
            {
                mark: { type: 'point', filled: true, size: 110, opacity: 1 },
                encoding: {
                    x,
                    y: { field: 'quality', type: 'quantitative', title: metric, scale: { zero: false, padding: 16 } },
                    color,
                    shape: { field: 'role', type: 'nominal', title: 'role' },
                },
            },
            {
                mark: { type: 'text', align: 'left', dx: 8, dy: -8, fontSize: 11 },
                encoding: {
                    x,
                    y: { field: 'quality', type: 'quantitative' },
                    text: { field: 'model' },
                    color: { ...color, legend: null },
                },
            },
        ],
    };
    return { spec, omitted };
}
/** Learning curves, one small panel per loss term, one line per model. */
export function learningCurvesSpec(results) {
    const values = [];
    for (const m of results.models) {
        for (const [term, points] of Object.entries(m.curves ?? {})) {
            for (const p of points)
                values.push({ model: m.name, term, step: p.step, value: p.value });
        }
    }
    if (values.length === 0)
        return undefined;
    const terms = [...new Set(values.map((v) => v.term))];
    const present = new Set(values.map((v) => v.model));
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        config: baseConfig,
        data: { values },
        facet: { field: 'term', type: 'nominal', title: null, sort: terms, header: { labelFontWeight: 'bold' } },
        columns: Math.min(3, terms.length),
        spec: {
            width: 240,
            height: 160,
            mark: { type: 'line', strokeWidth: 1.8, interpolate: 'monotone' },
            encoding: {
                x: { field: 'step', type: 'quantitative', title: 'step' },
                y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
                color: { field: 'model', type: 'nominal', title: 'model', scale: colorScale(results, present) },
            },
        },
        resolve: { scale: { y: 'independent' } },
    };
}
/** Gap recovered, (student − plain) / (teacher − plain), one bar per student, with 0% and 100% marked. */
export function gapRecoveredSpec(results) {
    const metric = primaryMetricOf(results);
    if (!metric)
        return undefined;
    const values = [];
    for (const m of results.models) {
        if (m.role !== 'student')
            continue;
        const g = gapRecovered(results, m, metric);
        if (g !== undefined)
            values.push({ model: m.name, gap: g, label: `${(g * 100).toFixed(0)}%` });
    }
    if (values.length === 0)
        return undefined;
    // Best first; an explicit order because the bar and label layers share the y domain.
    values.sort((a, b) => b.gap - a.gap);
    const y = { field: 'model', type: 'nominal', title: null, sort: values.map((v) => v.model) };
    const present = new Set(values.map((v) => v.model));
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 400,
        height: { step: 30 },
        config: baseConfig,
        layer: [
            {
                data: { values },
                mark: { type: 'bar', cornerRadiusEnd: 2 },
                encoding: {
                    y,
                    x: {
                        field: 'gap',
                        type: 'quantitative',
                        title: `gap recovered on ${metric} (0% = plain, 100% = teacher)`,
                        axis: { format: '.0%' },
                    },
                    color: { field: 'model', type: 'nominal', scale: colorScale(results, present), legend: null },
                },
            },
            {
                data: { values },
                mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
                encoding: { y, x: { field: 'gap', type: 'quantitative' }, text: { field: 'label' } },
            },
            {
                data: { values: [{ at: 0 }, { at: 1 }] },
                mark: { type: 'rule', strokeDash: [4, 3], color: '#555555' },
                encoding: { x: { field: 'at', type: 'quantitative' } },
            },
        ],
    };
}
/** Overlap of each model's top K with the teacher's, as a function of K. */
export function overlapCurvesSpec(results) {
    const values = [];
    for (const m of results.models)
        for (const p of m.overlapAtK ?? [])
            values.push({ model: m.name, k: p.k, overlap: p.overlap });
    if (values.length === 0)
        return undefined;
    const ks = values.map((v) => v.k);
    const logK = Math.max(...ks) / Math.min(...ks) >= 20;
    const x = {
        field: 'k',
        type: 'quantitative',
        title: logK ? 'K (log scale)' : 'K',
        scale: logK ? { type: 'log', nice: false } : { zero: false },
    };
    const present = new Set(values.map((v) => v.model));
    const color = {
        field: 'model',
        type: 'nominal',
        title: 'model',
        scale: colorScale(results, present),
    };
    return {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        width: 400,
        height: 260,
        config: baseConfig,
        data: { values },
        encoding: {
            x,
            y: {
                field: 'overlap',
                type: 'quantitative',
                title: 'overlap@K with the teacher',
                scale: { domain: [0, 1] },
            },
            color,
        },
        layer: [
            { mark: { type: 'line', strokeWidth: 1.8 } },
            { mark: { type: 'point', filled: true, size: 40 } },
        ],
    };
}
/** All charts that the results have data for, rendered to SVG, in report order. */
export async function renderCharts(results) {
    const metric = primaryMetricOf(results);
    const charts = [];
    const add = async (id, title, caption, spec, wide = false) => {
        const warnings = [];
        const svg = await renderSvg(spec, id, warnings);
        charts.push({ id, title, caption, svg, warnings, ...(wide ? { wide } : {}) });
    };
    const qc = qualityVsCostSpec(results);
    if (qc) {
        const note = qc.omitted.length
            ? ` Not shown (no inference cost recorded): ${qc.omitted.join(', ')}.`
            : '';
        await add('quality-vs-cost', `Quality vs inference cost (${metric})`, `Each point is a model: higher is better on ${metric}, further left is cheaper to serve. Vertical bars are ± one standard deviation over seeds.${note}`, qc.spec);
    }
    const gap = gapRecoveredSpec(results);
    if (gap) {
        await add('gap-recovered', `Gap recovered (${metric})`, `(student − plain) / (teacher − plain) on ${metric}: how much of the distance between the student trained on hard labels only and the teacher each distillation strategy closes. Dashed lines mark 0% (plain) and 100% (teacher); below 0% is worse than plain.`, gap);
    }
    const overlap = overlapCurvesSpec(results);
    if (overlap) {
        await add('overlap-at-k', 'Overlap@K with the teacher', 'Share of the teacher’s top K that each model also puts in its top K, over the same candidates. Higher means this stage agrees more with the ranker it feeds.', overlap);
    }
    const curves = learningCurvesSpec(results);
    if (curves) {
        await add('learning-curves', 'Learning curves per loss term', 'Training loss per term (first seed), one panel per term, each with its own y scale.', curves, true);
    }
    return charts;
}
//# sourceMappingURL=charts.js.map