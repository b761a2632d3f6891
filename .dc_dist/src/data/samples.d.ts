/**
 * Sample builders.
 *
 * - Exposure samples: what was shown and its outcome; these train the ranking teacher. They are
 *   the dataset's split rows as logged (`exposureSamples`).
 * - Recall samples: each positive (click) plus N negatives drawn from the WHOLE item catalogue,
 *   uniformly or by popularity^alpha (word2vec-style unigram^0.75, Mikolov et al. 2013). Every row
 *   records its item's sampling probability so the student can apply the logQ correction of sampled
 *   softmax (Bengio & Senécal 2008; Yi et al., "Sampling-Bias-Corrected Neural Modeling for Large
 *   Corpus Item Recommendations", RecSys 2019).
 * - In-batch negatives: `ColumnarDataset.batches({ uniqueItems: true })` keeps each item at most
 *   once per batch, and `extra.inBatchProb` carries each item's share of the train positives, the
 *   probability with which it appears as an in-batch negative (Yi et al. 2019, eq. 3).
 *
 * Negatives take the positive's user, context and time; their item fields come from the catalogue
 * and their privileged window counts are computed for (user, negative item, time) with the same
 * leak-free counter as the logged events, so the teacher can score them honestly.
 */
import type { Rng } from '../engine/rng.js';
import { ColumnarDataset, type Columns } from './batch.js';
import { type LoadedDataset, type SplitName } from './dataset.js';
/** Exposure samples of one split (the logged rows, in time order). */
export declare function exposureSamples(ds: LoadedDataset, split: SplitName): ColumnarDataset;
/**
 * Walker's alias method: O(n) build, O(1) draw from a discrete distribution (Vose's stable
 * construction).
 */
export declare class AliasSampler {
    readonly probs: Float64Array;
    private readonly alias;
    private readonly cut;
    constructor(weights: ArrayLike<number>);
    sample(rng: Rng): number;
}
/** Count of positive rows per itemKey in a split (label > 0). */
export declare function itemPositiveCounts(ds: LoadedDataset, split?: SplitName, label?: string): Float64Array;
export interface RecallSampleOptions {
    /** Split whose positives are used (default train). */
    split?: SplitName;
    /** Negatives per positive. */
    negatives: number;
    sampler: 'uniform' | 'popularity';
    /** Exponent of popularity sampling (default 0.75). */
    alpha?: number;
    rng: Rng;
    /** Label defining positives (default the dataset's click label). */
    positiveLabel?: string;
}
/**
 * Recall samples: for every positive of the split, the positive row followed by N negative rows.
 * `requestId` is the group index (one group = one positive and its negatives). Extra columns:
 * `sampleProb` (per-draw probability of the row's item under the negative sampler) and
 * `inBatchProb` (the item's smoothed share of train positives: (count + 1) / (total + nItems)).
 * `privilegedKnown` (only when the dataset has privileged fields that are not window counts, like
 * Ali-CCP's crosses): 0 on negatives, whose such fields are set to 0 / row 0 because they are unknown.
 * Popularity weights are (train positive count + 1)^alpha so every catalogue item can be drawn.
 * A draw equal to the positive item is redrawn.
 */
export declare function recallSamples(ds: LoadedDataset, opts: RecallSampleOptions): ColumnarDataset;
/**
 * Rows pairing the user, context and time of `src` rows with arbitrary catalogue items: the shape of
 * recall negatives, teacher-ranked candidate lists and full-corpus scoring. Row i takes user and
 * context fields from src row `srcRows[i]`, item fields from catalogue row `itemKey[i]`, and
 * privileged window counts recomputed for (user, item, time). Where `logged[i]` is 1 the pair is
 * the logged one and its labels and privileged values are copied; elsewhere labels are 0.
 * Privileged fields that cannot be recomputed for an unlogged pair (Ali-CCP's precomputed crosses)
 * are set to row 0 / 0.0, and `extra.privilegedKnown` (1 = real value) is added so a trainer can
 * mask them.
 */
export declare function pairSamples(ds: LoadedDataset, src: Columns, srcRows: Int32Array, itemKey: Int32Array, logged: Uint8Array): Columns;
