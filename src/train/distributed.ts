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
 * - Row-sharded tables (`sharding: row`, src/engine/rowShard.ts; TorchRec row-wise sharding,
 *   HugeCTR model-parallel embedding) instead live at their owners (rank id mod N owns row id):
 *   lookups fetch the rows from the owners during the forward (a rank with an empty batch still
 *   serves them), the gradient rows go to the owners, which sum them in rank order (the same sums
 *   in the same order as the replicated mode) and apply their own sparse optimiser. Before rank 0
 *   validates or writes a checkpoint (`sync`), the ranks assemble those tables there.
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
import { type Batch, sliceColumns } from '../data/batch.js';
import { addSparseRows, type EmbeddingTable } from '../engine/embedding.js';
import { Graph } from '../engine/graph.js';
import type { Mpi, SparseRows } from '../engine/mpi.js';
import type { ParamStore } from '../engine/nn.js';
import type { Optimizer } from '../engine/optim.js';
import { clipFactor, clipGradNorm, gradSquares, scaleGrads } from '../engine/optim.js';
import { StepRng } from '../engine/parallel.js';
import type { Rng } from '../engine/rng.js';
import { RowShardExchange, RowShardedOptimizer } from '../engine/rowShard.js';
import type { ExperimentConfig } from '../run/config.js';
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
  /** Replicated tables: the touched rows (ids and values) allgathered. */
  sparse: number;
  /** Row-sharded tables (payload to other ranks): forward ids, forward rows, backward gradient rows. */
  rowIds: number;
  rowRows: number;
  rowGrads: number;
  control: number;
}

const noStats = (): MpiStepStats => ({ dense: 0, sparse: 0, rowIds: 0, rowRows: 0, rowGrads: 0, control: 0 });

/**
 * The tables `sharding` makes row-sharded (src/engine/rowShard.ts), in store order. A record must
 * name existing tables only: a typo would otherwise silently leave a large table replicated.
 */
export function rowShardedTables(
  tables: readonly EmbeddingTable[],
  sharding: ExperimentConfig['sharding'],
): EmbeddingTable[] {
  if (typeof sharding === 'string') return sharding === 'row' ? tables.filter((t) => t.trainable) : [];
  const names = new Set(tables.map((t) => t.name));
  for (const name of Object.keys(sharding)) {
    if (!names.has(name))
      throw new Error(
        `sharding: no trainable embedding table named '${name}' (the tables are: ${[...names].join(', ')})`,
      );
  }
  return tables.filter((t) => {
    if (sharding[t.name] !== 'row') return false;
    if (!t.trainable)
      throw new Error(`sharding: table '${t.name}' is frozen; only trainable tables can be row-sharded`);
    return true;
  });
}

/** The distributed-training hooks the training loop takes (TrainOptions.distributed). */
export function mpiTraining(mpi: Mpi, seed: number): DistributedTraining & { stats(): MpiStepStats } {
  let last: MpiStepStats = noStats();
  const sum: MpiStepStats = noStats();
  let steps = 0;
  let store: ParamStore | null = null;
  let current: ReturnType<typeof mpiRunner> | null = null;
  let syncBytes = 0;
  let owned = { rows: 0, rank0: 0, max: 0, tables: 0, cacheMax: 0, fullRanks: 0 };
  return {
    collectives: mpi,
    runner: (parts, step, cfg) => {
      store = parts.store;
      const r = mpiRunner(mpi, parts, step, cfg, seed);
      current = r;
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
    sync: (withOptimizerState) => {
      if (current !== null) syncBytes += current.sync(withOptimizerState);
    },
    finish: () => {
      if (current !== null) {
        syncBytes += current.sync(false);
        owned = current.ownedRows();
      }
      // Summed over the ranks (rank 0 sends nothing to itself): the traffic of the assemblies.
      syncBytes = mpi.allreduce(Float64Array.of(syncBytes), 'sum')[0]!;
      if (store !== null) checkIdentical(mpi, store, current?.rowTables() ?? []);
    },
    // Mean payload bytes this rank handed to MPI per step (final.json `distributed`).
    summary: () => {
      const per = (x: number) => Math.round(x / Math.max(1, steps));
      return {
        ranks: mpi.size,
        steps,
        bytesPerStep: per(sum.dense + sum.sparse + sum.rowIds + sum.rowRows + sum.rowGrads + sum.control),
        denseBytesPerStep: per(sum.dense),
        sparseBytesPerStep: per(sum.sparse),
        rowIdsBytesPerStep: per(sum.rowIds),
        rowRowsBytesPerStep: per(sum.rowRows),
        rowGradBytesPerStep: per(sum.rowGrads),
        controlBytesPerStep: per(sum.control),
        // Row-sharded tables: their rows in total, and the rows rank 0 and the fullest rank store.
        rowShardedTables: owned.tables,
        rowShardedRows: owned.rows,
        ownedRowsRank0: owned.rank0,
        ownedRowsMax: owned.max,
        // The most rows one rank fetched in a step (its lookup cache), and how many ranks still hold
        // the full tables (rank 0 only: validation and checkpoints read them).
        lookupCacheRowsMax: owned.cacheMax,
        fullTableRanks: owned.fullRanks,
        // Assembling row-sharded tables (and optimiser state) on rank 0 for validation and checkpoints.
        syncBytes,
      };
    },
  };
}

/**
 * Every rank must end with bit-identical parameters (the same sums in the same order). A 32-bit
 * FNV-1a of every parameter's and table's bytes is gathered from all ranks; a rank that differs is
 * a bug (or a rank that read different data), and training must not report success with it.
 */
export function checkIdentical(mpi: Mpi, store: ParamStore, except: readonly EmbeddingTable[] = []): void {
  let h = 0x811c9dc5;
  const mix = (a: Float32Array) => {
    const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i]!, 0x01000193);
  };
  for (const p of store.params()) mix(p.data);
  // A row-sharded table has no replicas to compare: each row lives on one rank only.
  for (const t of store.tables()) if (!except.includes(t)) mix(t.weight.data);
  const all = mpi.allgather(Int32Array.of(h | 0));
  const differ = Array.from(all).flatMap((x, r) => (x !== all[0] ? [r] : []));
  if (differ.length > 0)
    throw new Error(
      `distributed training: the parameters of rank(s) ${differ.join(', ')} differ from rank 0's after the last step`,
    );
}

