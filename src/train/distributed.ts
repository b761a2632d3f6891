/**
 * Data-parallel training across processes and machines over MPI (issue 16), Horovod-style: every
 * rank holds the whole model, reads its own shard (./trainStream.ts `rankStream`, B/N rows a step),
 * and after each backward pass the ranks exchange gradients so that every rank applies the SAME
 * update to the same parameters:
 *
 * - Loss: rank r scales its batch-mean loss by n_r / B (B = Σ n_r, one small allreduce), so the sum
 *   of the ranks' gradients is the gradient of the global batch mean — what one process training
 *   on the concatenated batch computes (Goyal et al., "Accurate, Large Minibatch SGD", 2017, §2).
 * - Dense gradients: packed into buckets of at most BUCKET_FLOATS floats and summed in place with
 *   MPI_Allreduce, one call per bucket (Horovod's tensor fusion, Sergeev & Del Balso 2018): few large
 *   messages instead of one per tensor.
 * - Sparse embedding gradients: each rank's touched rows (ids and values) are gathered from every
 *   rank with MPI_Allgatherv, and every rank rebuilds the table's compact gradient from the gathered
 *   rows in rank order — the same sums in the same order on every rank, so the parameters stay
 *   bit-identical across ranks without a broadcast.
 * - Then gradient clipping (on the global gradient) and the optimisers, identically everywhere.
 *
 * Dropout masks are a function of (seed, rank, step), as in the threaded trainer: a rank's mask
 * covers its rows only, so runs with dropout are not bit-comparable across rank counts.
 *
 * Rank 0 writes checkpoints, metrics and final.json, and validates; the others wait for it in the
 * next step's first collective. `bytesSent()` counts what this rank hands to MPI per step (payload,
 * not wire bytes: a ring allreduce moves about 2(N−1)/N of its buffer over each link).
 */
import { createHash } from 'node:crypto';
import type { Batch } from '../data/batch.js';
import { Graph } from '../engine/graph.js';
import type { Mpi, SparseRows } from '../engine/mpi.js';
import type { ParamStore } from '../engine/nn.js';
import type { Optimizer } from '../engine/optim.js';
import { clipGradNorm } from '../engine/optim.js';
import { StepRng } from '../engine/parallel.js';
import type { Rng } from '../engine/rng.js';
import type { ExperimentConfig } from './config.js';
import type { DistillStep, StepParts } from './distillStep.js';
import { buildOptimizers, type DistributedTraining, type StepRunner } from './trainer.js';

/** Most named loss terms combined per step (a fixed-size allreduce). */
const MAX_TERMS = 64;

/** Floats per dense allreduce bucket (4 MB). */
export const BUCKET_FLOATS = 1 << 20;

/** sha256 of the config as JSON: what `checkSameConfig` compares across ranks at start. */
export function configHash(cfg: ExperimentConfig): string {
  return createHash('sha256').update(JSON.stringify(cfg)).digest('hex');
}

export interface MpiStepStats {
  /** Bytes this rank passed to MPI in the last step, by kind. */
  dense: number;
  sparse: number;
  control: number;
}

/** The distributed-training hooks the training loop takes (TrainOptions.distributed). */
export function mpiTraining(mpi: Mpi, seed: number): DistributedTraining & { stats(): MpiStepStats } {
  let last: MpiStepStats = { dense: 0, sparse: 0, control: 0 };
  const sum: MpiStepStats = { dense: 0, sparse: 0, control: 0 };
  let steps = 0;
  let store: ParamStore | null = null;
  return {
    collectives: mpi,
    runner: (parts, step, cfg) => {
      store = parts.store;
      const r = mpiRunner(mpi, parts, step, cfg, seed);
      return {
        ...r,
        run(batch: Batch, s: number) {
          const loss = r.run(batch, s);
          last = r.stats();
          for (const k of Object.keys(sum) as (keyof MpiStepStats)[]) sum[k] += last[k];
          steps++;
          return loss;
        },
      };
    },
    stats: () => last,
    finish: () => {
      if (store !== null) checkIdentical(mpi, store);
    },
    // Mean payload bytes this rank handed to MPI per step (final.json `distributed`).
    summary: () => {
      const per = (x: number) => Math.round(x / Math.max(1, steps));
      return {
        ranks: mpi.size,
        steps,
        bytesPerStep: per(sum.dense + sum.sparse + sum.control),
        denseBytesPerStep: per(sum.dense),
        sparseBytesPerStep: per(sum.sparse),
        controlBytesPerStep: per(sum.control),
      };
    },
  };
}

/**
 * Every rank must end with bit-identical parameters (the same sums in the same order). A 32-bit
 * FNV-1a of every parameter's and table's bytes is gathered from all ranks; a rank that differs is
 * a bug (or a rank that read different data), and training must not report success with it.
 */
export function checkIdentical(mpi: Mpi, store: ParamStore): void {
  let h = 0x811c9dc5;
  const mix = (a: Float32Array) => {
    const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i]!, 0x01000193);
  };
  for (const p of store.params()) mix(p.data);
  for (const t of store.tables()) mix(t.weight.data);
  const all = mpi.allgather(Int32Array.of(h | 0));
  const differ = Array.from(all).flatMap((x, r) => (x !== all[0] ? [r] : []));
  if (differ.length > 0)
    throw new Error(
      `distributed training: the parameters of rank(s) ${differ.join(', ')} differ from rank 0's after the last step`,
    );
}

