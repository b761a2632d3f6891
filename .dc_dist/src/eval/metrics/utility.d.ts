/**
 * Ground-truth utility of a top-K list, for the simulator where the true probability of every
 * event (click, long dwell, ...) for every (user, item) is known. The expected number of events in
 * a list L = (i_1 .. i_K) shown to user u is, by linearity of expectation,
 *   E[events | L] = Σ_{r=1..K} e_r · P(event | u, i_r),
 * where e_r is the probability that position r is examined (the position-based model, Richardson
 * et al. WWW 2007; Craswell et al. WSDM 2008). With e ≡ 1 (default) this is the expected count if
 * every slot is seen. The oracle, the best value any K-list can reach, is the top K by the true
 * probabilities themselves (optimal when e is non-increasing, by the rearrangement inequality).
 * Metric names are the caller's (e.g. 'trueClicks', 'trueDwell'), suffixed '@K'.
 */
import { type UserItemLists, type UserScores } from './retrieval.js';
import { type ScoreVector } from './topk.js';
/** Σ_{r < min(K, |list|)} examination[r] · probabilities[list[r]] for one list. */
export declare function expectedEvents(list: Int32Array, probabilities: ScoreVector, k: number, examination?: ArrayLike<number>): number;
export interface GroundTruthUtilityInput {
    nUsers: number;
    nItems: number;
    /** The model's scores, which choose each user's top K. */
    scores: UserScores;
    /** True event probabilities per (user, item), one entry per event, e.g. { name: 'trueClicks', ... }. */
    truth: {
        name: string;
        probabilities: UserScores;
    }[];
    ks: number[];
    /** Items that may not be shown to the user (e.g. already consumed). */
    exclude?: UserItemLists;
    /** Examination probability per position (length ≥ max K); default 1 for every position. */
    examination?: ArrayLike<number>;
}
export interface GroundTruthUtilityResult {
    /** '<name>@K': mean over users of the expected events in the model's top K. */
    metrics: Record<string, number>;
    /** '<name>@K': the same for the best possible list (top K by the true probabilities). */
    oracle: Record<string, number>;
}
export declare function groundTruthUtility(input: GroundTruthUtilityInput): GroundTruthUtilityResult;
