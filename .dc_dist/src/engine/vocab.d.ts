/**
 * Vocabularies and feature hashing: how raw id strings become embedding-table row indices.
 *
 * A `Vocab` is built from the TRAIN split only (so the validation/test periods cannot leak which ids
 * exist in the future) and reserves index 0 for everything it has not seen: out-of-vocabulary ids,
 * ids below `minCount`, and missing values. Serving and export re-create the exact mapping from
 * `toJSON()`, so the order of tokens is deterministic (count descending, then token ascending).
 *
 * `hashBucket` is for unbounded id spaces (the "hashing trick", Weinberger et al., ICML 2009). It
 * is FNV-1a 32-bit over the UTF-8 bytes of the value: tiny, fast, stable across platforms and easy to
 * reproduce in another language at serving time, which matters more here than avalanche quality.
 */
/** Serialised form of a Vocab (what export manifests and checkpoints store). */
export interface VocabJSON {
    name: string;
    minCount: number;
    /** Token of row i+1 (row 0 is the OOV bucket). */
    tokens: string[];
    /** Train-split count of each token, parallel to `tokens`. */
    counts: number[];
}
export declare class Vocab {
    readonly name: string;
    /** Tokens in row order; tokens[i] has row i + 1. */
    readonly tokens: readonly string[];
    readonly counts: readonly number[];
    readonly minCount: number;
    private readonly index;
    private constructor();
    /** Row count of the embedding table this vocab indexes (tokens + the OOV row 0). */
    get size(): number;
    /** Row of `token`, or 0 (OOV) when unseen or missing. */
    lookup(token: string | null | undefined): number;
    has(token: string): boolean;
    /** Token of a row; row 0 returns null (OOV). */
    tokenOf(row: number): string | null;
    /**
     * Builds a vocab from (token, count) pairs, e.g. the result of a `GROUP BY` over the train split.
     * Tokens with count < minCount are left out (they map to OOV). Pairs with the same token are summed.
     */
    static fromCounts(name: string, pairs: Iterable<readonly [string, number]>, minCount?: number): Vocab;
    /** Builds a vocab by counting the values of an iterable (null/undefined are skipped). */
    static build(name: string, values: Iterable<string | null | undefined>, minCount?: number): Vocab;
    toJSON(): VocabJSON;
    static fromJSON(j: VocabJSON): Vocab;
}
/** FNV-1a 32-bit hash of the UTF-8 bytes of `value`, as an unsigned integer. */
export declare function fnv1a32(value: string): number;
/** Bucket in [0, n) of a value under the FNV-1a 32-bit hash. */
export declare function hashBucket(value: string, n: number): number;
