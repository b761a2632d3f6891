/**
 * Hard-label quality of every model in src/models on the simulator: each model trains `--epochs`
 * over the train split (Adam on dense parameters, lazy SparseAdam on tables, batch `--batch`) and is
 * scored on the valid split: click AUC (and, for MMoE+ESMM, the AUC of its ctcvr logit against
 * click AND long dwell). Includes the ranking DNN without the privileged group, to show what the
 * privileged window features give the teacher, and the popularity baseline. One JSON line per model.
 *
 *   npx tsx bench/modelsQuality.ts [--epochs 1] [--batch 512] [--lr 0.002] [--data sim:DIR] [--seed 1]
 *
 * Without --data it simulates the small default world (5k users, 10k items, 3 days, seed 42).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/loaders/index.js';
import { simulate } from '../src/data/simulator.js';
import { Graph } from '../src/engine/graph.js';
import { Adam, SparseAdam } from '../src/engine/optim.js';
import { Rng } from '../src/engine/rng.js';
import { auc } from '../src/eval/metrics/auc.js';
import { createModel, type Model, Popularity, TableRegistry } from '../src/models/index.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '1' },
    batch: { type: 'string', default: '512' },
    lr: { type: 'string', default: '0.002' },
    seed: { type: 'string', default: '1' },
    data: { type: 'string' },
  },
});
const epochs = Number(values.epochs);
const batchSize = Number(values.batch);
const lr = Number(values.lr);
const seed = Number(values.seed);
if (!Number.isInteger(epochs) || epochs < 1)
  throw new Error(`--epochs: expected a positive integer, got '${values.epochs}'`);
if (!Number.isInteger(batchSize) || batchSize < 1)
  throw new Error(`--batch: expected a positive integer, got '${values.batch}'`);
if (!(lr > 0)) throw new Error(`--lr: expected a positive number, got '${values.lr}'`);

let tmp: string | null = null;
let spec = values.data;
if (spec === undefined) {
  tmp = mkdtempSync(join(tmpdir(), 'kdrec-bench-quality-'));
  await simulate({ out: tmp, users: 5000, items: 10000, days: 3, seed: 42 });
  spec = `sim:${tmp}`;
}
const ds = await loadDataset(spec);
const { train, valid } = ds.splits;
const click = ds.labels.click;
const long = ds.labels.conversion ?? ds.labels.long;

/** Logits of every output over a whole split, in eval mode. */
function predict(m: Model): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const o of m.outputNames) out[o] = new Float32Array(valid.size);
  const g = new Graph({ training: false });
  let row = 0;
  for (const b of valid.batches({ batchSize: 4096 })) {
    g.reset();
    const res = m.forward(g, b);
    for (const o of m.outputNames) out[o]!.set(res.logits[o]!.data, row);
    row += b.size;
  }
  return out;
}

function report(name: string, m: Model, seconds: number): void {
  const logits = predict(m);
  const main = logits[m.outputNames[0]!]!;
  const line: Record<string, unknown> = {
    model: name,
    dataset: spec,
    epochs,
    trainRows: train.size,
    validRows: valid.size,
    validClickAuc: Number(auc(valid.columns.labels[click]!, main).toFixed(4)),
    trainSeconds: Number(seconds.toFixed(1)),
  };
  if (logits.ctcvr && long) {
    const c = valid.columns.labels[click]!;
    const l = valid.columns.labels[long]!;
    const both = new Float32Array(valid.size);
    for (let i = 0; i < both.length; i++) both[i] = c[i]! * l[i]!;
    line.validCtcvrAuc = Number(auc(both, logits.ctcvr).toFixed(4));
  }
  console.log(JSON.stringify(line));
}

const SPECS: [string, Record<string, unknown>][] = [
  ['ranking-dnn', { type: 'ranking-dnn' }],
  ['ranking-dnn-no-privileged', { type: 'ranking-dnn', groups: ['user', 'item', 'context'] }],
  ['mmoe-esmm', { type: 'mmoe-esmm' }],
  ['two-tower', { type: 'two-tower' }],
  ['two-tower-cosine', { type: 'two-tower', scoreFn: 'cosine', temperature: 0.2 }],
  ['fm', { type: 'fm' }],
  ['prerank-mlp', { type: 'prerank-mlp' }],
];

for (const [name, s] of SPECS) {
  const m = createModel(
    { ...s, name: name.replace(/-/g, '_') },
    ds.schema,
    new TableRegistry(),
    new Rng(seed),
    {
      labels: ds.labels,
    },
  );
  const dense = new Adam(m.store.params(), { lr });
  const sparse = new SparseAdam(m.store.tables(), { lr });
  const g = new Graph({ training: true, rng: new Rng(seed + 1) });
  const order = new Rng(seed + 2);
  const t0 = performance.now();
  for (let e = 0; e < epochs; e++) {
    for (const b of train.batches({ batchSize, rng: order })) {
      g.reset();
      g.backward(m.hardLoss(g, m.forward(g, b), b).total);
      dense.step();
      sparse.step();
    }
  }
  report(name, m, (performance.now() - t0) / 1000);
}

const pop = new Popularity(
  { name: 'popularity', itemField: 'item_id', label: click, output: 'ctr' },
  ds.schema,
  train.columns,
);
report('popularity', pop, 0);
if (tmp) rmSync(tmp, { recursive: true, force: true });
