/**
 * Shared helpers for the metrics: input checks that name the array and index of a bad value, and
 * average ("fractional") ranks, where tied values share the mean of the ranks they span — the
 * ranks Spearman's rho with ties is defined on.
 */
export type NumberArray = Float32Array | Float64Array | Int32Array | Uint8Array | readonly number[];
/** Throws unless `a` and `b` have the same length; `what` names the metric in the message. */
export declare function checkSameLength(what: string, nameA: string, a: ArrayLike<number>, nameB: string, b: ArrayLike<number>): void;
/** Throws at the first NaN/±Infinity, naming the array and index. */
export declare function checkFinite(what: string, name: string, a: ArrayLike<number>): void;
/** Throws unless every label is exactly 0 or 1. */
export declare function checkBinaryLabels(what: string, labels: ArrayLike<number>): void;
/**
 * Average ranks (1-based) of `values`: out[i] is the rank of values[i] in ascending order, ties
 * sharing the mean of their ranks. O(n log n).
 */
export declare function averageRanks(values: ArrayLike<number>): Float64Array;
