/**
 * Rank-based distillation terms, declared as a list in the config like the logit terms
 * (./kdTerms.ts): each term names a loss over teacher-ranked lists and a weight; the trainer adds
 * Σ weight_k · term_k to the student's distillation loss (scaled by λ like the logit terms), so
 * "click BCE + 0.5·listwise" is a student with hard labels and one term of weight 0.5.
 *
 *   rankDistill:
 *     pred: ctr                     # student output that ranks
 *     lists: { requests: 256, length: 50, random: 100, retrieved: 0, refreshEvery: 500 }
 *     rerank: { kind: diversity, field: category, maxPerCategory: 2, topK: 10 }
 *     listsPerBatch: 16
 *     terms:
 *       - { loss: topk_bce, k: 10, easyPerHard: 0.5 }
 *       - { loss: bpr, pairsPerList: 32, sampling: rank-gap }
 *       - { loss: listwise, target: teacher, temperature: 2, weight: 0.5 }
 *       - { loss: rd, k: 10, lambda: 5, dynamic: { mu: 0.1, startStep: 500 } }
 *
 * Losses: topKLabels.ts (topk_bce), pairwise.ts (bpr, hinge), listwise.ts (listwise),
 * rankingDistillation.ts (rd).
 */
import { z } from 'zod';
import type { Graph } from '../engine/graph.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { listwiseLoss, rankPositionTarget, teacherSoftmaxTarget } from './listwise.js';
import { pairwiseLoss, samplePairs } from './pairwise.js';
import { hybridWeights, positionWeights, rankDiscrepancyWeights, rdLoss } from './rankingDistillation.js';
import { type TopKLayout, topKLabelLoss, topKLayout } from './topKLabels.js';

const weight = z.number().min(0).default(1);

export const rankTermSchema = z.discriminatedUnion('loss', [
  z.strictObject({
    loss: z.literal('topk_bce'),
    weight,
    k: z.int().min(1),
    hardNegatives: z.int().min(0).optional(),
    easyPerHard: z.number().min(0).default(0),
  }),
  z.strictObject({
    loss: z.literal('bpr'),
    weight,
    pairsPerList: z.int().min(1).default(32),
    sampling: z.enum(['uniform', 'rank-gap']).default('uniform'),
  }),
  z.strictObject({
    loss: z.literal('hinge'),
    weight,
    pairsPerList: z.int().min(1).default(32),
    sampling: z.enum(['uniform', 'rank-gap']).default('uniform'),
    margin: z.number().gt(0).default(1),
  }),
  z.strictObject({
    loss: z.literal('listwise'),
    weight,
    target: z.enum(['teacher', 'rank']).default('teacher'),
    temperature: z.number().gt(0).default(1),
    t2Scale: z.boolean().default(true),
    /** EasyRec's label_clip_max_value C for the `rank` target. */
    clip: z.int().min(1).default(512),
  }),
  z.strictObject({
    loss: z.literal('rd'),
    weight,
    k: z.int().min(1),
    lambda: z.number().gt(0).default(10),
    dynamic: z
      .strictObject({
        mu: z.number().gt(0).default(0.1),
        startStep: z.int().min(0).default(0),
        renormalize: z.boolean().default(false),
      })
      .optional(),
  }),
]);

export const rerankSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('diversity'),
    field: z.string().min(1).default('category'),
    maxPerCategory: z.int().min(1),
    topK: z.int().min(1),
  }),
  z.strictObject({ kind: z.literal('dedup'), field: z.string().min(1).default('shop') }),
]);

export const rankDistillSchema = z.strictObject({
  /** Student output whose scores rank the list. */
  pred: z.string().min(1).default('ctr'),
  /** Teacher output that scores the candidates (default: the teacher's first output). */
  teacherOutput: z.string().min(1).optional(),
  lists: z
    .strictObject({
      /** Precomputed lists from `kdrec teacher rank` (.csv or .parquet); otherwise built from the live teacher. */
      file: z.string().min(1).optional(),
      /** Requests (rows of the train split) per build. */
      requests: z.int().min(1).default(256),
      /** Items kept per list (N). */
      length: z.int().min(2).default(50),
      random: z.int().min(0).default(100),
      retrieved: z.int().min(0).default(0),
      retrievalPool: z.int().min(1).default(1000),
      /** Easy random negatives per list (for topk_bce's easyPerHard). */
      easyNegatives: z.int().min(0).default(0),
      /** Rebuild the lists (new requests, the current teacher and student) every N steps; 0 = build once. */
      refreshEvery: z.int().min(0).default(0),
    })
    .default({
      requests: 256,
      length: 50,
      random: 100,
      retrieved: 0,
      retrievalPool: 1000,
      easyNegatives: 0,
      refreshEvery: 0,
    }),
  rerank: rerankSchema.optional(),
  listsPerBatch: z.int().min(1).default(16),
  terms: z.array(rankTermSchema).min(1),
});

