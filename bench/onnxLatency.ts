/**
 * ONNX Runtime (Node, CPU, 1 thread) vs kdrec's own inference path, in the same run (issue 17
 * targets): user tower at batch 1 and 4096, item tower at 4096, on the synthetic export of
 * ./onnxWorld.ts (dssm-ref shape, user-state sequence of 50 recent items). kdrec's path is the
 * exported graph's interpreter (src/serve/graph.ts) with the active kernels — run with
 * KDREC_KERNELS=native for the native (OpenBLAS, 1 BLAS thread) path. The two are timed
 * alternately, call by call, so machine load falls on both alike; medians and p90 in ms.
 *
 *   npm run build && KDREC_KERNELS=native node dist/bench/onnxLatency.js [--reps1 2000] [--reps 40]
 *
 * "ORT run" times `session.run` on prepared int64/float32 tensors; "ORT + feeds" adds turning the
 * Batch's int32 ids into int64 tensors (onnxFeeds), which a caller holding int32 ids pays too.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Batch } from '../src/data/batch.js';
import { getKernels } from '../src/engine/kernels/index.js';
import { Rng } from '../src/engine/rng.js';
import { loadExport } from '../src/serve/bundle.js';
import type { CompiledGraph } from '../src/serve/graph.js';
import { writeOnnxExport } from '../src/serve/onnx/onnxExport.js';
import { type OnnxIo, onnxFeeds } from '../src/serve/onnx/onnxModel.js';
import { randomBatch, syntheticExport } from './onnxWorld.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name}: expected a positive integer`);
  return v;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

function tensors(io: OnnxIo, batch: Batch): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [n, f] of Object.entries(onnxFeeds(io, batch)))
    feeds[n] = new ort.Tensor(f.type, f.data, f.dims);
  return feeds;
}

async function measure(
  name: string,
  graph: CompiledGraph,
  session: ort.InferenceSession,
  io: OnnxIo,
  batch: Batch,
  reps: number,
) {
  const out = io.outputs[0]!.name;
  const feeds = tensors(io, batch);
  // Agreement on this batch, and warm-up of both paths.
  const want = graph.run(batch);
  const got = (await session.run(feeds))[out]!.data as Float32Array;
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i]! - got[i]!));
  for (let i = 0; i < Math.min(20, reps); i++) {
    graph.run(batch);
    await session.run(feeds);
  }
  const kd: number[] = [];
  const ortRun: number[] = [];
  const ortFeeds: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t = performance.now();
    graph.run(batch);
    kd.push(performance.now() - t);
    t = performance.now();
    await session.run(feeds);
    ortRun.push(performance.now() - t);
    t = performance.now();
    await session.run(tensors(io, batch));
    ortFeeds.push(performance.now() - t);
  }
  const row = {
    bench: 'onnx-latency',
    model: name,
    batch: batch.size,
    reps,
    kernels: getKernels().name,
    kdrecMedianMs: quantile(kd, 0.5),
    kdrecP90Ms: quantile(kd, 0.9),
    ortMedianMs: quantile(ortRun, 0.5),
    ortP90Ms: quantile(ortRun, 0.9),
    ortWithFeedsMedianMs: quantile(ortFeeds, 0.5),
    ortOverKdrec: quantile(ortRun, 0.5) / quantile(kd, 0.5),
    maxAbsDiff: maxDiff,
  };
  console.log(JSON.stringify(row));
  return row;
}

const reps1 = arg('reps1', 2000);
const reps = arg('reps', 40);
const t0 = performance.now();
const ex = syntheticExport({ userState: true, scoreFn: 'cosine', items: 20_000, users: 1000 });
const m = writeOnnxExport(ex.dir);
const bundle = loadExport(ex.dir);
process.stderr.write(
  `export + ONNX conversion: ${((performance.now() - t0) / 1000).toFixed(1)} s (${ex.dir})\n`,
);
const opts: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};
const session = async (file: string) =>
  ort.InferenceSession.create(readFileSync(join(ex.dir, 'onnx', file)), opts);
const user = await session(m.models.user_tower!.file);
const item = await session(m.models.item_tower!.file);
const rng = new Rng(99);
const cases = [
  { graph: bundle.userTower, session: user, name: 'user_tower', side: 'user', batch: 1, reps: reps1 },
  { graph: bundle.userTower, session: user, name: 'user_tower', side: 'user', batch: 4096, reps },
  { graph: bundle.itemTower, session: item, name: 'item_tower', side: 'item', batch: 4096, reps },
] as const;
const rows = [];
for (const c of cases) {
  const io = m.models[c.name]!;
  rows.push(await measure(c.name, c.graph, c.session, io, randomBatch(rng, c.batch, c.side), c.reps));
}
process.stderr.write(
  `| model | batch | kdrec ${getKernels().name} median (p90) ms | ORT median (p90) ms | ORT + feeds ms | ORT / kdrec | max abs diff |\n`,
);
for (const r of rows)
  process.stderr.write(
    `| ${r.model} | ${r.batch} | ${r.kdrecMedianMs.toFixed(3)} (${r.kdrecP90Ms.toFixed(3)}) | ${r.ortMedianMs.toFixed(3)} (${r.ortP90Ms.toFixed(3)}) | ${r.ortWithFeedsMedianMs.toFixed(3)} | ${r.ortOverKdrec.toFixed(2)} | ${r.maxAbsDiff.toExponential(1)} |\n`,
  );
await user.release();
await item.release();
rmSync(ex.dir, { recursive: true, force: true });
