/**
 * Rank distillation vs logit distillation (issue 5): one trained ranking teacher, then the same
 * two-tower student trained six ways — hard labels only, logit KD (two-stage bce_soft on the
 * teacher's logits), and rank-based terms learnt from teacher-ranked lists (top-K labels with
 * hard + easy negatives, BPR, listwise softmax CE on the teacher's softmax and on EasyRec's
 * rank-position label, Ranking Distillation) —
 * each added to the student's click BCE with λ = 1. Every student starts from the same
 * initialisation and batch order; the teacher is frozen and ranks a fixed set of lists once.
 * Evaluation is the experiment runner's (src/eval/evaluate.ts): AUC and Recall/NDCG@50 of test
 * clicks, overlap@50 and Kendall tau with the teacher over the same candidates, and on the simulator
 * the ground-truth expected clicks of the top 50 (trueClicks@50).
 *
 *   npx tsx bench/rankKd.ts --dataset sim [--epochs 2] [--seeds 1 | --seeds 2,3] [--methods a,b] [--out runs/rankkd-sim.json]
 *   npx tsx bench/rankKd.ts --dataset movielens-100k:../shared/data/movielens-100k
 *
 * `--dataset sim` simulates the experiment's world (5000 users × 2000 items × 4 days, seed 42) into
 * runs/rankkd-sim-world on first use.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ColumnarDataset } from '../src/data/batch.js';
import type { LoadedDataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/loaders/index.js';
import { simulate } from '../src/data/simulator.js';
import { Rng } from '../src/engine/rng.js';
import { buildEvalSet, evaluateModel } from '../src/eval/evaluate.js';
import { auc } from '../src/eval/metrics/auc.js';
import type { Model } from '../src/models/types.js';
import { type ExperimentConfig, parseConfig } from '../src/run/config.js';
import { buildModels } from '../src/run/models.js';
import { type SampleKind, samplesOf } from '../src/train/data.js';
import { scoreTeacher, TEACHER_COLUMN_PREFIX } from '../src/train/teacherScores.js';
import { train } from '../src/train/trainer.js';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'sim' },
    epochs: { type: 'string', default: '2' },
    seeds: { type: 'string', default: '1' },
    methods: { type: 'string' },
    out: { type: 'string' },
    evalUsers: { type: 'string', default: '500' },
  },
});
const epochs = Number(values.epochs);
// `--seeds 3` runs seeds 1..3; `--seeds 2,3` runs exactly those.
const seeds = values.seeds!.includes(',')
  ? values.seeds!.split(',').map(Number)
  : Array.from({ length: Number(values.seeds) }, (_, i) => i + 1);
if (seeds.some((s) => !Number.isInteger(s) || s < 0))
  throw new Error(`--seeds: '${values.seeds}' is not N or a list of integers`);

async function dataset(): Promise<LoadedDataset> {
  if (values.dataset !== 'sim') return loadDataset(values.dataset!);
  const dir = 'runs/rankkd-sim-world';
  if (!existsSync(dir)) await simulate({ out: dir, users: 5000, items: 2000, days: 4, seed: 42 });
  return loadDataset(`sim:${dir}`);
}

/** Exposures unless the training log holds one class (MovieLens: clicks only), as `kdrec experiment` does. */
function sampleKind(ds: LoadedDataset): SampleKind {
  const y = ds.splits.train.columns.labels[ds.labels.click]!;
  let pos = 0;
  for (let i = 0; i < y.length; i++) if (y[i]! > 0) pos++;
  return pos === 0 || pos === y.length ? 'recall' : 'exposure';
}

const TEACHER = { type: 'ranking-dnn', embeddingDim: 16, crossLayers: 2, hidden: [128, 64] };
const STUDENT = { type: 'two-tower', embeddingDim: 16, userHidden: [64, 32], itemHidden: [64, 32] };
/** The lists every rank method learns from: 1000 training requests × 200 random candidates, top 50 kept. */
const LISTS = { requests: 1000, length: 50, random: 200, retrieved: 0, easyNegatives: 20 };
const rank = (terms: unknown[]) => ({
  mode: 'two-stage',
  lambda: { kind: 'constant', value: 1 },
  rankDistill: { lists: LISTS, listsPerBatch: 8, terms },
});
const METHODS: Record<string, Record<string, unknown>> = {
  'hard-only': { mode: 'student' },
  'logit-kd': {
    mode: 'two-stage',
    distill: [{ pred: 'ctr', target: 'column:teacher_ctr', loss: 'bce_soft', weight: 1, temperature: 1 }],
    lambda: { kind: 'constant', value: 1 },
  },
  'topk-hardneg': rank([{ loss: 'topk_bce', k: 10, hardNegatives: 20, easyPerHard: 1 }]),
  bpr: rank([{ loss: 'bpr', pairsPerList: 32, sampling: 'uniform' }]),
  listwise: rank([{ loss: 'listwise', target: 'teacher', temperature: 1 }]),
  'listwise-rank': rank([{ loss: 'listwise', target: 'rank' }]),
  rd: rank([{ loss: 'rd', k: 10, lambda: 5, dynamic: { mu: 0.1, startStep: 300 } }]),
  // Sensitivity (not run by default): the same terms at weight 0.1, and RD without the dynamic weight.
  'topk-hardneg-w0.1': rank([{ loss: 'topk_bce', k: 10, hardNegatives: 20, easyPerHard: 1, weight: 0.1 }]),
  'rd-w0.1': rank([{ loss: 'rd', k: 10, lambda: 5, dynamic: { mu: 0.1, startStep: 300 }, weight: 0.1 }]),
  'rd-static': rank([{ loss: 'rd', k: 10, lambda: 5 }]),
  'bpr-w0.1': rank([{ loss: 'bpr', pairsPerList: 32, sampling: 'uniform', weight: 0.1 }]),
};

