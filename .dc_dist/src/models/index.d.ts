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
import type { Schema } from '../data/schema.js';
import type { Rng } from '../engine/rng.js';
import type { TableRegistry } from './featureEmbedder.js';
import type { Model } from './types.js';
export { TableRegistry } from './featureEmbedder.js';
export { Popularity } from './popularity.js';
export type { Model, ModelOutput, TwoTowerModel } from './types.js';
export { isTwoTower } from './types.js';
export declare const rankingDnnSpec: z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"ranking-dnn">;
    groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
        context: "context";
        item: "item";
        privileged: "privileged";
        user: "user";
    }>>>;
    crossLayers: z.ZodDefault<z.ZodInt>;
    crossRank: z.ZodDefault<z.ZodInt>;
    structure: z.ZodDefault<z.ZodEnum<{
        parallel: "parallel";
        stacked: "stacked";
    }>>;
    hidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
}, z.core.$strict>;
export declare const mmoeEsmmSpec: z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    type: z.ZodLiteral<"mmoe-esmm">;
    groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
        context: "context";
        item: "item";
        privileged: "privileged";
        user: "user";
    }>>>;
    experts: z.ZodDefault<z.ZodInt>;
    expertHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    towerHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    ctrLabel: z.ZodOptional<z.ZodString>;
    ctcvrLabel: z.ZodOptional<z.ZodString>;
}, z.core.$strict>;
export declare const twoTowerSpec: z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"two-tower">;
    userFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    itemFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    userHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    itemHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    scoreFn: z.ZodDefault<z.ZodEnum<{
        cosine: "cosine";
        dot: "dot";
    }>>;
    temperature: z.ZodOptional<z.ZodNumber>;
}, z.core.$strict>;
export declare const fmSpec: z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"fm">;
    userFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    itemFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
}, z.core.$strict>;
export declare const preRankMlpSpec: z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"prerank-mlp">;
    groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
        context: "context";
        item: "item";
        privileged: "privileged";
        user: "user";
    }>>>;
    crossDim: z.ZodDefault<z.ZodInt>;
    hidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
}, z.core.$strict>;
export declare const modelSpecSchema: z.ZodDiscriminatedUnion<[z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"ranking-dnn">;
    groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
        context: "context";
        item: "item";
        privileged: "privileged";
        user: "user";
    }>>>;
    crossLayers: z.ZodDefault<z.ZodInt>;
    crossRank: z.ZodDefault<z.ZodInt>;
    structure: z.ZodDefault<z.ZodEnum<{
        parallel: "parallel";
        stacked: "stacked";
    }>>;
    hidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    type: z.ZodLiteral<"mmoe-esmm">;
    groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
        context: "context";
        item: "item";
        privileged: "privileged";
        user: "user";
    }>>>;
    experts: z.ZodDefault<z.ZodInt>;
    expertHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    towerHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    ctrLabel: z.ZodOptional<z.ZodString>;
    ctcvrLabel: z.ZodOptional<z.ZodString>;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"two-tower">;
    userFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    itemFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    userHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    itemHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    scoreFn: z.ZodDefault<z.ZodEnum<{
        cosine: "cosine";
        dot: "dot";
    }>>;
    temperature: z.ZodOptional<z.ZodNumber>;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"fm">;
    userFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    itemFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"prerank-mlp">;
    groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
        context: "context";
        item: "item";
        privileged: "privileged";
        user: "user";
    }>>>;
    crossDim: z.ZodDefault<z.ZodInt>;
    hidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
}, z.core.$strict>], "type">;
/** A model spec as written in a config (defaults not yet applied). */
export type ModelSpecInput = z.input<typeof modelSpecSchema>;
export type ModelSpec = z.output<typeof modelSpecSchema>;
export declare const MODEL_TYPES: readonly ['ranking-dnn', 'mmoe-esmm', 'two-tower', 'fm', 'prerank-mlp'];
/** Validates a spec; throws listing every problem as `<name><path>: <message>`. */
export declare function parseModelSpec(spec: unknown): ModelSpec;
/** What the dataset says its labels mean (src/data/dataset.ts LabelRoles), for label defaults. */
export interface ModelContext {
    labels?: {
        click: string;
        long?: string;
        conversion?: string;
    };
}
/** Builds any model from its spec. `registry` holds (and shares) the embedding tables. */
export declare function createModel(spec: unknown, schema: Schema, registry: TableRegistry, rng: Rng, ctx?: ModelContext): Model;
