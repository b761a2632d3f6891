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

import { type ScoreVector, TopKSelector } from '../../engine/topK.js';
import { checkUserItemLists, type UserItemLists, type UserScores, userRow } from './retrieval.js';

/** Σ_{r < min(K, |list|)} examination[r] · probabilities[list[r]] for one list. */
export function expectedEvents(
  list: Int32Array,
  probabilities: ScoreVector,
  k: number,
  examination?: ArrayLike<number>,
): number {
  return expectedOfRange(list, Math.min(k, list.length), probabilities, 0, examination);
}

function expectedOfRange(
  list: Int32Array,
  n: number,
  probs: ScoreVector,
  offset: number,
  examination?: ArrayLike<number>,
): number {
  let sum = 0;
  for (let r = 0; r < n; r++) {
    const p = probs[offset + list[r]!]!;
    if (!(p >= 0 && p <= 1))
      throw new Error(`expectedEvents: true probability of item ${list[r]} is ${p}; expected [0, 1]`);
    sum += (examination ? examination[r]! : 1) * p;
  }
  return sum;
}

export interface GroundTruthUtilityInput {
  nUsers: number;
  nItems: number;
  /** The model's scores, which choose each user's top K. */
  scores: UserScores;
  /** True event probabilities per (user, item), one entry per event, e.g. { name: 'trueClicks', ... }. */
  truth: { name: string; probabilities: UserScores }[];
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

export function groundTruthUtility(input: GroundTruthUtilityInput): GroundTruthUtilityResult {
  const what = 'groundTruthUtility';
  const { nUsers, nItems, ks, truth, examination } = input;
  if (!Number.isInteger(nUsers) || nUsers < 1 || !Number.isInteger(nItems) || nItems < 1) {
    throw new Error(`${what}: nUsers and nItems must be positive integers, got ${nUsers} and ${nItems}`);
  }
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) {
    throw new Error(`${what}: ks must be positive integers, got [${ks.join(', ')}]`);
  }
  if (truth.length === 0) throw new Error(`${what}: no ground-truth event given`);
  const maxK = Math.min(nItems, Math.max(...ks));
  if (examination && examination.length < maxK) {
    throw new Error(`${what}: examination has ${examination.length} positions; need at least ${maxK}`);
  }
  if (input.exclude) checkUserItemLists(what, 'exclude', input.exclude, nUsers, nItems);
  const selector = new TopKSelector(maxK);
  const oracleSelector = new TopKSelector(maxK);
  const scoreBuf = new Float32Array(typeof input.scores === 'function' ? nItems : 0);
  const truthBufs = truth.map((t) => new Float32Array(typeof t.probabilities === 'function' ? nItems : 0));
  const mask = new Uint8Array(nItems);
  const sums = new Float64Array(truth.length * ks.length);
  const oracleSums = new Float64Array(truth.length * ks.length);
  for (let u = 0; u < nUsers; u++) {
    if (input.exclude) {
      const { offsets, items } = input.exclude;
      for (let i = offsets[u]!; i < offsets[u + 1]!; i++) mask[items[i]!] = 1;
    }
    const m = input.exclude ? mask : undefined;
    const row = userRow(what, input.scores, u, nUsers, nItems, scoreBuf);
    const n = selector.select(row.values, maxK, row.offset, nItems, m);
    for (let e = 0; e < truth.length; e++) {
      const tr = userRow(
        `${what} (${truth[e]!.name})`,
        truth[e]!.probabilities,
        u,
        nUsers,
        nItems,
        truthBufs[e]!,
      );
      const on = oracleSelector.select(tr.values, maxK, tr.offset, nItems, m);
      for (let q = 0; q < ks.length; q++) {
        sums[e * ks.length + q] += expectedOfRange(
          selector.indices,
          Math.min(ks[q]!, n),
          tr.values,
          tr.offset,
          examination,
        );
        oracleSums[e * ks.length + q] += expectedOfRange(
          oracleSelector.indices,
          Math.min(ks[q]!, on),
          tr.values,
          tr.offset,
          examination,
        );
      }
    }
    if (input.exclude) {
      const { offsets, items } = input.exclude;
      for (let i = offsets[u]!; i < offsets[u + 1]!; i++) mask[items[i]!] = 0;
    }
  }
  const metrics: Record<string, number> = {};
  const oracle: Record<string, number> = {};
  for (let e = 0; e < truth.length; e++) {
    for (let q = 0; q < ks.length; q++) {
      const key = `${truth[e]!.name}@${ks[q]}`;
      metrics[key] = sums[e * ks.length + q]! / nUsers;
      oracle[key] = oracleSums[e * ks.length + q]! / nUsers;
    }
  }
  return { metrics, oracle };
}
