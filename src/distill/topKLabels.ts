/**
 * Top-K labelling of a teacher-ranked list (issue 5, item 2): the teacher's top K items are
 * positives, positions K+1..K+H are HARD negatives (items the teacher ranked just below the cut,
 * i.e. plausible but not chosen), optionally mixed with EASY negatives (random catalogue items
 * outside the list) at `easyPerHard` easy negatives per hard one. The student is trained with BCE
 * on these labels, so it learns the teacher's decision boundary at K rather than its logits.
 *
 * Layout of one list's row block: columns 0..N−1 are the ranked list (column p = rank p+1),
 * columns N..N+E−1 the list's easy negatives (see rankLists.ts); the same layout is used for every
 * list of a batch, so targets and weights are one row tiled L times.
 */
import type { Graph } from '../engine/graph.js';
import type { Tensor } from '../engine/tensor.js';

export interface TopKLabelSpec {
  /** Positives: ranks 1..k. */
  k: number;
  /** Hard negatives: ranks k+1..k+hardNegatives (default: every rank after k in the list). */
  hardNegatives?: number;
  /** Easy random negatives per hard negative (0 = hard negatives only). */
  easyPerHard: number;
}

export interface TopKLayout {
  /** Per column of a list block: 1 for the top K, 0 for negatives. */
  target: Float32Array;
  /** Per column: 1 where the column takes part in the loss, 0 where it is unused. */
  used: Uint8Array;
  hard: number;
  easy: number;
}

/**
 * Labels of one list block of `listLength` ranked columns followed by `easyAvailable` easy columns.
 * Exact at the boundary: column k−1 (rank k) is the last positive, column k (rank k+1) the first
 * hard negative.
 */
export function topKLayout(spec: TopKLabelSpec, listLength: number, easyAvailable: number): TopKLayout {
  const N = listLength;
  const K = spec.k;
  if (!Number.isInteger(K) || K < 1 || K >= N) {
    throw new Error(`topk_bce: k must be an integer in [1, ${N - 1}] for lists of ${N} items, got ${K}`);
  }
  const H = spec.hardNegatives ?? N - K;
  if (!Number.isInteger(H) || H < 0 || K + H > N) {
    throw new Error(
      `topk_bce: hardNegatives must be an integer in [0, ${N - K}] (list ${N}, k ${K}), got ${H}`,
    );
  }
  if (!(spec.easyPerHard >= 0))
    throw new Error(`topk_bce: easyPerHard must be >= 0, got ${spec.easyPerHard}`);
  const E = Math.round(spec.easyPerHard * H);
  if (H === 0 && spec.easyPerHard > 0) {
    throw new Error('topk_bce: easyPerHard is a ratio to the hard negatives, but hardNegatives is 0');
  }
  if (E > easyAvailable) {
    throw new Error(
      `topk_bce: easyPerHard ${spec.easyPerHard} × ${H} hard negatives needs ${E} easy negatives per list, ` +
        `but the lists carry ${easyAvailable} (raise rankDistill.lists.easyNegatives)`,
    );
  }
  const W = N + easyAvailable;
  const target = new Float32Array(W);
  const used = new Uint8Array(W);
  for (let p = 0; p < K; p++) {
    target[p] = 1;
    used[p] = 1;
  }
  for (let p = K; p < K + H; p++) used[p] = 1;
  for (let e = 0; e < E; e++) used[N + e] = 1;
  return { target, used, hard: H, easy: E };
}

/**
 * Mean BCE over the used cells of `scores` ([L, W] student logits, one list block per row):
 * (1/|used|) Σ_used BCE(s, y). bceWithLogits averages over all L·W cells, so the per-cell weights
 * are used·(L·W)/|used| to turn that into the mean over used cells.
 */
export function topKLabelLoss(g: Graph, scores: Tensor, layout: TopKLayout): Tensor {
  if (scores.shape.length !== 2 || scores.shape[1] !== layout.target.length) {
    throw new Error(
      `topk_bce: scores are [${scores.shape.join(', ')}], expected [lists, ${layout.target.length}]`,
    );
  }
  const L = scores.shape[0]!;
  const W = layout.target.length;
  let perList = 0;
  for (let c = 0; c < W; c++) perList += layout.used[c]!;
  const target = new Float32Array(L * W);
  const weights = new Float32Array(L * W);
  const w = (L * W) / (perList * L);
  for (let l = 0; l < L; l++) {
    for (let c = 0; c < W; c++) {
      target[l * W + c] = layout.target[c]!;
      weights[l * W + c] = layout.used[c]! * w;
    }
  }
  return g.bceWithLogits(g.reshape(scores, [L * W]), target, weights);
}
