/**
 * Kernel benchmark: GFLOP/s of sgemm per provider on the dssm-ref shapes at batch 1024 (every
 * transpose case a training step uses), the dense-layer time of one whole dssm-ref step, the
 * embedding kernels' time, and, for a real dssm-ref training step, how the step's time splits
 * between the kernels and the rest of the engine (the profile that says where a speed-up must
 * come from). Medians of several runs; the machine may be shared, so treat small differences as
 * noise.
 *
 *   npx tsx bench/kernels.ts [--reps 7] [--no-step] [--json]
 *
 * Providers that are not built are listed as skipped. The native provider is run with 1 and 2
 * OpenBLAS threads.
 */
import {
  getKernels,
  loadProvider,
  type ProviderName,
  providerLoadError,
  setKernels,
} from '../src/engine/kernels/index.js';
import type { NativeKernels } from '../src/engine/kernels/native.js';
import type { Kernels } from '../src/engine/kernels/types.js';
import type { ParamStore } from '../src/engine/nn.js';
import { Adam, SparseAdam } from '../src/engine/optim.js';
import { ParallelTrainer } from '../src/engine/parallel.js';
import { Rng } from '../src/engine/rng.js';
import { DSSM_REF, dssmRefColumns, dssmRefFactory, randomDssmBatches } from '../src/models/dssmRef.js';

const args = process.argv.slice(2);
const repsAt = args.indexOf('--reps');
const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : 7;
if (!Number.isInteger(reps) || reps < 1)
  throw new Error(`--reps must be a positive integer, got '${args[repsAt + 1]}'`);
const asJson = args.includes('--json');
const withStep = !args.includes('--no-step');
const BATCH = 1024;

interface Shape {
  label: string;
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
}

/** The sgemms of one dssm-ref training step: per tower layer (in → out), forward X·W, backward
 * dX = dY·Wᵀ (also for the first layer: its input is the embeddings, which need the gradient) and
 * dW = Xᵀ·dY. */
