/**
 * Full-corpus retrieval metrics for the recall stage: every item of the corpus is scored for every
 * user, the user's training items are optionally removed from the ranking (the usual protocol of
 * e.g. He et al., "Neural Collaborative Filtering", WWW 2017, and Krichene & Rendle, "On Sampled
 * Metrics for Item Recommendation", KDD 2020, which argues for full-corpus over sampled
 * evaluation), and the top K is compared with the user's held-out items. Binary relevance:
 *   Recall@K  = |top-K ∩ R| / |R|
 *   HitRate@K = [ |top-K ∩ R| > 0 ]
 *   NDCG@K    = Σ_{r ≤ K, item_r ∈ R} 1/log2(r + 1)  /  Σ_{r ≤ min(K, |R|)} 1/log2(r + 1)
 *   MRR@K     = 1 / rank of the first relevant item if it is in the top K, else 0
 *   MRR       = 1 / rank of the first relevant item in the full ranking (untruncated)
 * each averaged over users with at least one relevant item. Ranks follow `topk.ts`' total order
 * (ties broken by lower item id), so results are deterministic. Per user the cost is one O(N)
 * top-K pass plus one O(N) pass for the untruncated MRR: 10k items × 1k users is ~20M steps.
 */
import { type ScoreVector } from './topk.js';
/**
 * Scores for every (user, item): a row-major [nUsers × nItems] matrix, or a callback that fills
 * `out` (length nItems) with one user's scores (for models that score a user's row on demand).
 */
export type UserScores = ScoreVector | ((user: number, out: Float32Array) => void);
/** Per-user item lists in CSR form: user u's items are items[offsets[u] .. offsets[u+1]). */
export interface UserItemLists {
    offsets: Int32Array;
    items: Int32Array;
}
/** Builds CSR lists from aligned (user, item) pairs in any order. */
export declare function userItemListsFromPairs(nUsers: number, users: Int32Array, items: Int32Array): UserItemLists;
/** Checks a CSR list's shape and item range; `name` is used in messages. */
export declare function checkUserItemLists(what: string, name: string, lists: UserItemLists, nUsers: number, nItems: number): void;
/**
 * Reads user u's scores: returns the vector and the offset of the row within it (the matrix itself
 * for a matrix source, `buffer` filled by the callback otherwise). No copy for a matrix.
 */
export declare function userRow(what: string, source: UserScores, user: number, nUsers: number, nItems: number, buffer: Float32Array): {
    values: ScoreVector;
    offset: number;
};
export interface RetrievalInput {
    nUsers: number;
    nItems: number;
    scores: UserScores;
    /** Held-out (test) items per user. */
    relevant: UserItemLists;
    /** Items removed from each user's ranking, typically the user's training items. */
    exclude?: UserItemLists;
    /** Cut-offs, e.g. [10, 50, 100]. */
    ks: number[];
}
export interface RetrievalResult {
    /** 'Recall@K', 'HitRate@K', 'NDCG@K', 'MRR@K' per K, and 'MRR' (untruncated). */
    metrics: Record<string, number>;
    /** Users with ≥ 1 relevant item (after removing relevant items that are also excluded). */
    usersEvaluated: number;
    usersSkipped: number;
    /**
     * Relevant items that were also in the user's exclusion list: they cannot be retrieved, so they
     * are dropped from the relevant set (counted so a leaky split is visible, not silently scored 0).
     */
    relevantExcluded: number;
}
export declare function retrievalMetrics(input: RetrievalInput): RetrievalResult;