/** A loss term's name and this process's share of it (n/B of its batch mean). */
interface LocalShare {
  total: number;
  terms: Float64Array;
  names: string[];
}

/**
 * Forward and backward of one rank's rows as its share of the global batch mean: the loss is
 * seeded with n/B, so Σ over ranks of the gradients is the gradient of the mean over B rows.
 * Dropout masks come from (seed, rank, step). Writes the shares of the named terms into `out`.
 */
function backwardShare(
  g: Graph,
  dropout: StepRng,
  dstep: DistillStep,
  batch: Batch,
  step: number,
  seed: number,
  rank: number,
  B: number,
  out: LocalShare,
): void {
  const n = batch.size;
  out.terms.fill(0);
  out.total = 0;
  if (n === 0) return;
  dropout.at(seed, rank, step);
  g.reset();
  const total = dstep.loss(g, batch, step);
  g.backward(total, Float32Array.of(n / B));
  if (dstep.terms.length > MAX_TERMS)
    throw new Error(`distributed training: ${dstep.terms.length} loss terms, at most ${MAX_TERMS}`);
  out.total = (total.data[0]! * n) / B;
  dstep.terms.forEach((t, i) => {
    out.terms[i] = (t.loss.data[0]! * n) / B;
  });
  out.names = dstep.terms.map((t) => t.name);
}

/**
 * Gradient clipping on the global gradient, then the optimisers: the same on every rank. With
 * row-sharded tables (`sharded`), their gradient rows are spread over the owners' local tables, so
 * the global norm adds the ranks' sums of squares of their owned rows (one allreduce).
 */
function applyUpdate(
  parts: StepParts,
  optimizers: Record<string, Optimizer>,
  cfg: ExperimentConfig,
  sharded?: { mpi: Mpi; locals: EmbeddingTable[]; stats: MpiStepStats },
): void {
  const { store, teacher, teacherTrains } = parts;
  const maxNorm = cfg.optimizer.clipNorm;
  if (maxNorm > 0 && sharded === undefined) clipGradNorm(store.params(), store.tables(), maxNorm);
  else if (maxNorm > 0 && sharded !== undefined) {
    const own = sharded.mpi.allreduce(Float64Array.of(gradSquares([], sharded.locals)), 'sum')[0]!;
    sharded.stats.control += 8;
    // The model's row-sharded tables have no gradient left (pushGrads sent it to the owners).
    const f = clipFactor(Math.sqrt(gradSquares(store.params(), store.tables()) + own), maxNorm);
    scaleGrads(store.params(), store.tables(), f);
    scaleGrads([], sharded.locals, f);
  }
  optimizers['dense']!.step();
  optimizers['sparse']!.step();
  if (!teacherTrains && teacher !== null) teacher.store.zeroGrad();
}

