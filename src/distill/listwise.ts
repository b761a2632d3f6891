/**
 * Listwise distillation (issue 5, item 4): softmax cross-entropy of the student's scores over a
 * teacher-ranked list against a target distribution q over the list's items (ListNet top-one form,
 * Cao et al., ICML'07):  ℓ = −Σ_i q_i · log softmax(s / T)_i, averaged over lists.
 *
 * Two targets:
 * - `teacher`: q = softmax(t / T), the teacher's scores softened by T (Hinton et al. 2015; EasyRec's
 *   `listwise_rank_loss` with `label_is_logits`, which also divides both sides by T). Multiplied by
 *   T² (`t2Scale`, default true) like the logit terms, so its gradient does not shrink as 1/T².
 * - `rank`: EasyRec's rank-position label (alibaba/EasyRec, easy_rec/python/loss/listwise_loss.py,
 *   `listwise_distill_loss`): y_r = log1p(C) − log(min(r, C)) for 1-based rank r, clip C
 *   (`label_clip_max_value`, default 512), normalised per list q_r = y_r / Σ y; the student's
 *   logits are divided by T. It uses only the final order, so it also follows a re-ranked list.
 */
import type { Graph } from '../engine/graph.js';
import type { Tensor } from '../engine/tensor.js';

/** Row-wise softmax(t / T) of [L, N] teacher scores. */
export function teacherSoftmaxTarget(
  teacherScores: Float32Array,
  lists: number,
  n: number,
  temperature: number,
): Float32Array {
  if (teacherScores.length !== lists * n)
    throw new Error(`listwise: ${teacherScores.length} teacher scores for ${lists} lists of ${n}`);
  if (!(temperature > 0)) throw new Error(`listwise: temperature must be > 0, got ${temperature}`);
  const q = new Float32Array(lists * n);
  for (let l = 0; l < lists; l++) {
    let m = -Infinity;
    for (let c = 0; c < n; c++) {
      const t = teacherScores[l * n + c]!;
      if (!Number.isFinite(t)) throw new Error(`listwise: teacher score of list ${l} position ${c} is ${t}`);
      m = Math.max(m, t / temperature);
    }
    let z = 0;
    for (let c = 0; c < n; c++) z += Math.exp(teacherScores[l * n + c]! / temperature - m);
    for (let c = 0; c < n; c++) q[l * n + c] = Math.exp(teacherScores[l * n + c]! / temperature - m) / z;
  }
  return q;
}

/** EasyRec's rank-position target for lists of n (rank = column + 1), tiled over `lists` rows. */
export function rankPositionTarget(lists: number, n: number, clip = 512): Float32Array {
  if (!(clip >= 1)) throw new Error(`listwise: clip must be >= 1, got ${clip}`);
  const row = new Float64Array(n);
  let z = 0;
  for (let c = 0; c < n; c++) {
    row[c] = Math.log1p(clip) - Math.log(Math.min(c + 1, clip));
    z += row[c]!;
  }
  const q = new Float32Array(lists * n);
  for (let l = 0; l < lists; l++) for (let c = 0; c < n; c++) q[l * n + c] = row[c]! / z;
  return q;
}

/** Mean over lists of −Σ q · log softmax(s / T), times T² when `t2Scale`. */
export function listwiseLoss(
  g: Graph,
  scores: Tensor,
  target: Float32Array,
  temperature: number,
  t2Scale: boolean,
): Tensor {
  if (scores.shape.length !== 2 || target.length !== scores.size) {
    throw new Error(
      `listwise: scores [${scores.shape.join(', ')}] and ${target.length} target values differ`,
    );
  }
  const s = temperature === 1 ? scores : g.scale(scores, 1 / temperature);
  const loss = g.softmaxCrossEntropy(s, g.input(target, scores.shape));
  return t2Scale && temperature !== 1 ? g.scale(loss, temperature * temperature) : loss;
}
