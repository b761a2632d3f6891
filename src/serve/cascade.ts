/**
 * The serving cascade: recall N candidates from the whole corpus (user tower + index), pre-rank
 * them and keep M, rank those and keep K, then an optional re-rank of the final list (diversity,
 * de-duplication). Each stage only sees what the previous one kept; this truncation is where a
 * student that disagrees with the ranker loses items the ranker would have liked, which is the
 * "whole-chain consistency" distillation aims at (Tang & Wang, "Ranking Distillation", KDD'18;
 * the cascade framing of Wang et al., "Cascade Ranking for Operational E-commerce Search", KDD'17).
 *
 * Stages are plain functions over catalogue rows, so the same code runs the HTTP service (exported
 * graphs) and the offline evaluation (in-memory models, ground-truth simulator).
 */
import { TopKSelector } from '../engine/topK.js';

export interface CascadeStages {
  /** The N best catalogue rows for the user with their recall scores, best first. */
  recall(n: number): { keys: Int32Array; scores: Float32Array };
  /** Pre-ranking scores of the given rows (absent: the recall order is kept). */
  prerank?: (rows: Int32Array) => Float32Array;
  /** Ranking scores of the given rows (absent: the pre-rank order is kept). */
  rank?: (rows: Int32Array) => Float32Array;
}

/** A re-rank hook: given the final items and their scores (best first), the order to serve (a permutation of 0..K-1). */
export type Rerank = (items: Int32Array, scores: Float32Array) => ArrayLike<number>;

export interface CascadeSizes {
  /** Recall candidates. */
  n: number;
  /** Kept after pre-ranking. */
  m: number;
  /** Final list length. */
  k: number;
  rerank?: Rerank;
}

export interface CascadeResult {
  /** Final items (catalogue rows) in served order. */
  items: Int32Array;
  /** Per final item, its score at each stage (NaN where a stage is absent). */
  recallScores: Float32Array;
  prerankScores: Float32Array;
  rankScores: Float32Array;
  /** What each stage passed on: recall's N, pre-rank's M (before ranking). */
  recalled: Int32Array;
  preranked: Int32Array;
  /** Wall time per stage in milliseconds. */
  timings: { recall: number; prerank: number; rank: number; rerank: number };
}

export function checkSizes(s: CascadeSizes): void {
  const ok = (x: number) => Number.isInteger(x) && x >= 1;
  if (!ok(s.n) || !ok(s.m) || !ok(s.k) || !(s.k <= s.m && s.m <= s.n)) {
    throw new Error(`cascade sizes must be integers with 1 <= k <= m <= n, got n=${s.n}, m=${s.m}, k=${s.k}`);
  }
}

/** Keeps the `keep` best of `rows` by `scores` (partial selection); returns positions into `rows`, best first. */
function keepBest(sel: TopKSelector, scores: Float32Array, keep: number): Int32Array {
  const c = sel.select(scores, Math.min(keep, scores.length, sel.maxK), 0, scores.length);
  return sel.indices.slice(0, c);
}

export function runCascade(stages: CascadeStages, sizes: CascadeSizes): CascadeResult {
  checkSizes(sizes);
  const sel = new TopKSelector(sizes.m);
  const t0 = performance.now();
  const rec = stages.recall(sizes.n);
  const recallOf = new Map<number, number>();
  rec.keys.forEach((k, i) => {
    recallOf.set(k, rec.scores[i]!);
  });
  const t1 = performance.now();

  // Pre-rank N → M. Without a pre-ranker, recall's order (already best first) decides.
  let pre: Int32Array;
  let preScores: Float32Array | null = null;
  if (stages.prerank) {
    const s = stages.prerank(rec.keys);
    if (s.length !== rec.keys.length)
      throw new Error(`cascade: pre-ranker returned ${s.length} scores for ${rec.keys.length} candidates`);
    const pos = keepBest(sel, s, sizes.m);
    pre = Int32Array.from(pos, (p) => rec.keys[p]!);
    preScores = Float32Array.from(pos, (p) => s[p]!);
  } else {
    pre = rec.keys.slice(0, sizes.m);
  }
  const t2 = performance.now();

  // Rank M → K.
  let fin: Int32Array;
  let finPre: Float32Array | null = null;
  let finRank: Float32Array | null = null;
  if (stages.rank) {
    const s = stages.rank(pre);
    if (s.length !== pre.length)
      throw new Error(`cascade: ranker returned ${s.length} scores for ${pre.length} items`);
    const pos = keepBest(sel, s, sizes.k);
    fin = Int32Array.from(pos, (p) => pre[p]!);
    finRank = Float32Array.from(pos, (p) => s[p]!);
    if (preScores) finPre = Float32Array.from(pos, (p) => preScores![p]!);
  } else {
    fin = pre.slice(0, sizes.k);
    if (preScores) finPre = preScores.slice(0, sizes.k);
  }
  const t3 = performance.now();

  let order: ArrayLike<number> | null = null;
  if (sizes.rerank) {
    const main = finRank ?? finPre ?? Float32Array.from(fin, (r) => recallOf.get(r)!);
    order = sizes.rerank(fin, main);
    const seen = new Uint8Array(fin.length);
    if (order.length !== fin.length)
      throw new Error(`re-rank returned ${order.length} positions for ${fin.length} items`);
    for (let i = 0; i < order.length; i++) {
      const p = order[i]!;
      if (!Number.isInteger(p) || p < 0 || p >= fin.length || seen[p])
        throw new Error(
          `re-rank must return a permutation of 0..${fin.length - 1}; got position ${p} at ${i}`,
        );
      seen[p] = 1;
    }
  }
  const t4 = performance.now();
  const perm = (a: Float32Array | null) =>
    a === null
      ? new Float32Array(fin.length).fill(Number.NaN)
      : order
        ? Float32Array.from(order, (p) => a[p]!)
        : a;
  const items = order ? Int32Array.from(order, (p) => fin[p]!) : fin;
  return {
    items,
    recallScores: Float32Array.from(items, (r) => recallOf.get(r)!),
    prerankScores: perm(finPre),
    rankScores: perm(finRank),
    recalled: rec.keys,
    preranked: pre,
    timings: { recall: t1 - t0, prerank: t2 - t1, rank: t3 - t2, rerank: t4 - t3 },
  };
}
