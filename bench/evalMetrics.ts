/**
 * Benchmark of the evaluation hot paths at the size issue 6 names: full-corpus retrieval over
 * 10k items × 1k users (Recall/HitRate/NDCG/MRR@{10,50,100} + untruncated MRR, with 20 excluded
 * training items per user), plus raw top-K selection against a full sort, AUC and GAUC on 1M rows
 * and Kendall tau on 100k pairs. Prints the median of several runs; on a shared machine the numbers
 * are noisy.
 *
 *   npx tsx bench/evalMetrics.ts [--runs 5]
 */
import { Rng } from '../src/engine/rng.js';
import { TopKSelector } from '../src/engine/topK.js';
import { auc } from '../src/eval/metrics/auc.js';
import { kendallTau } from '../src/eval/metrics/consistency.js';
import { gauc } from '../src/eval/metrics/gauc.js';
import { retrievalMetrics, userItemListsFromPairs } from '../src/eval/metrics/retrieval.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 5;
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer, got ${process.argv[runsArg + 1]}`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function time(label: string, fn: () => void): void {
  fn(); // warm-up (JIT)
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  const spread = `min ${Math.min(...ms).toFixed(1)}, max ${Math.max(...ms).toFixed(1)}`;
  console.log(
    `${label.padEnd(58)} median ${median(ms).toFixed(1).padStart(8)} ms  (${spread}; ${runs} runs)`,
  );
}

const rng = new Rng(1);
const nUsers = 1000;
const nItems = 10_000;
const scores = Float32Array.from({ length: nUsers * nItems }, () => rng.normal());
const users: number[] = [];
const items: number[] = [];
const exU: number[] = [];
const exI: number[] = [];
for (let u = 0; u < nUsers; u++) {
  for (let t = 0; t < 5; t++) {
    users.push(u);
    items.push(rng.int(nItems));
  }
  for (let t = 0; t < 20; t++) {
    exU.push(u);
    exI.push(rng.int(nItems));
  }
}
const relevant = userItemListsFromPairs(nUsers, Int32Array.from(users), Int32Array.from(items));
const exclude = userItemListsFromPairs(nUsers, Int32Array.from(exU), Int32Array.from(exI));

console.log(`node ${process.version}; ${nUsers} users × ${nItems} items`);
time('retrievalMetrics, K = 10/50/100, matrix, with exclusion', () => {
  retrievalMetrics({ nUsers, nItems, scores, relevant, exclude, ks: [10, 50, 100] });
});
time('retrievalMetrics, K = 10/50/100, scorer callback', () => {
  retrievalMetrics({
    nUsers,
    nItems,
    scores: (u, out) => out.set(scores.subarray(u * nItems, (u + 1) * nItems)),
    relevant,
    exclude,
    ks: [10, 50, 100],
  });
});
const sel = new TopKSelector(100);
for (const k of [10, 100]) {
  time(`TopKSelector top-${k} of 10k, × 1000 rows`, () => {
    for (let u = 0; u < nUsers; u++) sel.select(scores, k, u * nItems, nItems);
  });
}
time('reference: full sort of 10k (index sort), × 100 rows', () => {
  const idx = new Int32Array(nItems);
  for (let u = 0; u < 100; u++) {
    for (let i = 0; i < nItems; i++) idx[i] = i;
    const off = u * nItems;
    idx.sort((a, b) => scores[off + b]! - scores[off + a]! || a - b);
  }
});
const n = 1_000_000;
const labels = Uint8Array.from({ length: n }, () => (rng.nextFloat() < 0.1 ? 1 : 0));
const probs = Float32Array.from(
  { length: n },
  (_, i) => Math.round((rng.nextFloat() * 0.5 + 0.3 * labels[i]!) * 1000) / 1000,
);
time('auc, 1M rows (1000 distinct scores, many ties)', () => {
  auc(labels, probs);
});
const rowUsers = Int32Array.from({ length: n }, () => rng.int(20_000));
time('gauc, 1M rows, 20k users', () => {
  gauc(rowUsers, labels, probs);
});
const tx = Float64Array.from({ length: 100_000 }, () => rng.normal());
const ty = Float64Array.from(tx, (v) => v + rng.normal());
time('kendallTau (tau-b, O(n log n)), 100k pairs', () => {
  kendallTau(tx, ty);
});
