/**
 * `kdrec cascade eval`: what the final top-K of the cascade achieves end to end, and where the
 * items the ranker would have chosen get lost — the whole-chain consistency distillation is for.
 *
 * On the fixed evaluation set of src/eval/evaluate.ts (test users at the context and time of their
 * first test request, the whole catalogue as candidates when it fits, the user's training clicks
 * excluded), every stage model scores every (user, candidate) row once; then per user the cascade
 * of src/serve/cascade.ts runs over those scores in three variants:
 *   recall      top K of the recall scores over the corpus;
 *   recall+pre  recall N → pre-ranker keeps the top K of those N;
 *   full        recall N → pre-rank keeps M → ranker keeps K.
 * Each variant's final K is scored by the simulator's ground truth (expected clicks Σ pClick and
 * long dwells Σ pClick·pLong, ./metrics/utility.ts) when there is one, and by Recall@K of the user's
 * held-out test clicks always (MovieLens and other logs). Survival: of the ranker's own ideal top K
 * over the WHOLE corpus, the fraction still present after recall (in the N), after pre-ranking (in
 * the M) and in the final K.
 */
import { join } from 'node:path';
import { TopKSelector } from '../engine/topK.js';
import { isTwoTower, type Model, type TwoTowerModel } from '../models/types.js';
import { parseConfig } from '../run/config.js';
import { loadConfigDataset } from '../run/dataset.js';
import { loadRun } from '../run/loadRun.js';
import { readRunConfig } from '../run/runDir.js';
import { type CascadeSizes, checkSizes, runCascade } from '../serve/cascade.js';
import { predictLogits } from '../train/trainer.js';
import { buildEvalSet } from './evaluate.js';
import type { UserItemLists } from './metrics/retrieval.js';
import { expectedEvents } from './metrics/utility.js';

export interface CascadeEvalInput {
  nUsers: number;
  nItems: number;
  /** Row-major [nUsers × nItems] scores of each stage's model. */
  recall: Float32Array;
  prerank: Float32Array | null;
  rank: Float32Array;
  /** Held-out positives per user (candidate indices). */
  relevant: UserItemLists;
  /** Items never shown to the user (training clicks). */
  exclude: UserItemLists;
  /** Ground truth per (user, item), simulator only. */
  truth: { clicks: Float32Array; dwell: Float32Array } | null;
  sizes: CascadeSizes;
}

export const CASCADE_VARIANTS = ['recall', 'recall+prerank', 'full'] as const;
export type CascadeVariant = (typeof CASCADE_VARIANTS)[number];

export interface CascadeEvalResult {
  users: number;
  sizes: { n: number; m: number; k: number };
  /** Per variant: `Recall@K` and, on the simulator, `trueClicks@K` / `trueDwell@K` (means over users). */
  variants: Record<CascadeVariant, Record<string, number>>;
  /** The same metrics for the ranker's own top K over the whole corpus (no cascade). */
  rankerAlone: Record<string, number>;
  /** Fraction of the ranker's ideal top K surviving each stage (mean over users). */
  survival: { recall: number; prerank: number; final: number };
}

function listOf(l: UserItemLists, u: number): Int32Array {
  return l.items.subarray(l.offsets[u]!, l.offsets[u + 1]!);
}

export function evaluateCascadeScores(input: CascadeEvalInput): CascadeEvalResult {
  const { nUsers: Q, nItems: C, sizes } = input;
  checkSizes(sizes);
  for (const [name, s] of [
    ['recall', input.recall],
    ['prerank', input.prerank],
    ['rank', input.rank],
  ] as const) {
    if (s !== null && s.length !== Q * C)
      throw new Error(
        `cascade eval: ${name} scores have ${s.length} values, expected ${Q} users × ${C} items`,
      );
  }
  const K = sizes.k;
  const sel = new TopKSelector(Math.min(Math.max(sizes.n, K), C));
  const mask = new Uint8Array(C);
  const sums: Record<string, Record<string, number>> = {};
  const add = (variant: string, metric: string, v: number) => {
    sums[variant] ??= {};
    sums[variant]![metric] = (sums[variant]![metric] ?? 0) + v;
  };
  const survival = { recall: 0, prerank: 0, final: 0 };

  for (let q = 0; q < Q; q++) {
    const off = q * C;
    const ex = listOf(input.exclude, q);
    mask.fill(0);
    for (const i of ex) mask[i] = 1;
    const rel = new Set(listOf(input.relevant, q));
    const recallRow = input.recall.subarray(off, off + C);
    const rankRow = input.rank.subarray(off, off + C);
    const recallStage = (n: number) => {
      const c = sel.select(recallRow, Math.min(n, sel.maxK), 0, C, mask);
      const keys = sel.indices.slice(0, c);
      return { keys, scores: Float32Array.from(keys, (i) => recallRow[i]!) };
    };
    const at = (row: Float32Array) => (rows: Int32Array) => Float32Array.from(rows, (i) => row[i]!);
    const pre = input.prerank ? at(input.prerank.subarray(off, off + C)) : undefined;
    const finals: Record<CascadeVariant, Int32Array> = {
      recall: recallStage(K).keys,
      'recall+prerank': runCascade(
        { recall: recallStage, ...(pre ? { prerank: pre } : {}) },
        { ...sizes, m: sizes.n },
      ).items,
      full: new Int32Array(0),
    };
    const full = runCascade(
      { recall: recallStage, ...(pre ? { prerank: pre } : {}), rank: at(rankRow) },
      sizes,
    );
    finals.full = full.items;
    // The ranker's ideal list over the whole corpus.
    const cIdeal = sel.select(rankRow, Math.min(K, sel.maxK), 0, C, mask);
    const ideal = sel.indices.slice(0, cIdeal);
    const inSet = (s: Int32Array) => {
      const set = new Set(s);
      let n = 0;
      for (const i of ideal) if (set.has(i)) n++;
      return n / Math.max(1, ideal.length);
    };
    survival.recall += inSet(full.recalled);
    survival.prerank += inSet(full.preranked);
    survival.final += inSet(full.items);

    const score = (variant: string, list: Int32Array) => {
      let hits = 0;
      for (const i of list) if (rel.has(i)) hits++;
      add(variant, `Recall@${K}`, rel.size > 0 ? hits / rel.size : 0);
      if (input.truth) {
        add(variant, `trueClicks@${K}`, expectedEvents(list, input.truth.clicks.subarray(off, off + C), K));
        add(variant, `trueDwell@${K}`, expectedEvents(list, input.truth.dwell.subarray(off, off + C), K));
      }
    };
    for (const v of CASCADE_VARIANTS) score(v, finals[v]);
    score('rankerAlone', ideal);
  }
  const mean = (r: Record<string, number> | undefined) =>
    Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, v / Q]));
  return {
    users: Q,
    sizes: { n: sizes.n, m: sizes.m, k: sizes.k },
    variants: {
      recall: mean(sums['recall']),
      'recall+prerank': mean(sums['recall+prerank']),
      full: mean(sums['full']),
    },
    rankerAlone: mean(sums['rankerAlone']),
    survival: { recall: survival.recall / Q, prerank: survival.prerank / Q, final: survival.final / Q },
  };
}