export type RankTermSpec = z.output<typeof rankTermSchema>;
export type RankDistillSpec = z.output<typeof rankDistillSchema>;

/** Problems of a rank spec that only the combination of fields shows, as [path, message] pairs. */
export function rankDistillProblems(spec: RankDistillSpec): [(string | number)[], string][] {
  const out: [(string | number)[], string][] = [];
  const N = spec.lists.length;
  if (spec.lists.file === undefined && spec.lists.random + spec.lists.retrieved < N) {
    out.push([
      ['lists', 'length'],
      `must be <= lists.random + lists.retrieved (${spec.lists.random + spec.lists.retrieved} candidates per request)`,
    ]);
  }
  spec.terms.forEach((t, i) => {
    if ((t.loss === 'topk_bce' || t.loss === 'rd') && spec.lists.file === undefined && t.k >= N) {
      out.push([['terms', i, 'k'], `must be < lists.length (${N})`]);
    }
    if (
      t.loss === 'topk_bce' &&
      t.hardNegatives !== undefined &&
      spec.lists.file === undefined &&
      t.k + t.hardNegatives > N
    ) {
      out.push([['terms', i, 'hardNegatives'], `must be <= lists.length − k (${N - t.k})`]);
    }
  });
  return out;
}

/** Short stable name of a term for logs and metrics: `rank1.listwise(teacher)`. */
export function rankTermName(term: RankTermSpec, index: number): string {
  const detail =
    term.loss === 'listwise'
      ? `(${term.target})`
      : term.loss === 'bpr' || term.loss === 'hinge'
        ? `(${term.sampling})`
        : `@${term.k}`;
  return `rank${index}.${term.loss}${detail}`;
}

/** The lists of one batch as the terms see them. */
export interface ListBatch {
  /** Student scores [L, N + E]: per list the N ranked items, then E easy negatives. */
  scores: Tensor;
  lists: number;
  /** Ranked items per list (N). */
  length: number;
  /** Easy negatives per list (E). */
  easy: number;
  /** Teacher scores [L·N], rank order. */
  teacherScores: Float32Array;
}

/** Per-term state that depends only on the list shape (top-K layouts), built once. */
const layouts = new WeakMap<RankTermSpec, { key: string; layout: TopKLayout }>();

/** One term's scalar loss, multiplied by its weight. `step` decides RD's dynamic weighting. */
export function rankTermLoss(
  g: Graph,
  term: RankTermSpec,
  index: number,
  b: ListBatch,
  step: number,
  rng: Rng,
): Tensor {
  const { lists: L, length: N, easy: E } = b;
  const ranked = E === 0 ? b.scores : g.slice(b.scores, 0, N);
  let loss: Tensor;
  try {
    switch (term.loss) {
      case 'topk_bce': {
        const key = `${N}/${E}`;
        let c = layouts.get(term);
        if (c === undefined || c.key !== key) {
          c = { key, layout: topKLayout(term, N, E) };
          layouts.set(term, c);
        }
        loss = topKLabelLoss(g, b.scores, c.layout);
        break;
      }
      case 'bpr':
      case 'hinge': {
        const pairs = samplePairs(N, term.pairsPerList, term.sampling, rng);
        loss = pairwiseLoss(g, ranked, pairs, b.teacherScores, {
          kind: term.loss,
          margin: term.loss === 'hinge' ? term.margin : 0,
        });
        break;
      }
      case 'listwise': {
        const target =
          term.target === 'teacher'
            ? teacherSoftmaxTarget(b.teacherScores, L, N, term.temperature)
            : rankPositionTarget(L, N, term.clip);
        loss = listwiseLoss(g, ranked, target, term.temperature, term.t2Scale);
        break;
      }
      case 'rd': {
        if (term.k >= N) throw new Error(`k must be < the list length ${N}, got ${term.k}`);
        const wa = positionWeights(term.k, term.lambda);
        let w = wa;
        if (term.dynamic !== undefined && step >= term.dynamic.startStep) {
          // The student's current scores give its rank of each teacher top-K item (a constant weight).
          const wb = rankDiscrepancyWeights(ranked.data.subarray(0, L * N), L, N, term.k, term.dynamic.mu);
          w = hybridWeights(wa, wb, term.dynamic.renormalize);
        }
        loss = rdLoss(g, ranked, term.k, w);
        break;
      }
    }
  } catch (err) {
    throw new Error(`rankDistill.terms[${index}] (${term.loss}): ${(err as Error).message}`);
  }
  return term.weight === 1 ? loss : g.scale(loss, term.weight);
}
