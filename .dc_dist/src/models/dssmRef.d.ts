/**
 * dssm-ref: the fixed two-tower benchmark model of issue 2, after DSSM (Huang et al., "Learning
 * Deep Structured Semantic Models for Web Search using Clickthrough Data", CIKM 2013) as used for
 * recall in YouTube DNN-style two-tower retrieval: each side embeds its categorical fields,
 * concatenates them and runs an MLP tower; the score is the dot product of the two tower outputs,
 * trained with sigmoid BCE.
 *
 * Reference shape (issue 2): user side user_id (vocab 100,000) + 3 fields (vocab 100 each); item
 * side item_id (200,000), category (1,000), brand (10,000); embedding dim 32; towers 256-128-64
 * with relu between layers and none after the last; Adam lr 1e-3 (lazy Adam for the tables);
 * uniform random ids with random labels (10% positives). It measures the engine, not a
 * recommender: `kdrec bench train` and the data-parallel tests train it.
 */
import type { EmbeddingTable as EmbeddingTableT } from '../engine/embedding.js';
import type { Graph } from '../engine/graph.js';
import { MLP, ParamStore } from '../engine/nn.js';
import type { ColumnBatch, ColumnSpec, FactoryRef, Trainable } from '../engine/parallel.js';
import { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
export interface DssmRefConfig {
    /** Vocabulary of each user field; the first is user_id. */
    userVocabs: number[];
    /** Vocabulary of each item field; the first is item_id. */
    itemVocabs: number[];
    dim: number;
    /** Tower layer widths after the concatenated embeddings, e.g. [256, 128, 64]. */
    tower: number[];
    seed: number;
    /** Std of the normal embedding initialiser. */
    embeddingStd?: number;
    /** Dropout after each hidden tower layer (training only); 0 in the reference model. */
    dropout?: number;
}
export declare const DSSM_REF: DssmRefConfig;
/** A small variant for tests: same structure, vocabularies and widths that train in milliseconds. */
export declare const DSSM_REF_TINY: DssmRefConfig;
export declare const USER_FIELDS: string[];
export declare const ITEM_FIELDS: string[];
/** Column layout of a dssm-ref batch: one int id per field and row, plus the label. */
export declare function dssmRefColumns(cfg: DssmRefConfig): Record<string, ColumnSpec>;
export declare class DssmRef implements Trainable {
    readonly config: DssmRefConfig;
    readonly store: ParamStore;
    readonly userTables: EmbeddingTableT[];
    readonly itemTables: EmbeddingTableT[];
    readonly userTower: MLP;
    readonly itemTower: MLP;
    private readonly userFields;
    private readonly itemFields;
    constructor(config: DssmRefConfig);
    private tower;
    /** [B] logits: dot product of the user and item tower outputs. */
    logits(g: Graph, batch: ColumnBatch): Tensor;
    loss(g: Graph, batch: ColumnBatch): Tensor;
}
/** The factory the data-parallel workers import (see parallel.ts). */
export declare function createDssmRef(config: unknown): DssmRef;
export declare function dssmRefFactory(config: DssmRefConfig): FactoryRef;
/**
 * `n` batches of uniform random ids and Bernoulli(positiveRate) labels, generated up front so that
 * the benchmark does not time the random number generator.
 */
export declare function randomDssmBatches(cfg: DssmRefConfig, rows: number, n: number, rng: Rng, positiveRate?: number): ColumnBatch[];
