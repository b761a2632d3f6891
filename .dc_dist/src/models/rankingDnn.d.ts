/**
 * Ranking DNN teacher with DCN-v2 cross layers.
 *
 * Paper: R. Wang, R. Shivanna, D. Cheng, S. Jain, D. Lin, L. Hong, E. Chi, "DCN V2: Improved Deep &
 * Cross Network and Practical Lessons for Web-scale Learning to Rank Systems", WWW'21.
 *
 * Input x0 = the concatenated embeddings of ALL the feature groups this teacher may see (user,
 * item, context and privileged by default: the ranking stage is where privileged features live,
 * Xu et al., KDD'20), built by FeatureEmbedder.
 *
 * Cross layer (DCN-v2 eq. 1):            x_{l+1} = x0 ⊙ (W_l x_l + b_l) + x_l
 * Low-rank cross layer (DCN-v2 eq. 2/§5): x_{l+1} = x0 ⊙ (U_l (V_lᵀ x_l) + b_l) + x_l, when crossRank > 0
 *
 * Structures (DCN-v2 Fig. 2): 'stacked'  — logit = head(deep(cross(x0)));
 *                             'parallel' — logit = head(concat(cross(x0), deep(x0))).
 * Deep network: ReLU MLP. Outputs the `ctr` logit (or the configured output name). Hidden layers are
 * exposed as `cross.<l>`, `deep.<i>` and `final` (the head's input) for hint distillation.
 */
import type { Batch } from '../data/batch.js';
import type { FieldGroup, Schema } from '../data/schema.js';
import type { Graph } from '../engine/graph.js';
import { ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import { FeatureEmbedder, type TableRegistry } from './featureEmbedder.js';
import { type HardLoss } from './hardLoss.js';
import type { Model, ModelOutput } from './types.js';
export interface RankingDnnOptions {
    name: string;
    embeddingDim: number;
    groups: FieldGroup[];
    fields?: string[];
    separateTables?: string[];
    crossLayers: number;
    /** 0: full-rank W_l [D, D]; r > 0: W_l = U_l V_lᵀ with U, V [D, r]. */
    crossRank: number;
    structure: 'parallel' | 'stacked';
    hidden: number[];
    dropout: number;
    output: string;
    label: string;
}
export declare class RankingDnn implements Model {
    readonly kind = "ranking-dnn";
    readonly name: string;
    readonly store: ParamStore;
    readonly outputNames: string[];
    readonly supervised: Readonly<Record<string, string>>;
    readonly embedder: FeatureEmbedder;
    private readonly cross;
    private readonly deep;
    private readonly head;
    private readonly opts;
    constructor(opts: RankingDnnOptions, schema: Schema, registry: TableRegistry, rng: Rng);
    get fields(): string[];
    forward(g: Graph, batch: Batch): ModelOutput;
    hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss;
}
