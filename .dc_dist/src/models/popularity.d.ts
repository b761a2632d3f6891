/**
 * Most-popular baseline: every user gets the items with the most interactions in the training period.
 *
 * The standard non-personalised reference in recommender evaluation (e.g. Cremonesi, Koren, Turrin,
 * "Performance of Recommender Algorithms on Top-N Recommendation Tasks", RecSys'10, §3 "MostPopular";
 * Ji et al., "A Critical Study on Data Leakage in Recommender System Offline Evaluation", TOIS'23,
 * on counting popularity from the training period only, as done here). A distilled student that
 * does not beat it has learned nothing personal.
 *
 * Score of item i: log(1 + count_i), count_i = Σ over training rows with item i of the weight
 * column (clicks by default; exposures when `label` is null). The log keeps the score on a logit-like
 * scale; ranking is by count either way. It fits the two-tower scoring interface: the user vector is
 * the constant [1] and the item vector [score_i], so ANN export and retrieval eval treat it like any
 * student. The scores live in a frozen dim-1 embedding table (`<name>.score`): nothing trains.
 */
import type { Batch, Columns } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import type { Graph } from '../engine/graph.js';
import { ParamStore } from '../engine/nn.js';
import type { Tensor } from '../engine/tensor.js';
import { type HardLoss } from './hardLoss.js';
import type { ItemScorer, ModelOutput, TowerExport, TwoTowerModel } from './types.js';
export interface PopularityOptions {
    name: string;
    /** The categorical item-id field (item group). */
    itemField: string;
    /** Label whose sum counts an interaction (e.g. 'click'); null counts exposures. */
    label: string | null;
    output: string;
}
export declare class Popularity implements TwoTowerModel, ItemScorer {
    readonly kind = "popularity";
    readonly name: string;
    readonly store: ParamStore;
    readonly outputNames: string[];
    readonly supervised: Readonly<Record<string, string>>;
    readonly scoreFn: 'dot';
    readonly temperature = 1;
    readonly itemField: string;
    /** Raw counts per item-id table row. */
    readonly counts: Float64Array;
    private readonly table;
    /** Counts the training rows of `train` (e.g. `dataset.splits.train.columns`). */
    constructor(opts: PopularityOptions, schema: Schema, train: Columns);
    get fields(): string[];
    get userTowerFields(): string[];
    get itemTowerFields(): string[];
    itemScores(): Float32Array;
    /** The constant [1] per row. */
    userVectors(g: Graph, batch: Batch): Tensor;
    /** [score_i] per row, [B, 1]. */
    itemVectors(g: Graph, batch: Batch): Tensor;
    forward(g: Graph, batch: Batch): ModelOutput;
    /** The BCE of the popularity score (for reporting; nothing here has a gradient). */
    hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss;
    exportTowers(): TowerExport;
}
