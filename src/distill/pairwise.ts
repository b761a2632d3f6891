/**
 * Pairwise distillation from a teacher-ranked list (issue 5, item 3): sample pairs (i ranked above
 * j) and push the student's score of i above j's.
 * - BPR (Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI'09, eq. 4):
 *   ℓ = −log σ(s_i − s_j), computed as softplus(−(s_i − s_j)) so a large negative margin never
 *   evaluates log(0).
 * - Hinge with margin m: ℓ = max(0, m − (s_i − s_j)).
 *
 * Sampling (positions are 0-based, i < j always, so a pair never inverts the list's order):
 * - `uniform`: every unordered pair of positions equally likely;
 * - `rank-gap`: P(i, j) ∝ (j − i), so pairs far apart in the teacher's order (a clear preference)
 *   are drawn more often than neighbours (a preference the teacher itself is least sure of). The gap
 *   d is drawn with weight d·(N − d) (N − d pairs have gap d), then i uniformly in [0, N − d).
 *
 * One set of position pairs is shared by the L lists of a batch, so the differences are a single
 * matmul: S [L, N] · D [N, P] with D[i, p] = 1, D[j, p] = −1. Pairs the teacher scored as a tie carry
 * no order and are masked out per list.
 */
import type { Graph } from '../engine/graph.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';

export type PairSampling = 'uniform' | 'rank-gap';

export interface PositionPairs {
  /** Position of the item ranked higher (smaller index). */
  hi: Int32Array;
  /** Position of the item ranked lower. */
  lo: Int32Array;
}

export function samplePairs(
  listLength: number,
  count: number,
  sampling: PairSampling,
  rng: Rng,
): PositionPairs {
  const N = listLength;
  if (!Number.isInteger(N) || N < 2) throw new Error(`samplePairs: a list needs at least 2 items, got ${N}`);
  if (!Number.isInteger(count) || count < 1) throw new Error(`samplePairs: count must be >= 1, got ${count}`);
  const hi = new Int32Array(count);
  const lo = new Int32Array(count);
  let gapCdf: Float64Array | null = null;
  if (sampling === 'rank-gap') {
    gapCdf = new Float64Array(N);
    let acc = 0;
    for (let d = 1; d < N; d++) {
      acc += d * (N - d);
      gapCdf[d] = acc;
    }
  }
  for (let p = 0; p < count; p++) {
    if (gapCdf === null) {
      const a = rng.int(N);
      let b = rng.int(N - 1);
      if (b >= a) b++;
      hi[p] = Math.min(a, b);
      lo[p] = Math.max(a, b);
    } else {
      const u = rng.nextFloat() * gapCdf[N - 1]!;
      let d = 1;
      while (d < N - 1 && gapCdf[d]! <= u) d++;
      const i = rng.int(N - d);
      hi[p] = i;
      lo[p] = i + d;
    }
  }
  return { hi, lo };
}

export interface PairwiseOptions {
  kind: 'bpr' | 'hinge';
  /** Hinge margin (ignored by BPR). */
  margin: number;
}

/**
 * Mean pairwise loss over the (list, pair) cells that are not teacher ties. `scores` is [L, N]
 * (column = position); `teacherScores` the lists' teacher scores in the same layout.
 */
export function pairwiseLoss(
  g: Graph,
  scores: Tensor,
  pairs: PositionPairs,
  teacherScores: Float32Array,
  opts: PairwiseOptions,
): Tensor {
  if (scores.shape.length !== 2)
    throw new Error(`pairwise: scores must be [lists, N], got [${scores.shape.join(', ')}]`);
  const L = scores.shape[0]!;
  const N = scores.shape[1]!;
  const P = pairs.hi.length;
  if (teacherScores.length !== L * N) {
    throw new Error(`pairwise: ${teacherScores.length} teacher scores for ${L} lists of ${N}`);
  }
  const D = new Float32Array(N * P);
  for (let p = 0; p < P; p++) {
    const i = pairs.hi[p]!;
    const j = pairs.lo[p]!;
    if (!(i >= 0 && i < j && j < N))
      throw new Error(`pairwise: pair ${p} is (${i}, ${j}), expected 0 <= hi < lo < ${N}`);
    D[i * P + p] = 1;
    D[j * P + p] = -1;
  }
  const mask = new Float32Array(L * P);
  let count = 0;
  for (let l = 0; l < L; l++) {
    for (let p = 0; p < P; p++) {
      const ti = teacherScores[l * N + pairs.hi[p]!]!;
      const tj = teacherScores[l * N + pairs.lo[p]!]!;
      if (ti !== tj) {
        mask[l * P + p] = 1;
        count++;
      }
    }
  }
  const diff = g.matmul(scores, g.input(D, [N, P]));
  const cell =
    opts.kind === 'bpr'
      ? g.softplus(g.scale(diff, -1))
      : g.relu(g.add(g.scale(diff, -1), g.input(Float32Array.of(opts.margin), [1])));
  // All pairs tied (a constant teacher): the loss is 0 with zero gradient, not NaN.
  return g.scale(g.sum(g.mul(cell, g.input(mask, [L, P]))), 1 / Math.max(1, count));
}
