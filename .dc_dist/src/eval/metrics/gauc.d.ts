import { type NumberArray } from './ranks.js';
export interface GaucResult {
    gauc: number;
    /** Users with both classes, whose AUC entered the average. */
    usersUsed: number;
    /** Users with a single class, skipped. */
    usersSkipped: number;
    /** Impressions of the used users (the total weight). */
    impressionsUsed: number;
}
/**
 * GAUC of `scores` against 0/1 `labels`, rows grouped by `userIds` (any integers, any order).
 * Throws when no user has both classes.
 */
export declare function gauc(userIds: NumberArray, labels: NumberArray, scores: NumberArray): GaucResult;
