/**
 * GAUC, the impression-weighted per-user AUC (Zhu et al., "Optimized Cost per Click in Taobao
 * Display Advertising", KDD 2017; used as the ranking metric in DIN, Zhou et al. KDD 2018):
 *   GAUC = Σ_u n_u · AUC_u / Σ_u n_u,
 * over users u whose impressions contain both a click and a non-click (AUC_u is undefined
 * otherwise, so those users are skipped and counted). n_u is the user's number of impressions.
 */
import { aucOfRows } from './auc.js';
import { checkBinaryLabels, checkFinite, checkSameLength } from './ranks.js';
/**
 * GAUC of `scores` against 0/1 `labels`, rows grouped by `userIds` (any integers, any order).
 * Throws when no user has both classes.
 */
export function gauc(userIds, labels, scores) {
    checkSameLength('gauc', 'userIds', userIds, 'labels', labels);
    checkSameLength('gauc', 'userIds', userIds, 'scores', scores);
    checkBinaryLabels('gauc', labels);
    checkFinite('gauc', 'scores', scores);
    checkFinite('gauc', 'userIds', userIds);
    // Group rows by user in O(n): number the distinct users, then counting-sort rows by that number.
    const n = userIds.length;
    const groupOf = new Int32Array(n);
    const groups = new Map();
    for (let i = 0; i < n; i++) {
        const u = userIds[i];
        let g = groups.get(u);
        if (g === undefined) {
            g = groups.size;
            groups.set(u, g);
        }
        groupOf[i] = g;
    }
    const start = new Int32Array(groups.size + 1);
    for (let i = 0; i < n; i++)
        start[groupOf[i] + 1]++;
    for (let g = 0; g < groups.size; g++)
        start[g + 1] += start[g];
    const fill = start.slice(0, groups.size);
    const byUser = new Int32Array(n);
    for (let i = 0; i < n; i++)
        byUser[fill[groupOf[i]]++] = i;
    let weighted = 0;
    let impressionsUsed = 0;
    let usersUsed = 0;
    let usersSkipped = 0;
    for (let g = 0; g < groups.size; g++) {
        const lo = start[g];
        const hi = start[g + 1];
        const parts = aucOfRows(labels, scores, byUser.subarray(lo, hi));
        if (Number.isNaN(parts.auc)) {
            usersSkipped++;
        }
        else {
            usersUsed++;
            impressionsUsed += hi - lo;
            weighted += (hi - lo) * parts.auc;
        }
    }
    if (usersUsed === 0) {
        throw new Error(`gauc: none of the ${usersSkipped} users has both a positive and a negative label`);
    }
    return { gauc: weighted / impressionsUsed, usersUsed, usersSkipped, impressionsUsed };
}
//# sourceMappingURL=gauc.js.map