/**
 * The columnar batch every model consumes, and the dataset that yields it.
 *
 * A dataset is a set of whole columns (typed arrays). A contiguous slice is a batch of `subarray`
 * views (no copy); a shuffled mini-batch gathers rows into buffers allocated once per iterator and
 * reused for every batch, so an epoch creates no per-row JS objects and no per-batch arrays.
 * Consequence for callers: a batch yielded by `batches()` is only valid until the next one is
 * requested; copy what you keep.
 *
 * Conventions: `cat` holds embedding-table rows (0 = OOV/missing); `seq` holds `size × maxLen` ids
 * padded with −1; `num` holds values ALREADY normalised with train-split statistics; `labels` are
 * 0/1 (or soft) targets; `extra` carries precomputed per-row columns such as teacher logits,
 * sampling probabilities (logQ correction) and weights. `userKey`/`itemKey` are identities (row of
 * the dataset's user/item table), not features; `requestId` groups rows into lists.
 */
import type { Rng } from '../engine/rng.js';
export interface SeqColumn {
    ids: Int32Array;
    maxLen: number;
}
export interface Batch {
    size: number;
    cat: Record<string, Int32Array>;
    seq: Record<string, SeqColumn>;
    num: Record<string, Float32Array>;
    labels: Record<string, Float32Array>;
    extra: Record<string, Float32Array>;
    userKey?: Int32Array;
    itemKey?: Int32Array;
    requestId?: Int32Array;
    ts?: Float64Array;
}
/** Whole columns of a dataset; same shape as a Batch. */
export type Columns = Batch;
/** Throws unless every column has `size` rows (seq: size × maxLen). */
export declare function checkColumns(c: Columns, where: string): void;
/** out[i] = src[rows[i]] for every column; `out` must be allocated for at least `count` rows. */
export declare function gatherRows(src: Columns, rows: Int32Array, count: number, out: Columns): void;
/** A view of rows [start, end) of `c` (subarrays, no copy). */
export declare function sliceColumns(c: Columns, start: number, end: number): Columns;
export interface BatchOptions {
    batchSize: number;
    /** Shuffle rows each epoch with this generator; omit for file order (contiguous views, no copies). */
    rng?: Rng;
    /** Drop a final batch smaller than batchSize. */
    dropLast?: boolean;
    /**
     * In-batch negatives: keep `itemKey` unique within a batch. A row whose item is already in the
     * current batch is deferred to the next batch (it is not dropped), so every row is still seen once
     * per epoch; `dupDeferred` on the iterator counts them.
     */
    uniqueItems?: boolean;
}
/** Iterator over one epoch; the yielded Batch is reused between iterations. */
export interface EpochIterator extends IterableIterator<Batch> {
    /** Rows deferred to a later batch because their item was already in the batch (uniqueItems). */
    readonly dupDeferred: number;
}
export declare class ColumnarDataset {
    readonly columns: Columns;
    constructor(columns: Columns, where?: string);
    get size(): number;
    /** Rows [start, end) as a batch of views (no copy). */
    slice(start: number, end: number): Batch;
    /** A new dataset holding copies of the given rows, in that order. */
    select(rows: Int32Array): ColumnarDataset;
    /** Adds (or replaces) a precomputed per-row column, e.g. teacher logits. */
    setExtra(name: string, values: Float32Array): void;
    /** One epoch of mini-batches. */
    batches(opts: BatchOptions): EpochIterator;
}