function dssmRefShapes(): Shape[] {
  const towers = [
    { name: 'user', dims: [4 * 32, 256, 128, 64] },
    { name: 'item', dims: [3 * 32, 256, 128, 64] },
  ];
  const out: Shape[] = [];
  for (const t of towers) {
    for (let l = 0; l + 1 < t.dims.length; l++) {
      const i = t.dims[l]!;
      const o = t.dims[l + 1]!;
      out.push({
        label: `${t.name} fwd X·W ${BATCH}x${i}·${i}x${o}`,
        transA: false,
        transB: false,
        M: BATCH,
        N: o,
        K: i,
      });
      out.push({
        label: `${t.name} bwd dY·Wᵀ ${BATCH}x${o}·(${i}x${o})ᵀ`,
        transA: false,
        transB: true,
        M: BATCH,
        N: i,
        K: o,
      });
      out.push({
        label: `${t.name} bwd Xᵀ·dY (${BATCH}x${i})ᵀ·${BATCH}x${o}`,
        transA: true,
        transB: false,
        M: i,
        N: o,
        K: BATCH,
      });
    }
  }
  return out;
}

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median milliseconds of `fn` over `reps` runs after one warm-up run. */
function timeMs(fn: () => void, runs = reps): number {
  fn();
  const ts: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const rng = new Rng(1);
const headline: Shape = {
  label: `A·B ${BATCH}x128·128x256`,
  transA: false,
  transB: false,
  M: BATCH,
  N: 256,
  K: 128,
};
const shapes = [headline, ...dssmRefShapes()];
const data = shapes.map((s) => ({
  A: randomArray(rng, s.M * s.K),
  B: randomArray(rng, s.K * s.N),
  C: new Float32Array(s.M * s.N),
}));

interface Row {
  provider: string;
  shape: string;
  gflops: number;
  ms: number;
}
const rows: Row[] = [];
const stepRows: { provider: string; denseMsPerStep: number; denseSamplesPerSecBound: number }[] = [];
const embRows: { provider: string; kernel: string; ms: number }[] = [];

const variants: { label: string; k: Kernels }[] = [];
for (const name of ['js', 'wasm', 'native'] as ProviderName[]) {
  const k = loadProvider(name);
  if (k === null) {
    process.stderr.write(`skipped ${name}: ${providerLoadError(name)}\n`);
    continue;
  }
  if (name === 'native') {
    const nk = k as NativeKernels;
    // Each variant sets its thread count right before it runs (see below).
    variants.push({ label: 'native(1 blas thread)', k: nk });
    variants.push({ label: 'native(2 blas threads)', k: nk });
  } else variants.push({ label: name, k });
}

for (const { label, k } of variants) {
  if (k.name === 'native') (k as NativeKernels).setBlasThreads(label.includes('2 blas') ? 2 : 1);
  // The TypeScript sgemm is ~100× slower than native; fewer runs keep the script short.
  const runs = k.name === 'js' ? Math.min(reps, 5) : reps;
  let stepMs = 0;
  shapes.forEach((s, i) => {
    const d = data[i]!;
    const ms = timeMs(() => k.sgemm(s.transA, s.transB, s.M, s.N, s.K, 1, d.A, d.B, 0, d.C), runs);
    rows.push({ provider: label, shape: s.label, gflops: (2 * s.M * s.N * s.K) / ms / 1e6, ms });
    if (i > 0) stepMs += ms;
  });
  stepRows.push({
    provider: label,
    denseMsPerStep: stepMs,
    denseSamplesPerSecBound: (BATCH / stepMs) * 1000,
  });

  // Embedding kernels at dssm-ref scale: item_id table 200,000 × 32, one id per row of the batch,
  // and Adam on 1,024 touched rows.
  const dim = 32;
  const vocab = 200_000;
  const table = randomArray(rng, vocab * dim);
  const ids = new Int32Array(BATCH);
  for (let i = 0; i < BATCH; i++) ids[i] = rng.nextU32() % vocab;
  const out = new Float32Array(BATCH * dim);
  const slotOf = Int32Array.from(ids.keys());
  const rowGrad = new Float32Array(BATCH * dim);
  const m = new Float32Array(vocab * dim);
  const v = new Float32Array(vocab * dim);
  embRows.push({
    provider: label,
    kernel: 'gatherPool 1024 ids from 200000x32',
    ms: timeMs(() => k.gatherPool(table, dim, ids, BATCH, 1, 0, out)),
  });
  embRows.push({
    provider: label,
    kernel: 'scatterAddRows 1024 rows x32',
    ms: timeMs(() => k.scatterAddRows(out, dim, ids, slotOf, BATCH, 1, 0, rowGrad)),
  });
  embRows.push({
    provider: label,
    kernel: 'adamRows 1024 rows x32',
    ms: timeMs(() =>
      k.adamRows(table, m, v, rowGrad, ids, BATCH, dim, 1e-3, 0.9, 0.999, 1e-8, 0.1, 0.001, 0),
    ),
  });
}

/** CPU time of this process in ms (user + system). On a shared machine wall time includes the
 * time the scheduler gives to other processes; CPU time does not. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface Spent {
  wall: Map<string, number>;
  cpu: Map<string, number>;
}

/** Wraps a provider so every kernel call adds its wall and CPU time (ms) to `spent`, by kernel. */
function timed(k: Kernels, spent: Spent): Kernels {
  const wrap = <F extends (...a: never[]) => void>(name: string, f: F): F =>
    ((...a: Parameters<F>) => {
      const c0 = cpuMs();
      const t0 = performance.now();
      f(...a);
      spent.wall.set(name, (spent.wall.get(name) ?? 0) + performance.now() - t0);
      spent.cpu.set(name, (spent.cpu.get(name) ?? 0) + cpuMs() - c0);
    }) as F;
  return {
    name: k.name,
    sgemm: wrap('sgemm', k.sgemm),
    gatherPool: wrap('gatherPool', k.gatherPool),
    scatterAddRows: wrap('scatterAddRows', k.scatterAddRows),
    adamRows: wrap('adamRows', k.adamRows),
    adagradRows: wrap('adagradRows', k.adagradRows),
    biasAct: wrap('biasAct', k.biasAct),
    biasActBackward: wrap('biasActBackward', k.biasActBackward),
    copyBlock: wrap('copyBlock', k.copyBlock),
  };
}

interface StepProfile {
  provider: string;
  /** Wall and CPU ms per step, whole step and per kernel. */
  wallMsPerStep: number;
  cpuMsPerStep: number;
  kernelWallMsPerStep: Record<string, number>;
  kernelCpuMsPerStep: Record<string, number>;
}

/** One dssm-ref training run (the `kdrec bench train` protocol, one thread) with kernel timing. */
async function stepProfile(label: string, k: Kernels): Promise<StepProfile> {
  const spent: Spent = { wall: new Map(), cpu: new Map() };
  const before = getKernels();
  setKernels(timed(k, spent));
  const cfg = { ...DSSM_REF, seed: 1 };
  const batches = randomDssmBatches(cfg, BATCH, 4, new Rng(1).fork('bench-data'));
  const trainer = await ParallelTrainer.create({
    factory: dssmRefFactory(cfg),
    threads: 1,
    columns: dssmRefColumns(cfg),
    maxRows: BATCH,
    seed: 1,
    makeOptimizers: (store: ParamStore) => ({
      dense: new Adam(store.params(), { lr: 1e-3 }),
      sparse: new SparseAdam(store.tables(), { lr: 1e-3 }),
    }),
  });
  try {
    const steps = k.name === 'js' ? 5 : 20;
    for (let s = 0; s < 3; s++) trainer.step(batches[s % batches.length]!);
    spent.wall.clear();
    spent.cpu.clear();
    const c0 = cpuMs();
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) trainer.step(batches[s % batches.length]!);
    const wall = performance.now() - t0;
    const cpu = cpuMs() - c0;
    const perStep = (m: Map<string, number>): Record<string, number> =>
      Object.fromEntries([...m].map(([n, t]) => [n, Number((t / steps).toFixed(2))]));
    return {
      provider: label,
      wallMsPerStep: Number((wall / steps).toFixed(2)),
      cpuMsPerStep: Number((cpu / steps).toFixed(2)),
      kernelWallMsPerStep: perStep(spent.wall),
      kernelCpuMsPerStep: perStep(spent.cpu),
    };
  } finally {
    await trainer.close();
    setKernels(before);
  }
}

