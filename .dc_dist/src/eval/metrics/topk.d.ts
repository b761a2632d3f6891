/**
 * Partial top-K selection over a score vector: the one implementation of "the K best items" used by
 * the retrieval metrics, the consistency metrics, the ground-truth utility and the serving path.
 *
 * A bounded min-heap of size K keeps the K best seen so far; each further item costs one comparison
 * with the heap root and, only when it beats the root, an O(log K) sift. Selecting K of N costs
 * O(N + M·log K) where M ≤ N is the number of root replacements (small for random order), and the
 * final K are sorted in O(K log K). No full sort of the N scores, and with a reused `TopKSelector`
 * no allocation per call.
 *
 * Order is total and deterministic: higher score first, and equal scores by lower index first, so
 * two models that tie give the same list on every run and the metrics never depend on sort
 * stability. NaN scores are rejected (a NaN would make the order undefined and the metric silently
 * wrong).
 */
export type ScoreVector = Float32Array | Float64Array;
/** True when (scoreA, a) ranks strictly before (scoreB, b): higher score, or equal score and lower index. */
export declare function ranksBefore(scoreA: number, a: number, scoreB: number, b: number): boolean;
/**
 * Reusable top-K selector: allocate once with the largest K needed, then call `select` per row.
 * `indices[0..count)` and `scores[0..count)` hold the result, best first, until the next call.
 */
export declare class TopKSelector {
    readonly maxK: number;
    readonly indices: Int32Array;
    readonly scores: Float64Array;
    /** Number of valid entries after the last `select` (min(k, number of non-excluded items)). */
    count: number;
    constructor(maxK: number);
    /**
     * Selects the best min(k, available) items of `values[offset .. offset+length)`; returned indices
     * are relative to `offset` (so a row of a row-major matrix gives item ids directly).
     * `exclude[i] !== 0` removes item i (relative index) from consideration.
     */
    select(values: ScoreVector, k: number, offset?: number, length?: number, exclude?: Uint8Array): number;
}
/**
 * The indices of the k best scores, best first (ties: lower index first). Returns fewer than k when
 * fewer items are available after exclusion. For a hot loop, reuse a `TopKSelector` instead.
 */
export declare function topK(scores: ScoreVector, k: number, exclude?: Uint8Array): Int32Array;
