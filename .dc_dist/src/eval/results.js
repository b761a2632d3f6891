/**
 * results.json: the record `kdrec experiment` writes and the report reads. One file per experiment
 * directory; one entry per model (teacher, baselines, students), each metric summarised over seeds.
 * Every result carries what is needed to reproduce it (issue 6, item 5): kdrec version, git commit,
 * config, seeds and the data fingerprint.
 *
 * The zod schema is the single definition: the TypeScript types are inferred from it, and
 * `readResults` / `parseResults` validate with it, so a hand-edited or truncated file fails with
 * the file name and the JSON path of the bad field instead of producing a wrong report.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
/** Model names the runner uses; other strategies (rank-based KD, ...) add their own names. */
export const KNOWN_MODEL_NAMES = [
    'teacher',
    'plain',
    'popularity',
    'logits-kd',
    'dmtl',
    'pfd',
    'pfd-md',
];
// zod 4's z.number() already rejects NaN and ±Infinity (JSON has neither; a NaN metric is a bug upstream).
const finite = z.number();
const nonNegative = z.number().nonnegative();
export const meanStdSchema = z.object({ mean: finite, std: nonNegative });
/** A metric over seeds: mean, sample standard deviation (0 for one seed) and the per-seed values. */
export const metricSummarySchema = z.object({
    mean: finite,
    std: nonNegative,
    perSeed: z.array(finite).min(1),
});
export const curvePointSchema = z.object({ step: nonNegative, value: finite });
export const modelResultSchema = z.object({
    /** 'teacher', 'plain', 'popularity', 'logits-kd', 'dmtl', 'pfd', 'pfd-md' or another strategy's name. */
    name: z.string().min(1),
    role: z.enum(['teacher', 'baseline', 'student']),
    /** Metric name → summary, e.g. 'AUC', 'GAUC', 'Recall@50', 'trueClicks@50'. */
    metrics: z.record(z.string(), metricSummarySchema),
    /** Trainable parameters (model size). */
    params: z.number().int().nonnegative(),
    trainSeconds: meanStdSchema,
    /** Inference cost: milliseconds to score 1000 candidates. */
    inferenceMsPer1k: meanStdSchema,
    /** Training curves per loss term (e.g. 'hard', 'kd', 'total'), from the first seed. */
    curves: z.record(z.string(), z.array(curvePointSchema)).optional(),
    /** Mean overlap of this model's top K with the teacher's over the same candidates. */
    overlapAtK: z.array(z.object({ k: z.number().int().positive(), overlap: finite })).optional(),
    /** Notes the report shows next to the model, e.g. 'diverged on seed 2'. */
    flags: z.array(z.string()).optional(),
});
export const resultsSchema = z.object({
    kdrecVersion: z.string().min(1),
    gitCommit: z.string(),
    /** ISO-8601 timestamp. */
    createdAt: z.string().min(1),
    dataset: z.object({
        name: z.string().min(1),
        /** File sizes and hashes, or the simulator's parameters: enough to tell two datasets apart. */
        fingerprint: z.string().min(1),
    }),
    config: z.record(z.string(), z.unknown()),
    seeds: z.array(z.number().int()).min(1),
    /** The teacher-aligned metric the gap-recovered chart and the report's highlights use. */
    primaryMetric: z.string().min(1).optional(),
    models: z.array(modelResultSchema).min(1),
});
/** Mean, sample standard deviation (n − 1; 0 for a single seed) and the values themselves. */
export function summarize(perSeed) {
    if (perSeed.length === 0)
        throw new Error('summarize: no values');
    for (let i = 0; i < perSeed.length; i++) {
        if (!Number.isFinite(perSeed[i]))
            throw new Error(`summarize: value ${i} is ${perSeed[i]}; expected a finite number`);
    }
    const n = perSeed.length;
    const mean = perSeed.reduce((a, b) => a + b, 0) / n;
    const std = n > 1 ? Math.sqrt(perSeed.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
    return { mean, std, perSeed: [...perSeed] };
}
/**
 * Validates an already-parsed object; `source` (a file name) prefixes every error. Beyond the
 * schema: model names are unique, at most one teacher, every metric has one value per seed, and
 * the primary metric (if named) exists on some model.
 */
export function parseResults(value, source = 'results') {
    const parsed = resultsSchema.safeParse(value);
    if (!parsed.success) {
        const lines = parsed.error.issues.slice(0, 8).map((issue) => {
            const path = issue.path.length
                ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')
                : '(root)';
            return `  ${path.replace(/^\./, '')}: ${issue.message}`;
        });
        const more = parsed.error.issues.length > 8 ? `\n  ... and ${parsed.error.issues.length - 8} more` : '';
        throw new Error(`${source}: not a valid kdrec results file:\n${lines.join('\n')}${more}`);
    }
    const r = parsed.data;
    const seen = new Set();
    let teachers = 0;
    r.models.forEach((m, i) => {
        if (seen.has(m.name))
            throw new Error(`${source}: models[${i}].name '${m.name}' appears twice; names must be unique`);
        seen.add(m.name);
        if (m.role === 'teacher')
            teachers++;
        for (const [metric, s] of Object.entries(m.metrics)) {
            if (s.perSeed.length !== r.seeds.length) {
                throw new Error(`${source}: models[${i}] ('${m.name}').metrics['${metric}'].perSeed has ${s.perSeed.length} values; expected one per seed (${r.seeds.length})`);
            }
        }
    });
    if (teachers > 1)
        throw new Error(`${source}: ${teachers} models have role 'teacher'; expected at most one`);
    if (r.primaryMetric !== undefined && !r.models.some((m) => r.primaryMetric in m.metrics)) {
        throw new Error(`${source}: primaryMetric '${r.primaryMetric}' is not a metric of any model`);
    }
    return r;
}
/** Reads and validates DIR/results.json (or any path). */
export function readResults(path) {
    let text;
    try {
        text = readFileSync(path, 'utf8');
    }
    catch (err) {
        throw new Error(`${path}: cannot read results file (${err.message})`);
    }
    let json;
    try {
        json = JSON.parse(text);
    }
    catch (err) {
        throw new Error(`${path}: not valid JSON (${err.message})`);
    }
    return parseResults(json, path);
}
/** Validates and writes results atomically (temp file + rename), so a crash never leaves half a file. */
export function writeResults(path, results) {
    const valid = parseResults(results, path);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(valid, null, 2)}\n`);
    renameSync(tmp, path);
}
//# sourceMappingURL=results.js.map