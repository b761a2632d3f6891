/**
 * Two-tower (DSSM-style) retrieval student.
 *
 * Papers: P.-S. Huang et al., "Learning Deep Structured Semantic Models for Web Search using
 * Clickthrough Data", CIKM'13 (two towers, cosine relevance, eq. 5 with smoothing factor γ); X. Yi
 * et al., "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item Recommendations",
 * RecSys'19 (§3: L2-normalised tower outputs with a temperature τ, s(u, i) = ⟨u, i⟩ / τ).
 *
 * The user tower sees user and context fields ONLY, the item tower item fields ONLY; each gets a
 * SchemaView of its groups, so reading any other field throws, and no privileged field can enter
 * (PFD: privileged features are for the teacher, Xu et al., KDD'20). Each tower is
 * FeatureEmbedder → ReLU MLP (no activation after the last layer), so it can be exported on its own:
 * the user tower answers online requests, the item tower fills the ANN index.
 *
 * Score: 'dot'    s = ⟨u(x_u), v(x_i)⟩
 *        'cosine' s = ⟨u/|u|, v/|v|⟩ / τ   (the 1/τ is folded into the user vector, so the ANN index
 *                                           over normalised item vectors ranks by the same score)
 */
import type { Batch } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import type { Graph } from '../engine/graph.js';
import { MLP, ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { FeatureEmbedder, type TableRegistry } from './featureEmbedder.js';
import { type HardLoss } from './hardLoss.js';
import type { ModelOutput, TowerExport, TwoTowerModel } from './types.js';
export interface TwoTowerOptions {
    name: string;
    embeddingDim: number;
    /** Subsets of the user+context and item fields (default: all of them). */
    userFields?: string[];
    itemFields?: string[];
    separateTables?: string[];
    /** Hidden widths then output width of each tower; the last widths must agree. */
    userHidden: number[];
    itemHidden: number[];
    dropout: number;
    scoreFn: 'dot' | 'cosine';
    /** τ for cosine (e.g. 0.05); must be 1 for dot. */
    temperature: number;
    output: string;
    label: string;
}
export declare class TwoTower implements TwoTowerModel {
    readonly kind = "two-tower";
    readonly name: string;
    readonly store: ParamStore;
    readonly outputNames: string[];
    readonly supervised: Readonly<Record<string, string>>;
    readonly scoreFn: 'dot' | 'cosine';
    readonly temperature: number;
    readonly userEmbedder: FeatureEmbedder;
    readonly itemEmbedder: FeatureEmbedder;
    readonly userTower: MLP;
    readonly itemTower: MLP;
    constructor(opts: TwoTowerOptions, schema: Schema, registry: TableRegistry, rng: Rng);
    get fields(): string[];
    get userTowerFields(): string[];
    get itemTowerFields(): string[];
    userVectors(g: Graph, batch: Batch): Tensor;
    itemVectors(g: Graph, batch: Batch): Tensor;
    forward(g: Graph, batch: Batch): ModelOutput;
    hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss;
    exportTowers(): TowerExport;
}