function mpiRunner(
  mpi: Mpi,
  parts: StepParts,
  dstep: DistillStep,
  cfg: ExperimentConfig,
  seed: number,
): StepRunner & { stats(): MpiStepStats } {
  const { store, teacher, teacherTrains } = parts;
  const optimizers: Record<string, Optimizer> = buildOptimizers(store, cfg.optimizer);
  const params = store.params();
  const tables = store.tables();
  const dropout = new StepRng();
  const g = new Graph({ training: true, rng: dropout });
  // Dense buckets: consecutive parameters, none split.
  const buckets: { from: number; to: number; buf: Float32Array }[] = [];
  {
    let from = 0;
    let n = 0;
    for (let i = 0; i < params.length; i++) {
      const size = params[i]!.size;
      if (n > 0 && n + size > BUCKET_FLOATS) {
        buckets.push({ from, to: i, buf: new Float32Array(n) });
        from = i;
        n = 0;
      }
      n += size;
    }
    if (n > 0) buckets.push({ from, to: params.length, buf: new Float32Array(n) });
  }
  const touched = new Int32Array(params.length);
  const gathered: (SparseRows | undefined)[] = tables.map(() => undefined);
  let slotBuf = new Int32Array(1024);
  let rows = 0;
  let terms: { name: string; value: number }[] = [];
  let names: string[] = [];
  let stats: MpiStepStats = { dense: 0, sparse: 0, control: 0 };

  return {
    optimizers,
    // Dropout streams are a function of (seed, rank, step): nothing to save.
    rngs: {} as Record<string, Rng>,
    run(batch, step) {
      const st: MpiStepStats = { dense: 0, sparse: 0, control: 0 };
      const n = batch.size;
      const B = mpi.allreduce(Float64Array.of(n), 'sum')[0]!;
      st.control += 8;
      rows = B;
      // Fixed length on every rank (a rank with an empty batch computes no terms this step).
      const local = new Float64Array(1 + MAX_TERMS);
      if (n > 0) {
        dropout.at(seed, mpi.rank, step);
        g.reset();
        const total = dstep.loss(g, batch, step);
        // d(Σ_r (n_r/B)·L_r)/dθ: this rank's share of the global mean.
        g.backward(total, Float32Array.of(n / B));
        local[0] = (total.data[0]! * n) / B;
        if (dstep.terms.length > MAX_TERMS)
          throw new Error(`distributed training: ${dstep.terms.length} loss terms, at most ${MAX_TERMS}`);
        dstep.terms.forEach((t, i) => {
          local[1 + i] = (t.loss.data[0]! * n) / B;
        });
        names = dstep.terms.map((t) => t.name);
      }
      // Which parameters any rank's graph reached (a parameter no rank touched keeps grad = null
      // and is not updated, exactly as on one process).
      for (let i = 0; i < params.length; i++) touched[i] = params[i]!.grad !== null ? 1 : 0;
      mpi.allreduce(touched, 'max');
      st.control += touched.byteLength;
      for (const b of buckets) {
        let at = 0;
        for (let i = b.from; i < b.to; i++) {
          const p = params[i]!;
          if (touched[i] === 1 && p.grad === null) p.grad = new Float32Array(p.size);
          if (p.grad !== null) b.buf.set(p.grad, at);
          else b.buf.fill(0, at, at + p.size);
          at += p.size;
        }
        mpi.allreduce(b.buf, 'sum');
        st.dense += b.buf.byteLength;
        at = 0;
        for (let i = b.from; i < b.to; i++) {
          const p = params[i]!;
          if (p.grad !== null) p.grad.set(b.buf.subarray(at, at + p.size));
          at += p.size;
        }
      }
      tables.forEach((t, k) => {
        const sg = t.sparseGrad();
        const got = mpi.allgatherSparseRows(sg.rows, sg.grad, t.dim, sg.nRows, gathered[k]);
        gathered[k] = got;
        st.sparse += sg.nRows * 4 * (1 + t.dim) + 4;
        // Rebuild this table's compact gradient from every rank's rows, in rank order.
        t.zeroGrad();
        if (got.nRows === 0) return;
        if (slotBuf.length < got.nRows) slotBuf = new Int32Array(got.nRows * 2);
        const grad = t.assignSlots(got.rows, got.nRows, slotBuf);
        const D = t.dim;
        for (let i = 0; i < got.nRows; i++) {
          const s = slotBuf[i]! * D;
          for (let d = 0; d < D; d++) grad[s + d]! += got.values[i * D + d]!;
        }
      });
      if (cfg.optimizer.clipNorm > 0) clipGradNorm(params, tables, cfg.optimizer.clipNorm);
      optimizers['dense']!.step();
      optimizers['sparse']!.step();
      if (!teacherTrains && teacher !== null) teacher.store.zeroGrad();
      const sum = mpi.allreduce(local, 'sum');
      st.control += local.byteLength;
      terms = names.map((name, i) => ({ name, value: sum[1 + i]! }));
      stats = st;
      return sum[0]!;
    },
    terms: () => terms,
    rows: () => rows,
    resumedAt: () => {},
    close: async () => {},
    stats: () => stats,
  };
}