function mpiRunner(
  mpi: Mpi,
  parts: StepParts,
  dstep: DistillStep,
  cfg: ExperimentConfig,
  seed: number,
): StepRunner & {
  stats(): MpiStepStats;
  sync(withOptimizerState: boolean): number;
  rowTables(): EmbeddingTable[];
  ownedRows(): {
    rows: number;
    rank0: number;
    max: number;
    tables: number;
    cacheMax: number;
    fullRanks: number;
  };
} {
  const { store } = parts;
  const rowTables = rowShardedTables(store.tables(), cfg.sharding);
  // Replicated tables exchange gradients by allgather; row-sharded ones through their owners.
  const tables = store.tables().filter((t) => !rowTables.includes(t));
  const exchange = rowTables.length > 0 ? new RowShardExchange(mpi, rowTables) : null;
  const locals = exchange?.shards.map((sh) => sh.local) ?? [];
  const optimizers: Record<string, Optimizer> = buildOptimizers(store, cfg.optimizer, [...tables, ...locals]);
  const rowOpt = exchange !== null ? new RowShardedOptimizer(optimizers['sparse']!, exchange) : null;
  if (rowOpt !== null) optimizers['sparse'] = rowOpt;
  const params = store.params();
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
  const scratch = { slots: new Int32Array(1024) };
  // [total, terms...]: fixed length on every rank (a rank with an empty batch computes no terms).
  const local = new Float64Array(1 + MAX_TERMS);
  const share: LocalShare = { total: 0, terms: local.subarray(1), names: [] };
  let rows = 0;
  let terms: { name: string; value: number }[] = [];
  let stats: MpiStepStats = noStats();
  let released = false;

  return {
    optimizers,
    // Dropout streams are a function of (seed, rank, step): nothing to save.
    rngs: {} as Record<string, Rng>,
    run(batch, step) {
      const st: MpiStepStats = noStats();
      rowOpt?.dropStaging();
      if (!released) {
        // After any checkpoint was loaded into the full tables: ranks ≠ 0 keep only their rows.
        for (const sh of exchange?.shards ?? []) sh.release();
        released = true;
      }
      const B = mpi.allreduce(Float64Array.of(batch.size), 'sum')[0]!;
      st.control += 8;
      rows = B;
      // Row-sharded lookups are exchange rounds during the forward; drain() serves the other ranks'
      // remaining rounds (all of them when this rank's batch is empty and it runs no forward).
      exchange?.begin();
      backwardShare(g, dropout, dstep, batch, step, seed, mpi.rank, B, share);
      exchange?.drain();
      local[0] = share.total;
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
        addSparseRows(t, got.rows, got.values, got.nRows, scratch);
      });
      if (exchange !== null) {
        exchange.pushGrads();
        const x = exchange.stats;
        st.rowIds += x.lookupIds;
        st.rowRows += x.lookupRows;
        st.rowGrads += x.grads;
        st.control += x.control;
        applyUpdate(parts, optimizers, cfg, { mpi, locals, stats: st });
      } else applyUpdate(parts, optimizers, cfg);
      const sum = mpi.allreduce(local, 'sum');
      st.control += local.byteLength;
      terms = share.names.map((name, i) => ({ name, value: sum[1 + i]! }));
      stats = st;
      return sum[0]!;
    },
    terms: () => terms,
    rows: () => rows,
    resumedAt: () => {
      // The checkpoint was loaded into the full tables and full state buffers on every rank.
      if (exchange === null) return;
      for (const sh of exchange.shards) sh.reloadOwned();
      rowOpt!.scatterState();
    },
    close: async () => {
      exchange?.close();
    },
    stats: () => stats,
    sync: (withOptimizerState) => {
      if (exchange === null) return 0;
      let bytes = exchange.gatherWeights();
      if (withOptimizerState) bytes += rowOpt!.gatherState(mpi.rank);
      return bytes;
    },
    rowTables: () => rowTables,
    // A collective (allreduce): the storage of the row-sharded tables, for final.json.
    ownedRows: () => {
      const sh = exchange?.shards ?? [];
      const mine = sh.reduce((n, x) => n + x.owned, 0);
      const cache = sh.reduce((n, x) => n + x.peakCacheRows, 0);
      const full = sh.length > 0 && sh.every((x) => x.holdsFullTable) ? 1 : 0;
      const max = mpi.allreduce(Float64Array.of(mine, cache), 'max');
      const r0 = mpi.bcast(Float64Array.of(mine), 0)[0]!;
      const fullRanks = mpi.allreduce(Float64Array.of(full), 'sum')[0]!;
      return {
        rows: rowTables.reduce((n, t) => n + t.vocab, 0),
        rank0: r0,
        max: max[0]!,
        tables: rowTables.length,
        cacheMax: max[1]!,
        fullRanks,
      };
    },
  };
}