const stepProfiles: StepProfile[] = [];
if (withStep) {
  for (const { label, k } of variants) {
    if (label.includes('2 blas')) continue;
    if (k.name === 'native') (k as NativeKernels).setBlasThreads(1);
    stepProfiles.push(await stepProfile(label, k));
  }
}

if (asJson) {
  process.stdout.write(
    `${JSON.stringify({ reps, sgemm: rows, denseStep: stepRows, embedding: embRows, trainingStep: stepProfiles })}\n`,
  );
} else {
  const providers = variants.map((v) => v.label);
  console.log(`sgemm GFLOP/s (median of ${reps}; batch ${BATCH})`);
  console.log(['shape'.padEnd(44), ...providers.map((p) => p.padStart(24))].join(''));
  for (const s of shapes) {
    const cells = providers.map((p) => {
      const r = rows.find((x) => x.provider === p && x.shape === s.label)!;
      return r.gflops.toFixed(1).padStart(24);
    });
    console.log([s.label.padEnd(44), ...cells].join(''));
  }
  console.log('\ndssm-ref dense layers, one training step (18 sgemms):');
  for (const r of stepRows) {
    console.log(
      `  ${r.provider.padEnd(24)} ${r.denseMsPerStep.toFixed(2)} ms/step  → ≤ ${Math.round(r.denseSamplesPerSecBound)} samples/s from sgemm alone`,
    );
  }
  console.log('\nembedding kernels (ms, median):');
  for (const r of embRows)
    console.log(`  ${r.provider.padEnd(24)} ${r.kernel.padEnd(40)} ${r.ms.toFixed(3)}`);
  if (stepProfiles.length > 0) {
    console.log(
      '\ndssm-ref training step (batch 1024, one thread): kernels vs the rest of the engine, ms/step',
    );
    for (const p of stepProfiles) {
      for (const [what, total, parts] of [
        ['wall', p.wallMsPerStep, p.kernelWallMsPerStep],
        ['cpu ', p.cpuMsPerStep, p.kernelCpuMsPerStep],
      ] as const) {
        const inKernels = Object.values(parts).reduce((a, b) => a + b, 0);
        const list = Object.entries(parts)
          .map(([n, t]) => `${n} ${t.toFixed(2)}`)
          .join(', ');
        console.log(
          `  ${p.provider.padEnd(24)} ${what} ${total.toFixed(2)} = kernels ${inKernels.toFixed(2)} (${list}) + rest ${(total - inKernels).toFixed(2)}`,
        );
      }
    }
  }
}
