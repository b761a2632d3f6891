/**
 * kdrec side of the inference comparison in `npm run bench:vs-torch` (issue 8), mirroring
 * bench/vs-torch/dssm_ref_torch.py --mode user-tower | score. Prints one JSON line.
 *
 *   user-tower  the dssm-ref user tower (4 embedding lookups → concat → 256-128-64 MLP) over --users
 *               users in one inference-mode graph; reports users/s.
 *   score       one user vector against --items item vectors (u · Itemsᵀ through the active sgemm
 *               kernel) and the top 100 (the shared TopKSelector of src/eval); reports ms.
 *
 *   node dist/bench/vs-torch/kdrecInfer.js --mode user-tower --json
 */
import { Graph } from '../../src/engine/graph.js';
import { getKernels } from '../../src/engine/kernels/index.js';
import { Rng } from '../../src/engine/rng.js';
import { TopKSelector } from '../../src/engine/topK.js';
import { DSSM_REF, DssmRef, randomDssmBatches, USER_FIELDS } from '../../src/models/dssmRef.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

function intOption(name: string, fallback: number): number {
  const v = option(name, String(fallback));
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

/** Wall-clock seconds. */
function wallSeconds(): number {
  return performance.now() / 1000;
}

/** CPU seconds of this process: on a shared machine wall time also counts other processes' slices. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function medianSeconds(fn: () => void, reps: number, clock: () => number = wallSeconds): number {
  fn();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = clock();
    fn();
    ts.push(clock() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)]!;
}

const mode = option('mode', 'user-tower');
const users = intOption('users', 4096);
const items = intOption('items', 200_000);
const reps = intOption('reps', 20);
const seed = intOption('seed', 1);

const model = new DssmRef({ ...DSSM_REF, seed });
const rng = new Rng(seed).fork('infer');
const g = new Graph({ training: false });

/** The user tower output [rows, 64]: the same lookups, concat and MLP as DssmRef's training graph. */
function userVectors(rows: number): () => Float32Array {
  const batch = randomDssmBatches(model.config, rows, 1, rng)[0]!;
  return () => {
    g.reset();
    const parts = model.userTables.map((t, i) =>
      g.embeddingBag(t, batch.cols[USER_FIELDS[i]!] as Int32Array, rows, 1, 'sum'),
    );
    return model.userTower.forward(g, g.concat(parts)).data;
  };
}

let result: Record<string, unknown>;
if (mode === 'user-tower') {
  const run = userVectors(users);
  const sec = medianSeconds(run, reps);
  const cpu = medianSeconds(run, reps, cpuSeconds);
  result = {
    usersPerSec: Math.round(users / sec),
    cpuUsersPerSec: Math.round(users / cpu),
    ms: Number((sec * 1000).toFixed(3)),
    cpuMs: Number((cpu * 1000).toFixed(3)),
    users,
  };
} else if (mode === 'score') {
  const dim = model.config.tower[model.config.tower.length - 1]!;
  const itemVecs = new Float32Array(items * dim);
  for (let i = 0; i < itemVecs.length; i++) itemVecs[i] = rng.normal();
  const u = userVectors(1)().slice();
  const scores = new Float32Array(items);
  const top = new TopKSelector(100);
  const k = getKernels();
  const score = (): void => {
    k.sgemm(false, true, 1, items, dim, 1, u, itemVecs, 0, scores);
    top.select(scores, 100);
  };
  const sec = medianSeconds(score, reps);
  const cpu = medianSeconds(score, reps, cpuSeconds);
  result = { ms: Number((sec * 1000).toFixed(3)), cpuMs: Number((cpu * 1000).toFixed(3)), items, k: 100 };
} else {
  throw new Error(`--mode must be user-tower or score, got '${mode}'`);
}
const out = { ...result, peer: 'kdrec', mode, kernels: getKernels().name, node: process.version };
process.stdout.write(
  `${process.argv.includes('--json') ? JSON.stringify(out) : JSON.stringify(out, null, 2)}\n`,
);
