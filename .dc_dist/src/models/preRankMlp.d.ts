/**
 * Pre-ranking MLP student: a small joint model that, unlike a two-tower, may see user × item cross
 * features, but never a privileged field.
 *
 * Papers: Z. Wang et al., "COLD: Towards the Next Generation of Pre-Ranking System", DLP-KDD'20
 * (pre-ranking need not be two-tower: a light MLP over user, item AND cross features, §3.1);
 * the explicit user × item interaction is the element-wise product of the projected user and item
 * representations, the interaction used by NCF's GMF branch (He et al., "Neural Collaborative
 * Filtering", WWW'17, eq. 9) and by DCN/DeepFM-style cross terms.
 *
 *   u = embed(user + context fields), i = embed(item fields)
 *   c = (u P_u) ⊙ (i P_i)                              (cross features, width crossDim)
 *   h = MLP_relu([u, i, c]),  logit = h·w + b
 *
 * Hidden layers are exposed as `mlp.<i>` for hint distillation (FitNets, Romero et al., ICLR'15):
 * this joint model has layers comparable to the teacher's joint layers, which a two-tower lacks.
 */
import type { Batch } from '../data/batch.js';
import type { FieldGroup, Schema } from '../data/schema.js';
import type { Graph } from '../engine/graph.js';
import { ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import { FeatureEmbedder, type TableRegistry } from './featureEmbedder.js';
import { type HardLoss } from './hardLoss.js';
import type { Model, ModelOutput } from './types.js';
export interface PreRankMlpOptions {
    name: string;
    embeddingDim: number;
    /** Subset of groups among user, item, context (privileged is refused). */
    groups: FieldGroup[];
    fields?: string[];
    separateTables?: string[];
    /** Width of the user × item product features; 0 disables them. */
    crossDim: number;
    hidden: number[];
    dropout: number;
    output: string;
    label: string;
}
export declare class PreRankMlp implements Model {
    readonly kind = "prerank-mlp";
    readonly name: string;
    readonly store: ParamStore;
    readonly outputNames: string[];
    readonly supervised: Readonly<Record<string, string>>;
    readonly userEmbedder: FeatureEmbedder;
    readonly itemEmbedder: FeatureEmbedder;
    private readonly projUser;
    private readonly projItem;
    private readonly mlp;
    private readonly head;
    constructor(opts: PreRankMlpOptions, schema: Schema, registry: TableRegistry, rng: Rng);
    get fields(): string[];
    forward(g: Graph, batch: Batch): ModelOutput;
    hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss;
}
