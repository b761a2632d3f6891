/**
 * Ranking Distillation (Tang & Wang, "Ranking Distillation: Learning Compact Ranking Models With
 * High Performance for Recommender System", KDD'18), issue 5 item 5. The teacher's top-K items of a
 * list are treated as weighted positives:
 *
 *   L_RD = −Σ_{r=1..K} w_r · log σ(s_{π_r})          (paper eq. 4; averaged over lists)
 *
 * - Position importance (paper §2.4.1): w^a_r = exp(−r/λ) / Σ_{r'=1..K} exp(−r'/λ); a small λ puts the
 *   weight on the very top.
 * - Ranking discrepancy, dynamic (paper §2.4.2): w^b_r = max(tanh(μ · (r̂_r − r)), 0), where r̂_r is
 *   the student's rank of the teacher's r-th item: items the student already ranks as high as the
 *   teacher get ~0 weight, items it under-ranks get ~1. The hybrid weight is w^a · w^b, used after a
 *   warm-up (`startStep`), optionally renormalised to sum to 1 per list — both as in the authors'
 *   code (graytowne/rank_distill, distill_caser.py: hybrid = dynamic × static, renormalise off by
 *   default, dynamic weights only after `dynamic_start_epoch`).
 *   Difference from the paper: r̂ is the student's exact 0-based rank within the candidate list (the
 *   list, random plus retrieved candidates, is the sample), not a catalogue rank estimated from
 *   sampled items; r is the teacher's 0-based position, so r̂ − r compares like with like.
 * The weights are constants (no gradient flows through w^b, as in the authors' `weight.detach()`).
 */
import type { Graph } from '../engine/graph.js';
import type { Tensor } from '../engine/tensor.js';

/** w^a_r ∝ exp(−r/λ), r = 1..K, summing to 1. */
export function positionWeights(k: number, lambda: number): Float32Array {
  if (!Number.isInteger(k) || k < 1) throw new Error(`rd: k must be an integer >= 1, got ${k}`);
  if (!(lambda > 0)) throw new Error(`rd: lambda must be > 0, got ${lambda}`);
  const w = new Float64Array(k);
  let z = 0;
  for (let r = 1; r <= k; r++) {
    w[r - 1] = Math.exp(-r / lambda);
    z += w[r - 1]!;
  }
  return Float32Array.from(w, (v) => v / z);
}

/**
 * w^b for the first k positions of each list: studentScores is [L, N] (column = teacher position);
 * r̂ = number of list items the student scores strictly higher.
 */
export function rankDiscrepancyWeights(
  studentScores: Float32Array,
  lists: number,
  n: number,
  k: number,
  mu: number,
): Float32Array {
  if (studentScores.length !== lists * n)
    throw new Error(`rd: ${studentScores.length} student scores for ${lists} lists of ${n}`);
  if (!(mu > 0)) throw new Error(`rd: mu must be > 0, got ${mu}`);
  const w = new Float32Array(lists * k);
  for (let l = 0; l < lists; l++) {
    const off = l * n;
    for (let r = 0; r < k; r++) {
      const s = studentScores[off + r]!;
      let above = 0;
      for (let c = 0; c < n; c++) if (studentScores[off + c]! > s) above++;
      w[l * k + r] = Math.max(Math.tanh(mu * (above - r)), 0);
    }
  }
  return w;
}

/** Hybrid weights w^a · w^b per list ([L, k]), optionally renormalised to sum 1 per list (an all-zero list stays 0). */
export function hybridWeights(
  position: Float32Array,
  discrepancy: Float32Array,
  renormalize: boolean,
): Float32Array {
  const k = position.length;
  const L = discrepancy.length / k;
  const w = new Float32Array(L * k);
  for (let l = 0; l < L; l++) {
    let z = 0;
    for (let r = 0; r < k; r++) {
      w[l * k + r] = position[r]! * discrepancy[l * k + r]!;
      z += w[l * k + r]!;
    }
    if (renormalize && z > 0) for (let r = 0; r < k; r++) w[l * k + r] = w[l * k + r]! / z;
  }
  return w;
}

/**
 * L_RD averaged over lists: −(1/L) Σ_l Σ_{r<k} w[l, r] · log σ(s[l, r]). `scores` is [L, N] with
 * N >= k; `weights` either [k] (the same per list) or [L·k].
 */
export function rdLoss(g: Graph, scores: Tensor, k: number, weights: Float32Array): Tensor {
  if (scores.shape.length !== 2 || scores.shape[1]! < k) {
    throw new Error(`rd: scores [${scores.shape.join(', ')}] must be [lists, N] with N >= k = ${k}`);
  }
  const L = scores.shape[0]!;
  let w: Float32Array;
  if (weights.length === k) {
    w = new Float32Array(L * k);
    for (let l = 0; l < L; l++) w.set(weights, l * k);
  } else if (weights.length === L * k) w = weights;
  else throw new Error(`rd: ${weights.length} weights, expected ${k} or ${L * k}`);
  const top = scores.shape[1] === k ? scores : g.slice(scores, 0, k);
  return g.scale(g.sum(g.mul(g.logSigmoid(top), g.input(w, [L, k]))), -1 / L);
}