async function withTeacherColumns(d: ColumnarDataset, teacher: Model): Promise<ColumnarDataset> {
  const extra = { ...d.columns.extra };
  for (const [o, v] of Object.entries(await scoreTeacher(teacher, d)))
    extra[`${TEACHER_COLUMN_PREFIX}${o}`] = v;
  return new ColumnarDataset({ ...d.columns, extra });
}

const ds = await dataset();
const kind = sampleKind(ds);
const settings = { users: Number(values.evalUsers), maxCandidates: 2000, k: 50, overlapKs: [50], seed: 7 };
const set = buildEvalSet(ds, settings, kind, { count: 4, sampler: 'uniform' });
const methods = values.methods?.split(',') ?? Object.keys(METHODS).filter((m) => !/-w0\.1$|-static$/.test(m));
const common = (seed: number) => ({
  name: 'rankkd',
  seed,
  threads: 1,
  dataset: { spec: `${ds.kind}:${ds.path}`, studentSamples: kind, negatives: 4 },
  optimizer: { lr: 0.002 },
  batchSize: 512,
  epochs,
  evalEvery: 100,
});
const rows: Record<string, unknown>[] = [];
console.error(
  `${ds.name}: ${kind} samples, ${set.users.length} eval users × ${set.candidates.length} candidates`,
);
for (const seed of seeds) {
  const tcfg = parseConfig({ ...common(seed), mode: 'teacher', teacher: TEACHER });
  const tBuilt = buildModels(tcfg, ds.schema, new Rng(seed).fork('models'), { labels: ds.labels });
  const samples = (c: ExperimentConfig, split: 'train' | 'valid') => samplesOf(ds, c, kind, split);
  let t0 = performance.now();
  const tRes = await train({
    config: tcfg,
    data: { schema: ds.schema, train: samples(tcfg, 'train'), valid: samples(tcfg, 'valid') },
    models: { teacher: tBuilt.teacher, student: null },
    auc: (y, s) => auc(y, s),
  });
  const teacher = tRes.teacher!;
  const tEval = await evaluateModel(teacher, set, null);
  rows.push({ seed, method: 'teacher', ...tEval.metrics, trainSeconds: (performance.now() - t0) / 1000 });
  console.error(JSON.stringify(rows.at(-1)));
  for (const m of methods) {
    const overlay = METHODS[m];
    if (overlay === undefined)
      throw new Error(`--methods: unknown method '${m}' (known: ${Object.keys(METHODS).join(', ')})`);
    const cfg = parseConfig({ ...common(seed), ...overlay, teacher: TEACHER, student: STUDENT });
    // Same initialisation for every student: build as a plain student (two-stage builds no teacher).
    const built = buildModels({ ...cfg, mode: 'student' }, ds.schema, new Rng(seed).fork('models'), {
      labels: ds.labels,
    });
    let trainSet = samples(cfg, 'train');
    if (cfg.distill.length > 0) trainSet = await withTeacherColumns(trainSet, teacher);
    t0 = performance.now();
    const res = await train({
      config: cfg,
      data: { schema: ds.schema, train: trainSet, valid: samples(cfg, 'valid'), dataset: ds },
      models: { teacher: cfg.rankDistill !== undefined ? teacher : null, student: built.student },
      auc: (y, s) => auc(y, s),
    });
    const e = await evaluateModel(res.student!, set, tEval.candidateScores);
    rows.push({
      seed,
      method: m,
      ...e.metrics,
      trainSeconds: (performance.now() - t0) / 1000,
      steps: res.final.steps,
      selectedStep: res.final.selectedStep,
    });
    console.error(JSON.stringify(rows.at(-1)));
  }
}
const metricNames = ['AUC', 'Recall@50', 'NDCG@50', 'overlap@50', 'kendallTau', 'trueClicks@50'];
const names = ['teacher', ...methods];
const lines = [
  `| method | ${metricNames.filter((k) => rows.some((r) => r[k] !== undefined)).join(' | ')} | train s |`,
];
lines.push(
  `|---|${metricNames
    .filter((k) => rows.some((r) => r[k] !== undefined))
    .map(() => '---')
    .join('|')}|---|`,
);
for (const n of names) {
  const rs = rows.filter((r) => r['method'] === n);
  const mean = (k: string) => rs.reduce((a, r) => a + Number(r[k]), 0) / rs.length;
  const cells = metricNames
    .filter((k) => rows.some((r) => r[k] !== undefined))
    .map((k) => (rs.every((r) => r[k] !== undefined) ? mean(k).toFixed(4) : '–'));
  lines.push(`| ${n} | ${cells.join(' | ')} | ${mean('trainSeconds').toFixed(0)} |`);
}
console.log(lines.join('\n'));
if (values.out !== undefined)
  writeFileSync(
    values.out,
    JSON.stringify({ dataset: ds.name, kind, settings, epochs, seeds, rows }, null, 1),
  );
