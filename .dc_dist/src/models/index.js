/**
 * Model construction from config: `createModel(spec, schema, registry, rng)` validates a spec with
 * zod (every problem reported with its path, e.g. `teacher.hidden[0]: must be > 0`), applies the
 * defaults below and builds the model. The trainer builds teacher and student with the same
 * `TableRegistry`, which is how shared embedding tables are shared (featureEmbedder.ts).
 *
 * Defaults follow the papers' small settings, scaled to the simulator: embedding dim 16; DCN-v2
 * with 2 full-rank cross layers in parallel with a 128-64 ReLU MLP; MMoE with 2 experts of 64-32
 * and one 16-unit tower per task (the MMoE paper's synthetic setup uses 8 experts; 2 is the issue's
 * default); two-tower 64-32 per tower, dot score; FM k = 16; pre-ranking MLP 64-32 with 16 cross
 * dims. The popularity baseline needs training data and is built with `new Popularity(...)`.
 */
import { z } from 'zod';
import { FIELD_GROUPS } from '../data/schema.js';
import { Fm } from './fm.js';
import { MmoeEsmm } from './mmoeEsmm.js';
import { PreRankMlp } from './preRankMlp.js';
import { RankingDnn } from './rankingDnn.js';
import { TwoTower } from './twoTower.js';
export { TableRegistry } from './featureEmbedder.js';
export { Popularity } from './popularity.js';
export { isTwoTower } from './types.js';
const width = z.int().positive();
const widths = z.array(width);
const groups = z.array(z.enum(FIELD_GROUPS)).min(1);
/** Options every model takes. */
const common = {
    name: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier')
        .default('model'),
    embeddingDim: width.default(16),
    /** Read only these fields (each must lie in the model's groups). */
    fields: z.array(z.string().min(1)).optional(),
    /** Fields whose embedding tables are private to this model (not shared through the registry). */
    separateTables: z.array(z.string().min(1)).default([]),
    dropout: z.number().min(0).lt(1).default(0),
};
/** Single-output models: the output name and the label it learns from. */
const single = {
    output: z.string().min(1).default('ctr'),
    /** Default: the dataset's click label (`ctx.labels.click`), else the schema's label named like click. */
    label: z.string().min(1).optional(),
};
const STUDENT_GROUPS = ['user', 'item', 'context'];
export const rankingDnnSpec = z.strictObject({
    type: z.literal('ranking-dnn'),
    ...common,
    ...single,
    groups: groups.default(['user', 'item', 'context', 'privileged']),
    crossLayers: z.int().min(0).default(2),
    crossRank: z.int().min(0).default(0),
    structure: z.enum(['parallel', 'stacked']).default('parallel'),
    hidden: widths.default([128, 64]),
});
export const mmoeEsmmSpec = z.strictObject({
    type: z.literal('mmoe-esmm'),
    ...common,
    groups: groups.default(['user', 'item', 'context', 'privileged']),
    experts: width.default(2),
    expertHidden: widths.min(1).default([64, 32]),
    towerHidden: widths.default([16]),
    /** Default as `label` for the other models. */
    ctrLabel: z.string().min(1).optional(),
    /**
     * The CTCVR label on the exposure space (click AND conversion / long engagement). Default: the
     * dataset's conversion label, else its long-engagement label, else the one schema label named so.
     */
    ctcvrLabel: z.string().min(1).optional(),
});
export const twoTowerSpec = z
    .strictObject({
    type: z.literal('two-tower'),
    ...common,
    ...single,
    userFields: z.array(z.string().min(1)).optional(),
    itemFields: z.array(z.string().min(1)).optional(),
    userHidden: widths.min(1).default([64, 32]),
    itemHidden: widths.min(1).default([64, 32]),
    scoreFn: z.enum(['dot', 'cosine']).default('dot'),
    temperature: z.number().gt(0).optional(),
})
    .refine((s) => s.scoreFn === 'cosine' || s.temperature === undefined || s.temperature === 1, {
    message: "temperature applies to scoreFn 'cosine' only",
    path: ['temperature'],
});
export const fmSpec = z.strictObject({
    type: z.literal('fm'),
    ...common,
    ...single,
    userFields: z.array(z.string().min(1)).optional(),
    itemFields: z.array(z.string().min(1)).optional(),
});
export const preRankMlpSpec = z.strictObject({
    type: z.literal('prerank-mlp'),
    ...common,
    ...single,
    groups: groups.default(STUDENT_GROUPS),
    crossDim: z.int().min(0).default(16),
    hidden: widths.min(1).default([64, 32]),
});
export const modelSpecSchema = z.discriminatedUnion('type', [
    rankingDnnSpec,
    mmoeEsmmSpec,
    twoTowerSpec,
    fmSpec,
    preRankMlpSpec,
]);
export const MODEL_TYPES = ['ranking-dnn', 'mmoe-esmm', 'two-tower', 'fm', 'prerank-mlp'];
/** Model types that are deployed as students: they must never see privileged fields. */
const STUDENT_TYPES = new Set(['two-tower', 'fm', 'prerank-mlp']);
function formatPath(path) {
    let p = '';
    for (const k of path)
        p += typeof k === 'number' ? `[${k}]` : `.${String(k)}`;
    return p;
}
/** Validates a spec; throws listing every problem as `<name><path>: <message>`. */
export function parseModelSpec(spec) {
    const res = modelSpecSchema.safeParse(spec);
    if (res.success)
        return res.data;
    const name = typeof spec === 'object' && spec !== null && typeof spec.name === 'string'
        ? spec.name
        : 'model';
    const lines = res.error.issues.map((iss) => `  ${name}${formatPath(iss.path)}: ${iss.message}`);
    throw new Error(`invalid model spec for '${name}':\n${lines.join('\n')}`);
}
function checkLabel(schema, label, where) {
    if (!schema.has(label) || schema.field(label).kind !== 'label') {
        throw new Error(`${where}: '${label}' is not a label of the schema (labels: ${schema.labels.map((f) => f.name).join(', ')})`);
    }
    return label;
}
/** The single schema label whose name matches `re`, or an error asking the spec to name it. */
function labelByName(schema, re, exclude, where, what) {
    const others = schema.labels.map((f) => f.name).filter((n) => n !== exclude);
    const hits = others.filter((n) => re.test(n));
    if (hits.length === 1)
        return hits[0];
    throw new Error(`${where}: set it to the label of ${what} (schema labels: ${others.join(', ') || 'none'})`);
}
function clickLabel(schema, spec, ctx, where) {
    if (spec !== undefined)
        return checkLabel(schema, spec, where);
    if (ctx.labels)
        return checkLabel(schema, ctx.labels.click, where);
    return schema.has('click')
        ? checkLabel(schema, 'click', where)
        : labelByName(schema, /click/i, '', where, 'clicks');
}
function ctcvrLabelOf(schema, spec, ctrLabel, ctx, where) {
    const fromCtx = ctx.labels?.conversion ?? ctx.labels?.long;
    if (spec !== undefined)
        return checkLabel(schema, spec, where);
    if (fromCtx !== undefined)
        return checkLabel(schema, fromCtx, where);
    return labelByName(schema, /conv|purchase|buy|long/i, ctrLabel, where, 'click AND conversion/long engagement on the exposure space');
}
/** Builds any model from its spec. `registry` holds (and shares) the embedding tables. */
export function createModel(spec, schema, registry, rng, ctx = {}) {
    const s = parseModelSpec(spec);
    if (STUDENT_TYPES.has(s.type) && 'groups' in s && s.groups.includes('privileged')) {
        throw new Error(`${s.name}.groups: a ${s.type} student may not read privileged fields — they are unavailable when the student serves (Xu et al., KDD'20: only the teacher sees them)`);
    }
    switch (s.type) {
        case 'ranking-dnn':
            return new RankingDnn({ ...s, label: clickLabel(schema, s.label, ctx, `${s.name}.label`) }, schema, registry, rng);
        case 'mmoe-esmm': {
            const ctrLabel = clickLabel(schema, s.ctrLabel, ctx, `${s.name}.ctrLabel`);
            const ctcvrLabel = ctcvrLabelOf(schema, s.ctcvrLabel, ctrLabel, ctx, `${s.name}.ctcvrLabel`);
            return new MmoeEsmm({ ...s, ctrLabel, ctcvrLabel }, schema, registry, rng);
        }
        case 'two-tower':
            return new TwoTower({
                ...s,
                label: clickLabel(schema, s.label, ctx, `${s.name}.label`),
                temperature: s.temperature ?? (s.scoreFn === 'cosine' ? 0.05 : 1),
            }, schema, registry, rng);
        case 'fm':
            return new Fm({ ...s, label: clickLabel(schema, s.label, ctx, `${s.name}.label`) }, schema, registry, rng);
        case 'prerank-mlp':
            return new PreRankMlp({ ...s, label: clickLabel(schema, s.label, ctx, `${s.name}.label`) }, schema, registry, rng);
    }
}
//# sourceMappingURL=index.js.map