export interface CascadeEvalRunOptions {
  /** Run with the two-tower recall model. */
  run: string;
  /** Run whose prerank-mlp student pre-ranks (optional). */
  prerankRun?: string;
  /** Run whose teacher ranks (default: the teacher of --prerank-run, else of --run). */
  rankRun?: string;
  users: number;
  sizes: CascadeSizes;
  seed: number;
  log?: (msg: string) => void;
}

export interface CascadeEvalRunResult extends CascadeEvalResult {
  protocol: string;
  models: { recall: string; prerank: string | null; rank: string };
  oracle: Record<string, number> | null;
}

/** Loads the runs' models on their dataset, scores the evaluation set and evaluates the cascade. */
export async function cascadeEvalRun(opts: CascadeEvalRunOptions): Promise<CascadeEvalRunResult> {
  const cfgOf = (dir: string) => parseConfig(readRunConfig(dir), join(dir, 'config.json'));
  const cfg = cfgOf(opts.run);
  for (const other of [opts.prerankRun, opts.rankRun]) {
    if (other !== undefined && cfgOf(other).dataset.spec !== cfg.dataset.spec) {
      throw new Error(
        `${other} trained on '${cfgOf(other).dataset.spec}', ${opts.run} on '${cfg.dataset.spec}': the stages must share one dataset`,
      );
    }
  }
  const ds = await loadConfigDataset(cfg, opts.log);
  const run = loadRun(opts.run, ds.schema);
  const recall = [run.student, run.teacher].find((m): m is TwoTowerModel => m !== null && isTwoTower(m));
  if (recall === undefined) throw new Error(`${opts.run}: no two-tower model for the recall stage`);
  const preRun = opts.prerankRun !== undefined ? loadRun(opts.prerankRun, ds.schema) : null;
  const prerank = preRun?.student ?? null;
  if (preRun !== null && prerank?.kind !== 'prerank-mlp')
    throw new Error(`${opts.prerankRun}: expected a prerank-mlp student, got ${prerank?.kind ?? 'none'}`);
  const rankRun = opts.rankRun !== undefined ? loadRun(opts.rankRun, ds.schema) : null;
  const rank = [rankRun?.teacher, preRun?.teacher, run.teacher].find(
    (m): m is Model => m !== null && m !== undefined && !isTwoTower(m),
  );
  if (rank === undefined)
    throw new Error(
      'cascade eval: no ranking model: give --rank-run (or a --prerank-run/--run trained with a teacher)',
    );
  const nItems = ds.items.size;
  const set = buildEvalSet(
    ds,
    { users: opts.users, maxCandidates: nItems, k: opts.sizes.k, overlapKs: [opts.sizes.k], seed: opts.seed },
    'exposure',
    { count: 1, sampler: 'uniform' },
  );
  const Q = set.users.length;
  const C = set.candidates.length;
  const scoresOf = async (m: Model, what: string) => {
    const t = performance.now();
    const out = m.outputNames[0]!;
    const s = (await predictLogits(m, set.candidateRows, [out]))[out]!;
    opts.log?.(
      `${what} (${m.kind}) scored ${Q} users × ${C} items in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    return s;
  };
  const res = evaluateCascadeScores({
    nUsers: Q,
    nItems: C,
    recall: await scoresOf(recall, 'recall'),
    prerank: prerank ? await scoresOf(prerank, 'pre-rank') : null,
    rank: await scoresOf(rank, 'rank'),
    relevant: set.relevant,
    exclude: set.exclude,
    truth: set.truth,
    sizes: opts.sizes,
  });
  return {
    ...res,
    protocol: set.protocol,
    models: {
      recall: `${opts.run} ${recall.name} (${recall.kind})`,
      prerank: prerank ? `${opts.prerankRun} ${prerank.name} (${prerank.kind})` : null,
      rank: `${rank.name} (${rank.kind})`,
    },
    oracle: set.oracle,
  };
}
