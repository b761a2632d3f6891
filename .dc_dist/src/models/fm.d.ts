/**
 * Factorization Machine student, decomposed into a user part and an item part for retrieval.
 *
 * Paper: S. Rendle, "Factorization Machines", ICDM'10. Eq. 1 and its O(kn) form (Lemma 3.1):
 *   ŷ(x) = w0 + Σ_i w_i x_i + Σ_{i<j} ⟨v_i, v_j⟩ x_i x_j,
 *   Σ_{i<j} ⟨v_i, v_j⟩ x_i x_j = ½ (|Σ_i v_i x_i|² − Σ_i |v_i x_i|²).
 * Here a "feature" is a field: a categorical field contributes its id's latent vector e_f = v_id
 * (x = 1); a multi-hot / sequence field its pooled vector e_f = Σ or mean of its ids' vectors and
 * the pooled linear weight (field-level FM, as the FM component of DeepFM, Guo et al., IJCAI'17,
 * treats pooled multi-valued fields); a numeric field x contributes x·v_x and x·w_x.
 *
 * Decomposition for retrieval (the user side U = user + context fields, item side I = item fields):
 *   with S_U = Σ_{f∈U} e_f, S_I = Σ_{f∈I} e_f, the pairs split into U×U, I×I and U×I, and
 *   Σ_{U×I} ⟨e_f, e_g⟩ = ⟨S_U, S_I⟩.  The rest folds into one scalar per side:
 *   a_U = w0 + Σ_{f∈U} w_f + ½(|S_U|² − Σ_{f∈U} |e_f|²),   a_I = Σ_{f∈I} w_f + ½(|S_I|² − Σ_{f∈I} |e_f|²).
 *   User vector u = [S_U, a_U, 1], item vector v = [S_I, 1, a_I]  ⇒  ⟨u, v⟩ = ŷ(x) EXACTLY.
 * So the logit used for distillation is the full FM score, while for retrieval a_U is constant per
 * user (it shifts every item's score equally) and the ANN index needs only the item vectors.
 * test/models/fm.test.ts checks ⟨u, v⟩ against a direct float64 evaluation of eq. 1.
 *
 * All latent vectors share the width k (= embeddingDim); a field declaring another embedding dim
 * in the schema is refused.
 */
import type { Batch } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import type { Graph } from '../engine/graph.js';
import { ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { type TableRegistry } from './featureEmbedder.js';
import { type HardLoss } from './hardLoss.js';
import type { ModelOutput, TowerExport, TwoTowerModel } from './types.js';
export interface FmOptions {
    name: string;
    /** Latent width k. */
    embeddingDim: number;
    userFields?: string[];
    itemFields?: string[];
    separateTables?: string[];
    output: string;
    label: string;
}
export declare class Fm implements TwoTowerModel {
    readonly kind = "fm";
    readonly name: string;
    readonly store: ParamStore;
    readonly outputNames: string[];
    readonly supervised: Readonly<Record<string, string>>;
    readonly scoreFn: 'dot';
    readonly temperature = 1;
    readonly k: number;
    private readonly user;
    private readonly item;
    private readonly w0;
    constructor(opts: FmOptions, schema: Schema, registry: TableRegistry, rng: Rng);
    get fields(): string[];
    get userTowerFields(): string[];
    get itemTowerFields(): string[];
    /** [S_U, a_U + w0, 1], [B, k + 2]. */
    userVectors(g: Graph, batch: Batch): Tensor;
    /** [S_I, 1, a_I], [B, k + 2]. */
    itemVectors(g: Graph, batch: Batch): Tensor;
    forward(g: Graph, batch: Batch): ModelOutput;
    hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss;
    exportTowers(): TowerExport;
}
