/**
 * ROC AUC as the normalised Mann–Whitney U statistic (Hanley & McNeil, Radiology 1982):
 *   AUC = Σ_{pos p, neg q} ( [s_p > s_q] + ½[s_p = s_q] ) / (n₊ · n₋),
 * so a tied positive/negative pair counts as half. Computed without the O(n₊·n₋) pair loop: the
 * positive and the negative scores are each sorted (native typed-array sort, no comparator), then
 * one merge walk counts, for each positive, the negatives below it and those tied with it. This is
 * the rank-sum formula (R₊ − n₊(n₊+1)/2) / (n₊·n₋) with average ranks, in O(n log n).
 */
import { type NumberArray } from './ranks.js';
export interface AucParts {
    /** NaN when the rows hold a single class (AUC undefined). */
    auc: number;
    positives: number;
    negatives: number;
}
/**
 * AUC over a subset of rows (all rows when `rows` is omitted), without input checks and without
 * throwing on a single class. Shared by `auc` and the per-user loop of `gauc`.
 */
export declare function aucOfRows(labels: ArrayLike<number>, scores: ArrayLike<number>, rows?: ArrayLike<number>): AucParts;
/** ROC AUC of `scores` against 0/1 `labels`, ties counted as half. Throws when only one class is present. */
export declare function auc(labels: NumberArray, scores: NumberArray): number;
