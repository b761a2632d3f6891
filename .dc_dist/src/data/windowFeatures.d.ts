/**
 * Leak-free trailing-window counts: how many (click) events a user had on a key (a category, a shop,
 * a genre) in the window [t − W, t) before a sample at time t. These are the privileged cross features
 * of privileged features distillation (Xu et al., "Privileged Features Distillation at Taobao
 * Recommendations", KDD 2020): cheap offline, too expensive for recall/pre-ranking online.
 *
 * "Strictly before": an event at exactly t (same second) is invisible, as is the sample itself. The
 * window includes t − W and excludes t, so a count never sees the label being predicted.
 *
 * Implementation choice: an exact in-memory index rather than a SQL window function. History events
 * are grouped by (user, key) with their timestamps sorted; a query is two binary searches
 * (lower_bound(t − W) and lower_bound(t)), so it is exact for integer or fractional timestamps and
 * answers ANY (user, key, t) — not only the logged events, but also the random negatives of recall
 * samples and the candidates of teacher-ranked lists, which never appear in the log. One code path
 * for all three is what keeps train-time and scoring-time features identical. Build cost is one sort
 * of the history (O(n log n)); memory is 16 bytes per history event.
 */
export declare const DEFAULT_WINDOW_SECONDS: number;
export declare class WindowCounter {
    readonly keySpace: number;
    readonly windowSeconds: number;
    /** Sorted unique composite keys (user · keySpace + key). */
    private readonly groupKeys;
    /** groupStart[g] .. groupStart[g+1] index `times` for group g. */
    private readonly groupStart;
    /** Event times grouped by composite key, ascending within a group. */
    private readonly times;
    readonly events: number;
    /**
     * @param users user identity per history event
     * @param keys key id per history event (a category, shop, genre...), >= 0; negative = skip
     * @param ts event time (unix seconds) per history event
     * @param keySpace an upper bound (exclusive) on key ids
     * @param include optional mask: only events with include[i] > 0 are counted (e.g. click == 1)
     */
    constructor(users: Int32Array, keys: Int32Array, ts: Float64Array, keySpace: number, windowSeconds?: number, include?: ArrayLike<number>);
    /** Number of counted events of (user, key) with time in [t − W, t). */
    count(user: number, key: number, t: number): number;
    /** Sum of counts over the keys of a padded list (−1 = padding), e.g. a movie's genres. */
    countList(user: number, keys: Int32Array, t: number): number;
}
/**
 * Declares one privileged window feature for the dataset pipeline: a numeric field whose value is
 * the user's count of events on the sample item's key(s) in the trailing window.
 */
export interface WindowFeatureSpec {
    /** The numeric field (group privileged, or user for per-user activity) the counts fill. */
    field: string;
    /** Item-side field whose raw values are the keys: a categorical (category, shop) or multi_hot (genres). */
    keyField: string;
    /** Count only history events whose label is positive (e.g. 'click'); all events when absent. */
    countLabel?: string;
    windowSeconds?: number;
}
/**
 * A window feature bound to a dataset: the counter plus each item's keys, so it can be evaluated for
 * any (userKey, itemKey, t), including pairs never logged.
 */
export declare class BoundWindowFeature {
    readonly spec: WindowFeatureSpec;
    readonly counter: WindowCounter;
    /** itemKey · keysPerItem → key id (−1 padded): the item's category, or its genres. */
    readonly itemKeys: Int32Array;
    readonly keysPerItem: number;
    constructor(spec: WindowFeatureSpec, counter: WindowCounter, 
    /** itemKey · keysPerItem → key id (−1 padded): the item's category, or its genres. */
    itemKeys: Int32Array, keysPerItem: number);
    /** Raw (unnormalised) counts for rows of (user, item, time). */
    compute(userKey: Int32Array, itemKey: Int32Array, ts: Float64Array, out?: Float32Array<ArrayBuffer>): Float32Array;
}
