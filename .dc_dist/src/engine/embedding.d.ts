/**
 * Sparse embedding tables.
 *
 * A recommender's embedding tables are large (10⁵–10⁷ rows) while a batch touches a few thousand
 * rows, so the gradient is kept compact: `rows[r]` is the table row whose gradient is
 * `grad[r*dim .. (r+1)*dim)`. `slotOf` is a table-sized map id → compact row (−1 = untouched),
 * initialised once; `zeroGrad()` resets only the touched entries, so a step costs O(touched ids),
 * never O(vocab). Every lookup of the same table within a step (shared teacher/student
 * embeddings, a history field pooled from the item table) accumulates into the same compact
 * gradient. The optimiser (lazy SparseAdam / SparseAdagrad) reads `sparseGrad()` and then calls
 * `zeroGrad()`.
 */
import { Tensor } from './tensor.js';
export interface SparseGrad {
    /** Table row of each compact gradient row; only the first nRows entries are meaningful. */
    rows: Int32Array;
    nRows: number;
    /** Compact gradient, row r at [r*dim, (r+1)*dim); only the first nRows*dim values are meaningful. */
    grad: Float32Array;
}
export declare class EmbeddingTable {
    readonly name: string;
    readonly vocab: number;
    readonly dim: number;
    /** The table, [vocab, dim]. requiresGrad is false: it never gets a dense gradient. */
    readonly weight: Tensor;
    /** False freezes the table (e.g. a pre-trained teacher's): lookups then record no gradient. */
    trainable: boolean;
    private readonly slotOf;
    private rows;
    private grad;
    private nRows;
    constructor(name: string, vocab: number, dim: number, initFn?: (w: Float32Array) => void);
    sparseGrad(): SparseGrad;
    /** Clears the compact gradient; O(touched rows). */
    zeroGrad(): void;
    /**
     * Throws if any id is ≥ vocab (ids < 0 are padding). Called by the graph on every lookup so a
     * bad id is reported by position instead of reading another table's memory or NaN.
     */
    checkIds(ids: Int32Array, count: number, op: string): void;
    /**
     * Maps each id position to its compact gradient row, appending rows for ids not yet touched
     * this step; padding positions get −1. Returns the (possibly regrown) compact gradient buffer to
     * scatter into. Used by `Graph.embeddingBag`'s backward.
     */
    assignSlots(ids: Int32Array, count: number, slotOfPos: Int32Array): Float32Array;
    private growTo;
}
