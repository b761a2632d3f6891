/**
 * ROC AUC as the normalised Mann–Whitney U statistic (Hanley & McNeil, Radiology 1982):
 *   AUC = Σ_{pos p, neg q} ( [s_p > s_q] + ½[s_p = s_q] ) / (n₊ · n₋),
 * so a tied positive/negative pair counts as half. Computed without the O(n₊·n₋) pair loop: the
 * positive and the negative scores are each sorted (native typed-array sort, no comparator), then
 * one merge walk counts, for each positive, the negatives below it and those tied with it. This is
 * the rank-sum formula (R₊ − n₊(n₊+1)/2) / (n₊·n₋) with average ranks, in O(n log n).
 */
import { checkBinaryLabels, checkFinite, checkSameLength } from './ranks.js';
/**
 * AUC over a subset of rows (all rows when `rows` is omitted), without input checks and without
 * throwing on a single class. Shared by `auc` and the per-user loop of `gauc`.
 */
export function aucOfRows(labels, scores, rows) {
    const n = rows ? rows.length : scores.length;
    let positives = 0;
    for (let t = 0; t < n; t++)
        if (labels[rows ? rows[t] : t] === 1)
            positives++;
    const negatives = n - positives;
    if (positives === 0 || negatives === 0)
        return { auc: Number.NaN, positives, negatives };
    const pos = new Float64Array(positives);
    const neg = new Float64Array(negatives);
    let a = 0;
    let b = 0;
    for (let t = 0; t < n; t++) {
        const i = rows ? rows[t] : t;
        if (labels[i] === 1)
            pos[a++] = scores[i];
        else
            neg[b++] = scores[i];
    }
    pos.sort();
    neg.sort();
    // below: negatives with score < s; notAbove: negatives with score ≤ s (both only grow as s grows).
    let below = 0;
    let notAbove = 0;
    let u = 0;
    for (let p = 0; p < positives; p++) {
        const s = pos[p];
        while (below < negatives && neg[below] < s)
            below++;
        if (notAbove < below)
            notAbove = below;
        while (notAbove < negatives && neg[notAbove] <= s)
            notAbove++;
        u += below + 0.5 * (notAbove - below);
    }
    return { auc: u / (positives * negatives), positives, negatives };
}
/** ROC AUC of `scores` against 0/1 `labels`, ties counted as half. Throws when only one class is present. */
export function auc(labels, scores) {
    checkSameLength('auc', 'labels', labels, 'scores', scores);
    checkBinaryLabels('auc', labels);
    checkFinite('auc', 'scores', scores);
    const parts = aucOfRows(labels, scores);
    if (Number.isNaN(parts.auc)) {
        throw new Error(`auc: undefined with ${parts.positives} positive and ${parts.negatives} negative labels; both classes are needed`);
    }
    return parts.auc;
}
//# sourceMappingURL=auc.js.map