/**
 * The single-process reference of an N-rank job (`kdrec train --interleave N`): each global batch
 * (an interleaved stream's, the concatenation of the N shards' batches) is split back into its N
 * parts; part r runs forward and backward exactly as rank r would (its rows, its n_r/B share, its
 * dropout stream), its gradients are set aside, and they are then summed in rank order — dense
 * element-wise, sparse rows rank 0's first — as the MPI job's allreduce and gathered rows are.
 * Same float operations in the same order, so a correct exchange gives the same parameters bit
 * for bit at N = 2 (larger N: MPI may sum in another order). Gradient accumulation over N micro-
 * batches is also how one machine trains with a global batch it cannot hold at once.
 */
export function accumulatingRunner(
  parts: StepParts,
  dstep: DistillStep,
  cfg: ExperimentConfig,
  seed: number,
  ways: number,
): StepRunner {
  const { store } = parts;
  const optimizers: Record<string, Optimizer> = buildOptimizers(store, cfg.optimizer);
  const params = store.params();
  const tables = store.tables();
  const dropout = new StepRng();
  const g = new Graph({ training: true, rng: dropout });
  const dense = Array.from({ length: ways }, () => params.map((p) => new Float32Array(p.size)));
  const had = Array.from({ length: ways }, () => new Uint8Array(params.length));
  const sparse = Array.from({ length: ways }, () =>
    tables.map(() => ({ rows: new Int32Array(0), values: new Float32Array(0), n: 0 })),
  );
  const scratch = { slots: new Int32Array(1024) };
  const share: LocalShare = { total: 0, terms: new Float64Array(MAX_TERMS), names: [] };
  const termSum = new Float64Array(MAX_TERMS);
  let terms: { name: string; value: number }[] = [];
  return {
    optimizers,
    rngs: {} as Record<string, Rng>,
    run(batch, step, partRows) {
      if (partRows === undefined || partRows.length !== ways)
        throw new Error(`internal: the accumulating runner needs the ${ways} part sizes of each batch`);
      const B = batch.size;
      let total = 0;
      termSum.fill(0);
      let off = 0;
      for (let r = 0; r < ways; r++) {
        const n = partRows[r]!;
        backwardShare(g, dropout, dstep, sliceColumns(batch, off, off + n), step, seed, r, B, share);
        off += n;
        total += share.total;
        for (let i = 0; i < MAX_TERMS; i++) termSum[i]! += share.terms[i]!;
        // Set part r's gradients aside and clear them for part r + 1, as rank r + 1 starts clean.
        params.forEach((p, i) => {
          had[r]![i] = p.grad !== null ? 1 : 0;
          if (p.grad !== null) {
            dense[r]![i]!.set(p.grad);
            p.grad.fill(0);
          }
        });
        tables.forEach((t, k) => {
          const sg = t.sparseGrad();
          const slot = sparse[r]![k]!;
          if (slot.rows.length < sg.nRows) {
            slot.rows = new Int32Array(sg.nRows * 2);
            slot.values = new Float32Array(sg.nRows * 2 * t.dim);
          }
          slot.rows.set(sg.rows.subarray(0, sg.nRows));
          slot.values.set(sg.grad.subarray(0, sg.nRows * t.dim));
          slot.n = sg.nRows;
          t.zeroGrad();
        });
      }
      // Sums in rank order, as the allreduce (dense) and the rank-ordered gathered rows (sparse).
      params.forEach((p, i) => {
        let any = false;
        for (let r = 0; r < ways; r++) any ||= had[r]![i] === 1;
        if (!any) return;
        const out = p.grad ?? p.ensureGrad();
        out.set(dense[0]![i]!);
        for (let r = 1; r < ways; r++) {
          const src = dense[r]![i]!;
          for (let j = 0; j < out.length; j++) out[j]! += src[j]!;
        }
      });
      tables.forEach((t, k) => {
        for (let r = 0; r < ways; r++) {
          const slot = sparse[r]![k]!;
          addSparseRows(t, slot.rows, slot.values, slot.n, scratch);
        }
      });
      applyUpdate(parts, optimizers, cfg);
      terms = share.names.map((name, i) => ({ name, value: termSum[i]! }));
      return total;
    },
    terms: () => terms,
    resumedAt: () => {},
    close: async () => {},
  };
}
