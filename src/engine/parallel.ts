/**
 * Data-parallel training on worker_threads: synchronous gradient averaging, with the reduction and
 * the optimiser update split across the ranks.
 *
 * Each step the batch is cut into N contiguous shards (N = --threads). Rank 0 is the calling
 * thread; ranks 1..N−1 are workers. Every rank runs forward and backward on its shard against the
 * SAME parameters, which live in SharedArrayBuffers (one copy for all threads). The backward pass
 * is seeded with the shard's weight n_r / B, so the ranks' gradients sum to the gradient of the
 * full-batch mean loss. Then, after one barrier, every rank reduces and updates its own disjoint
 * part of the parameters — the "reduce-scatter + sharded optimiser" of ZeRO stage 1/2
 * (Rajbhandari et al., SC 2020, §5) on shared memory instead of a network:
 * - dense parameters: the flat concatenation of the dense optimisers' parameters is cut into N
 *   contiguous element ranges (cut points on 16-value = 64-byte boundaries, so two ranks never
 *   write one cache line); rank q sums the N ranks' gradients over its range (its own, then the
 *   others in rank order) and runs the optimiser rule on it;
 * - embedding tables: rank q owns the rows with id mod N = q. Every rank's backward already sorts
 *   its compact sparse gradient by owner, into N parts in shared memory (EmbeddingTable.partitionGrad),
 *   so nothing is copied or filtered after backward: rank q adds the other ranks' part q (in rank
 *   order) into its own part q, in place, and runs the lazy sparse rule on it — exactly the rows,
 *   moments and bias corrections the single-thread lazy optimiser would touch (optim.ts). A rank
 *   clears its parts at the start of the next step, when no other rank reads them any more;
 * - optimiser state (moments, accumulators) is moved into SharedArrayBuffers (`relocateState`), so
 *   rank 0's optimisers still hold all of it for checkpoints. Rank 0 alone counts the step and
 *   evaluates the learning-rate schedule (`advance`), and hands the ranks (lr, t) in shared memory.
 * So the serial part of a step is the shard hand-out and two barriers: one after backward, one after
 * the update (plus one in between when gradients are clipped by global norm, which needs every
 * rank's partial sum of squares). No thread reads a parameter while another writes it: updates happen
 * strictly between the two barriers, and forward passes only outside them.
 *
 * Reproducibility: the shards, each rank's arithmetic, the ownership of every value and the
 * reduction order are all fixed, so a run is bit-identical to another run with the
 * same seed and the same N. Different N give different (float-rounding-level) results, because the
 * shard sums are added in a different order. (Hogwild — lock-free updates from every thread — would
 * avoid the barriers but makes every run unrepeatable; kdrec prefers repeatable runs.)
 *
 * Failure handling: a rank whose forward/backward throws, or a NaN/Inf loss anywhere, makes every
 * rank skip the update (all ranks see the same shared flags after the first barrier, so they agree);
 * rank 0 then throws naming the worker or the step, and the optimisers' step counts are rolled back.
 *
 * Workers must build the same model. A model is therefore described by a factory reference: a
 * module URL, the name of an exported factory function and a structured-cloneable config. Every
 * rank imports the module and calls the factory; the workers then replace their parameters' memory
 * by rank 0's shared buffers, so their own initial values never matter. Optimisers are built on
 * rank 0 only (`makeOptimizers`, a closure, may hold an LR schedule function); workers receive each
 * optimiser's update rule and shared state buffers (`Optimizer.layout()`).
 */
import { performance } from 'node:perf_hooks';
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
  type WorkerOptions,
} from 'node:worker_threads';
import type { EmbeddingTable } from './embedding.js';
import { Graph } from './graph.js';
import { getKernels } from './kernels/index.js';
import type { ParamStore } from './nn.js';
import { applyRule, clipFactor, clipGradNorm, type Optimizer, ROW0, type UpdateRule } from './optim.js';
import { Rng } from './rng.js';
import type { Tensor } from './tensor.js';

/** A column of a ColumnBatch: `rows × width` values, row-major. */
export type Column = Int32Array | Float32Array | Float64Array;

/** A batch as named flat columns. */
export interface ColumnBatch {
  rows: number;
  cols: Record<string, Column>;
}

/** Most auxiliary values (`Trainable.auxValues`) a rank can report per step. */
export const MAX_AUX = 64;

/** What a data-parallel rank trains: parameters and a loss over a (shard of a) batch. */
export interface Trainable {
  store: ParamStore;
  /**
   * Scalar [1] loss, the MEAN over the batch's rows. `step` is the number of the step being taken
   * (1 for the first; after `setStepCount(s)` the next is s + 1), the same on every rank, so a loss
   * may depend on a schedule (a distillation weight λ, say).
   */
  loss(g: Graph, batch: ColumnBatch, step: number): Tensor;
  /**
   * Optional per-row means computed by the last `loss` call (its terms, for logging), at most
   * MAX_AUX of them, in the same order on every rank. The trainer combines them over the shards as
   * it combines the loss (Σ_r value_r · n_r / B) and returns them from `lastAux()`.
   */
  auxValues?(): ArrayLike<number>;
}

export type TrainableFactory = (config: unknown) => Trainable;

export interface FactoryRef {
  /** URL of the module (`import.meta.url` of the model file is the usual value). */
  moduleUrl: string;
  /** Name of the exported `TrainableFactory`. */
  exportName: string;
  /** Passed to the factory; must survive structured cloning. */
  config: unknown;
}

export interface ColumnSpec {
  type: 'i32' | 'f32' | 'f64';
  /** Values per row. */
  width: number;
}

export interface ParallelTrainerOptions {
  factory: FactoryRef;
  /**
   * Rank 0's model, already built by the caller (it must be what the factory builds from its
   * config); built from the factory when absent. Its parameters are moved into shared memory.
   */
  model?: Trainable;
  threads: number;
  /** Column layout of every batch, and the largest batch (rows) that will be passed to step(). */
  columns: Record<string, ColumnSpec>;
  maxRows: number;
  /**
   * Builds rank 0's optimisers over the (shared) parameters. With threads > 1 each must provide
   * `layout`, `advance` and `relocateState` (all of optim.ts's optimisers do).
   */
  makeOptimizers: (store: ParamStore) => Record<string, Optimizer>;
  /** Seeds the dropout streams: rank r at step s draws from stepRng(seed, r, s). */
  seed: number;
  /** Clip the reduced gradient to this global L2 norm (none when undefined). */
  maxGradNorm?: number;
}

export async function loadFactory(ref: FactoryRef): Promise<TrainableFactory> {
  const mod = (await import(ref.moduleUrl)) as Record<string, unknown>;
  const f = mod[ref.exportName];
  if (typeof f !== 'function') {
    throw new Error(`parallel: module ${ref.moduleUrl} has no exported function '${ref.exportName}'`);
  }
  return f as TrainableFactory;
}

/**
 * Control block (Int32Array over a SharedArrayBuffer). The barrier counters are cumulative: after
 * step number `seq` (counted from 1 since create) the after-backward and clip counters reach N·seq
 * and the after-update counter (N−1)·seq, so they never need resetting.
 */
const C_SEQ = 0; // start signal: sequence number of the step handed out; SHUTDOWN stops workers
const C_STEP = 1; // the step number (dropout streams, messages); differs from seq after a resume
const C_ROWS = 2; // rows of the whole batch
const C_MID = 3; // arrivals after backward
const C_CLIP = 4; // arrivals after the partial sums of squares (clipping only)
const C_END = 5; // workers' arrivals after their update
const C_HEADER = 8;
/** Per rank r at C_HEADER + r·RANK_STRIDE: [shard rows, failed]. */
const RANK_STRIDE = 2;
export const SHUTDOWN = -1;
/** `failed` values: a step error (the rank is fine), or a dead worker thread. */
const FAILED_STEP = 1;
export const FAILED_DEAD = 2;
/** Index of rank r's shard rows in the control block. */
export const shardRowsAt = (r: number): number => C_HEADER + r * RANK_STRIDE;
/** Index of rank r's `failed` flag in the control block. */
export const failedAt = (r: number): number => C_HEADER + r * RANK_STRIDE + 1;
/** Whether the trainer has been closed (workers stop). */
export const isShutdown = (ctrl: Int32Array): boolean => Atomics.load(ctrl, C_SEQ) === SHUTDOWN;
/** Longest time rank 0 waits at a barrier before declaring a worker dead. */
const WORKER_TIMEOUT_MS = 10 * 60_000;
/**
 * How long a waiting rank polls before sleeping on the futex. Waking a thread that sleeps on an
 * idle core costs a round trip of ~130 µs on the 2-core reference VM, against ~5 µs for one that
 * is still polling (measured by a ping-pong of two threads, BENCHMARKS.md); the gap between two
 * steps and most barrier waits are shorter than that. Bounded, so that a rank waiting for a slow
 * one does not hold a core that another process may need.
 */
const SPIN_MS = 0.2;
/** Dense ranges are cut on multiples of this many values (64 bytes: one cache line). */
const CUT_ALIGN = 16;

/**
 * KDREC_PARALLEL_PROFILE=1 times every phase of every rank's step (performance.now() laps into a
 * shared Float64 table) and prints each phase's [median, mean] µs per step and rank as one JSON line
 * on stderr when the trainer closes (bench/parallelProfile.ts reads it). Off by default; when off
 * each lap point is one test of a null field.
 */
const PROFILE = process.env['KDREC_PARALLEL_PROFILE'] === '1';
export const PHASES = [
  'handout', // rank 0: advance the optimisers, copy the workers' shards, signal the start
  'start', // workers: from rank 0's start signal until this rank sees it
  'zeroGrads', // dense gradients and this rank's compact sparse gradients of the last step
  'forward',
  'backward',
  'publish', // aux values; the dense gradients move into shared memory (first step only)
  'waitMid',
  'reduceDense',
  'reduceSparse',
  'update',
  'waitEnd', // workers: after-update barrier; rank 0: its wait for the workers' arrival
  'finish', // rank 0: failure checks, loss and aux values
] as const;
const P = Object.fromEntries(PHASES.map((name, i) => [name, i])) as Record<(typeof PHASES)[number], number>;
/** Steps the profile keeps (a ring); medians are taken over what it holds. */
const PROFILE_STEPS = 4096;
/** Floats per rank in the profile buffer: the start time of the current step, then the ring. */
const profileStride = 1 + PROFILE_STEPS * PHASES.length;

/** One rank's view of the profile table. */
class PhaseClock {
  private t = 0;
  private row = 0;
  private steps = 0;
  constructor(
    private readonly table: Float64Array,
    private readonly base: number,
  ) {}
  /** Starts a step's row; `t0` is when the step began (performance.timeOrigin-based ms). */
  begin(t0: number): void {
    this.row = this.base + 1 + (this.steps++ % PROFILE_STEPS) * PHASES.length;
    this.table.fill(0, this.row, this.row + PHASES.length);
    this.t = t0;
  }
  /** Charges the time since the last lap to `phase`. */
  lap(phase: number): void {
    const now = performance.timeOrigin + performance.now();
    this.table[this.row + phase] += now - this.t;
    this.t = now;
  }
  static now(): number {
    return performance.timeOrigin + performance.now();
  }
}

/** Per phase, [median, mean] µs for each rank over the steps the profile table holds. */
function profileStats(table: Float64Array, threads: number, steps: number): Record<string, number[]>[] {
  const n = Math.min(steps, PROFILE_STEPS);
  const out: Record<string, number[]>[] = [];
  for (let r = 0; r < threads; r++) {
    const row: Record<string, number[]> = {};
    PHASES.forEach((name, ph) => {
      const xs: number[] = [];
      for (let s = 0; s < n; s++) xs.push(table[r * profileStride + 1 + s * PHASES.length + ph]!);
      if (xs.every((x) => x === 0)) return;
      xs.sort((a, b) => a - b);
      const m = xs.length >> 1;
      const median = xs.length % 2 ? xs[m]! : (xs[m - 1]! + xs[m]!) / 2;
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      row[name] = [Math.round(median * 1000), Math.round(mean * 1000)];
    });
    out.push(row);
  }
  return out;
}

export function shareFloat32(a: Float32Array): Float32Array {
  const s = new Float32Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

/** An optimiser as the ranks see it: its rule, its targets (store indices) and shared state. */
export interface SharedOptimizer {
  rule: UpdateRule;
  kind: 'dense' | 'sparse';
  /** Indices into store.params() (dense) or store.tables() (sparse). */
  targets: number[];
  /** Per target, the state buffers in applyRule's order. */
  state: SharedArrayBuffer[][];
}

/** Everything one rank needs; structured-cloneable (SharedArrayBuffers are shared, not copied). */
export interface RankInit {
  rank: number;
  threads: number;
  factory: FactoryRef;
  seed: number;
  columns: Record<string, ColumnSpec>;
  maxGradNorm: number | undefined;
  ctrl: SharedArrayBuffer;
  /** Float64 per rank: shard mean loss; partial sum of squares of the owned gradient. */
  losses: SharedArrayBuffer;
  /** Float64 per rank: [count, value × MAX_AUX] of the model's auxValues(). */
  aux: SharedArrayBuffer;
  sqSums: SharedArrayBuffer;
  /** Float64 (lr, t) per optimiser for the current step, written by rank 0. */
  scalars: SharedArrayBuffer;
  /** Int32 [rank × param]: 1 once the rank's backward has reached the parameter. */
  reached: SharedArrayBuffer;
  /**
   * Int32: rows in part p of rank r's compact sparse gradient of table t at
   * countsAt(r, tables, N) + t·N + p (one cache-line-aligned block per rank: see countsAt).
   */
  sparseCounts: SharedArrayBuffer;
  params: SharedArrayBuffer[];
  tables: SharedArrayBuffer[];
  /** Per rank: its dense gradients, laid out by `gradLayout`. */
  grads: SharedArrayBuffer[];
  /**
   * [rank][table]: each rank's compact sparse gradient (row ids; rows × dim values), in N parts by
   * owner (EmbeddingTable.partitionGrad), so owners read it in place.
   */
  pubRows: SharedArrayBuffer[][];
  pubGrads: SharedArrayBuffer[][];
  /** This rank's input columns (maxShardRows × width each); rank 0 reads the caller's batch. */
  cols: Record<string, SharedArrayBuffer> | null;
  optimizers: SharedOptimizer[];
  /** KDREC_PARALLEL_PROFILE: the shared phase-time table, Float64 [rank × (1 + steps × phases)]. */
  profile: SharedArrayBuffer | null;
}

/** Shard r of B rows over N ranks: contiguous, the first B mod N shards one row longer. */
export function shardRange(B: number, N: number, r: number): [number, number] {
  const base = Math.floor(B / N);
  const extra = B % N;
  const start = r * base + Math.min(r, extra);
  return [start, start + base + (r < extra ? 1 : 0)];
}

/**
 * Rank q's part of a flat run of `total` values: [cut(q), cut(q + 1)), cut points spread evenly and
 * rounded down to CUT_ALIGN. Every rank computes the same cut points, so the parts tile the run.
 */
export function denseCut(total: number, N: number, q: number): number {
  if (q >= N) return total;
  return Math.floor(Math.floor((total * q) / N) / CUT_ALIGN) * CUT_ALIGN;
}

/** One rank's piece of one dense parameter: element range [start, end) and views on it. */
interface DensePart {
  opt: number;
  param: number;
  n: number;
  w: Float32Array;
  state: Float32Array[];
  /** Every rank's gradient over the range, in rank order; `own` is this rank's (the sum lands there). */
  grads: Float32Array[];
  own: Float32Array;
}

interface SparsePart {
  opt: number;
  table: number;
  state: Float32Array[];
}

/**
 * The per-rank half of the protocol, run by rank 0 (inside ParallelTrainer.step) and by every worker
 * (parallelWorker.ts): forward/backward on the shard, publish, barrier, reduce and update the owned
 * part, barrier.
 */
export class Rank {
  readonly rank: number;
  readonly threads: number;
  private readonly ctrl: Int32Array;
  private readonly losses: Float64Array;
  private readonly aux: Float64Array;
  private readonly sqSums: Float64Array;
  private readonly scalars: Float64Array;
  private readonly reached: Int32Array;
  private readonly sparseCounts: Int32Array;
  private readonly params: Tensor[];
  private readonly tables: EmbeddingTable[];
  /** This rank's dense gradient buffers (shared), per parameter. */
  private readonly ownGrads: Float32Array[];
  /** [rank][table]: the rows and values of the part of rank r's compact gradient this rank owns. */
  private readonly inRows: Int32Array[][];
  private readonly inGrads: Float32Array[][];
  /** Per sparse table (sparseTables order): the shared buffers its partitioned gradient lives in. */
  private readonly gradParts: { rows: Int32Array; grad: Float32Array; counts: Int32Array }[];
  private readonly denseParts: DensePart[] = [];
  private readonly sparseParts: SparsePart[] = [];
  private readonly rules: UpdateRule[];
  /** Tables some sparse optimiser trains: only these are published and merged. */
  private readonly sparseTables: number[];
  private readonly graph: Graph;
  private readonly dropout = new StepRng();
  private readonly seedGrad = new Float32Array(1);
  private readonly clip: number | undefined;
  private readonly seed: number;
  private scratchSlots = new Int32Array(0);
  /** The current step and the barriers this rank has passed in it (so a dying worker can still arrive). */
  private seq = 0;
  private passedMid = true;
  private passedClip = true;
  private passedEnd = true;
  /** The error of this rank's last failed step. */
  lastError: unknown = null;
  /** Clipping found the reduced gradient's norm NaN or Inf in the current step (no update was made). */
  gradNotFinite = false;
  /** KDREC_PARALLEL_PROFILE: this rank's phase clock (null when profiling is off). */
  readonly clock: PhaseClock | null;
  private readonly profile: Float64Array | null;

  /**
   * @param report called once per failed step with the error, before this rank reaches the next
   *   barrier (a worker posts it to rank 0, which reads it after the step's last barrier).
   */
  constructor(
    init: RankInit,
    readonly model: Trainable,
    private readonly report: (err: unknown) => void = () => {},
  ) {
    this.rank = init.rank;
    this.threads = init.threads;
    this.clip = init.maxGradNorm;
    this.seed = init.seed;
    this.ctrl = new Int32Array(init.ctrl);
    this.losses = new Float64Array(init.losses);
    this.aux = new Float64Array(init.aux);
    this.sqSums = new Float64Array(init.sqSums);
    this.scalars = new Float64Array(init.scalars);
    this.reached = new Int32Array(init.reached);
    this.sparseCounts = new Int32Array(init.sparseCounts);
    this.params = model.store.params();
    this.tables = model.store.tables();
    const layout = gradLayout(this.params.map((p) => p.size));
    const grads = init.grads.map((b) =>
      this.params.map((p, i) => new Float32Array(b, layout.offsets[i]!, p.size)),
    );
    this.ownGrads = grads[this.rank]!;
    // Every rank's tables keep their compact gradient in shared memory, split by owner: part q of
    // rank r's holds the ids with id mod N = q, which rank q merges in place after backward.
    const N = this.threads;
    const nTables = this.tables.length;
    this.inRows = init.pubRows.map((rs) =>
      rs.map((b, ti) => {
        const cap = Math.ceil(this.tables[ti]!.vocab / N);
        return new Int32Array(b, 4 * cap * this.rank, cap);
      }),
    );
    this.inGrads = init.pubGrads.map((rs) =>
      rs.map((b, ti) => {
        const t = this.tables[ti]!;
        const n = Math.ceil(t.vocab / N) * t.dim;
        return new Float32Array(b, 4 * n * this.rank, n);
      }),
    );
    this.rules = init.optimizers.map((o) => o.rule);
    this.graph = new Graph({ training: true, rng: this.dropout });

    // Dense ownership: the dense optimisers' parameters as one flat run, cut into N ranges.
    let total = 0;
    for (const o of init.optimizers)
      if (o.kind === 'dense') for (const i of o.targets) total += this.params[i]!.size;
    const lo = denseCut(total, this.threads, this.rank);
    const hi = denseCut(total, this.threads, this.rank + 1);
    let offset = 0;
    init.optimizers.forEach((o, oi) => {
      if (o.kind !== 'dense') return;
      o.targets.forEach((pi, ti) => {
        const p = this.params[pi]!;
        const s = Math.max(lo, offset) - offset;
        const e = Math.min(hi, offset + p.size) - offset;
        offset += p.size;
        if (e <= s) return;
        const state = o.state[ti]!.map((b) => new Float32Array(b).subarray(s, e));
        this.denseParts.push({
          opt: oi,
          param: pi,
          n: e - s,
          w: p.data.subarray(s, e),
          state,
          grads: grads.map((rs) => rs[pi]!.subarray(s, e)),
          own: this.ownGrads[pi]!.subarray(s, e),
        });
      });
    });
    init.optimizers.forEach((o, oi) => {
      if (o.kind !== 'sparse') return;
      o.targets.forEach((ti, k) => {
        this.sparseParts.push({ opt: oi, table: ti, state: o.state[k]!.map((b) => new Float32Array(b)) });
      });
    });
    this.sparseTables = this.sparseParts.map((s) => s.table);
    this.gradParts = this.sparseTables.map((ti) => {
      const at = countsAt(this.rank, nTables, N) + ti * N;
      return {
        rows: new Int32Array(init.pubRows[this.rank]![ti]!),
        grad: new Float32Array(init.pubGrads[this.rank]![ti]!),
        counts: this.sparseCounts.subarray(at, at + N),
      };
    });
    this.partitionSparse();
    this.profile = init.profile === null ? null : new Float64Array(init.profile);
    this.clock = this.profile === null ? null : new PhaseClock(this.profile, this.rank * profileStride);
  }

  private get nParams(): number {
    return this.params.length;
  }

  /**
   * One step of this rank. Never throws for a failure of the step itself (that is recorded in the
   * shared `failed` flag and `lastError`, so that every rank still reaches every barrier); throws
   * only when a barrier times out (rank 0) or the trainer shuts down.
   */
  runStep(seq: number, batch: ColumnBatch, deadline: number): void {
    const N = this.threads;
    const q = this.rank;
    const ctrl = this.ctrl;
    this.seq = seq;
    this.passedMid = false;
    this.passedClip = this.clip === undefined;
    this.passedEnd = q === 0;
    const B = Atomics.load(ctrl, C_ROWS);
    const step = Atomics.load(ctrl, C_STEP);
    const clock = this.clock;
    if (clock !== null && q !== 0) {
      // Rank 0 wrote the time of its start signal before the signal itself.
      clock.begin(this.profile![0]!);
      clock.lap(P.start);
    }
    // 1. forward and backward on the shard, seeded with its weight n_q / B
    try {
      for (let i = 0; i < this.nParams; i++) {
        const g = this.params[i]!.grad;
        if (g !== null) g.fill(0);
      }
      // The other ranks read this rank's compact gradient until they finish their update, so it is
      // cleared only now: rank 0 hands out a step after every worker arrived at the end barrier
      // and finished reading, and every worker gets it after rank 0 finished its own update.
      this.clearSparse();
      clock?.lap(P.zeroGrads);
      this.dropout.at(this.seed, q, step);
      const g = this.graph;
      g.reset();
      const loss = this.model.loss(g, batch, step);
      clock?.lap(P.forward);
      this.seedGrad[0] = batch.rows / B;
      g.backward(loss, this.seedGrad);
      clock?.lap(P.backward);
      this.losses[q] = loss.data[0]!;
      this.publishAux();
      this.adoptDenseGrads();
      clock?.lap(P.publish);
    } catch (err) {
      this.fail(err);
      for (const t of this.tables) t.zeroGrad();
    }
    this.arrive(C_MID, N * seq, deadline);
    this.passedMid = true;
    clock?.lap(P.waitMid);
    // 2. every rank reads the same flags and losses, so all agree on skipping the update
    const ok = this.allOk() && Number.isFinite(this.batchLoss());
    let clipScale = 1;
    try {
      if (ok) {
        this.reduceDense();
        clock?.lap(P.reduceDense);
        this.reduceSparse();
        clock?.lap(P.reduceSparse);
      }
      if (this.clip !== undefined) {
        this.sqSums[q] = ok ? this.ownSquares() : 0;
        this.arrive(C_CLIP, N * seq, deadline);
        this.passedClip = true;
        let sq = 0;
        for (let r = 0; r < N; r++) sq += this.sqSums[r]!;
        // Every rank sees the same sum, so all skip the update together (clipGradNorm throws on one thread).
        this.gradNotFinite = ok && !Number.isFinite(sq);
        if (!this.gradNotFinite) clipScale = clipFactor(Math.sqrt(sq), this.clip);
      }
      if (ok && !this.gradNotFinite) this.update(clipScale);
      clock?.lap(P.update);
    } catch (err) {
      if (err instanceof ShutdownSignal) throw err;
      this.fail(err);
    }
    if (q !== 0) {
      this.arrive(C_END, (N - 1) * seq, deadline);
      this.passedEnd = true;
      clock?.lap(P.waitEnd);
    }
  }

  /** Puts this rank's tables' compact gradients into their shared parts (see the constructor). */
  partitionSparse(): void {
    this.sparseTables.forEach((ti, i) => {
      const { rows, grad, counts } = this.gradParts[i]!;
      this.tables[ti]!.partitionGrad(this.threads, rows, grad, counts);
    });
  }

  /**
   * Gives this rank's tables their single compact gradient back, for a step rank 0 takes alone
   * with its own optimisers (which read `sparseGrad()`); `partitionSparse` undoes it.
   */
  unpartitionSparse(): void {
    for (const ti of this.sparseTables) this.tables[ti]!.unpartitionGrad();
  }

  /** Clears this rank's compact sparse gradients (only once no other rank reads them). */
  clearSparse(): void {
    for (const ti of this.sparseTables) this.tables[ti]!.zeroGrad();
  }

  private fail(err: unknown): void {
    if (Atomics.load(this.ctrl, failedAt(this.rank)) !== 0) return; // report the first error only
    this.lastError = err;
    this.report(err);
    Atomics.store(this.ctrl, failedAt(this.rank), FAILED_STEP);
  }

  /** For a dying worker: arrives at the barriers of the current step it has not passed. */
  abandon(): void {
    const N = this.threads;
    if (!this.passedMid) this.arrive(C_MID, N * this.seq, 0, false);
    if (!this.passedClip) this.arrive(C_CLIP, N * this.seq, 0, false);
    if (!this.passedEnd) this.arrive(C_END, (N - 1) * this.seq, 0, false);
    this.passedMid = this.passedClip = this.passedEnd = true;
  }

  private publishAux(): void {
    const at = this.rank * (MAX_AUX + 1);
    const a = this.model.auxValues?.();
    const n = a === undefined ? 0 : a.length;
    if (n > MAX_AUX) throw new Error(`parallel: auxValues() returned ${n} values; at most ${MAX_AUX}`);
    this.aux[at] = n;
    for (let i = 0; i < n; i++) this.aux[at + 1 + i] = a![i]!;
  }

  /**
   * The ranks' auxValues() combined like the loss (Σ_r value_r · n_r / B, rank order) into `out`;
   * returns how many there are. Throws when ranks reported different counts.
   */
  combineAux(out: Float64Array): number {
    const B = Atomics.load(this.ctrl, C_ROWS);
    const n = this.aux[0]!;
    out.fill(0, 0, n);
    for (let r = 0; r < this.threads; r++) {
      const at = r * (MAX_AUX + 1);
      if (this.aux[at] !== n)
        throw new Error(`parallel: rank ${r} reported ${this.aux[at]} aux values, rank 0 reported ${n}`);
      const w = Atomics.load(this.ctrl, shardRowsAt(r)) / B;
      for (let i = 0; i < n; i++) out[i] += this.aux[at + 1 + i]! * w;
    }
    return n;
  }

  /** Sum over ranks of shard loss × n_r / B, in rank order: the full-batch mean loss. */
  batchLoss(): number {
    const B = Atomics.load(this.ctrl, C_ROWS);
    let loss = 0;
    for (let r = 0; r < this.threads; r++) {
      const rows = Atomics.load(this.ctrl, shardRowsAt(r));
      loss += (this.losses[r]! * rows) / B;
    }
    return loss;
  }

  private allOk(): boolean {
    for (let r = 0; r < this.threads; r++) if (Atomics.load(this.ctrl, failedAt(r)) !== 0) return false;
    return true;
  }

  /**
   * The graph allocates a parameter's gradient the first time a backward pass reaches it (until
   * then it is null and optimisers skip the parameter, as in PyTorch); from then on the rank's
   * gradient lives in its shared buffer, where the owners of each range read it.
   */
  private adoptDenseGrads(): void {
    const base = this.rank * this.nParams;
    for (let i = 0; i < this.nParams; i++) {
      const p = this.params[i]!;
      const shared = this.ownGrads[i]!;
      if (p.grad === null) continue;
      if (p.grad !== shared) {
        shared.set(p.grad);
        p.grad = shared;
      }
      this.reached[base + i] = 1;
    }
  }

  private reachedByAny(param: number): boolean {
    for (let r = 0; r < this.threads; r++) if (this.reached[r * this.nParams + param] !== 0) return true;
    return false;
  }

  /**
   * Sums every rank's gradient over the owned ranges into this rank's buffer: its own shard's
   * gradient first, then the others in rank order (a fixed order for a given N, so runs repeat
   * bit for bit; for N = 2 it is the same sum either way, float addition being commutative). The
   * adds go through the kernel seam's copyBlock, which the native provider vectorises.
   */
  private reduceDense(): void {
    const k = getKernels();
    for (const part of this.denseParts) {
      if (!this.reachedByAny(part.param)) continue;
      const { grads, own, n } = part;
      for (let r = 0; r < this.threads; r++)
        if (r !== this.rank) k.copyBlock(grads[r]!, 0, n, own, 0, n, 1, n, true);
    }
  }

  /**
   * Merges the other ranks' gradient rows of the ids this rank owns (id mod N = rank), in rank
   * order, into its own table's part for them, which already holds its own shard's rows. Each rank
   * writes only its own part and reads only the others' parts it owns, so no two threads touch the
   * same rows. The assignment of compact rows and the adds are the embedding backward's own
   * routines (assignSlots, and scatterAddRows with bags of one, which the native provider vectorises).
   */
  private reduceSparse(): void {
    const N = this.threads;
    const q = this.rank;
    const k = getKernels();
    const nTables = this.tables.length;
    for (const ti of this.sparseTables) {
      const t = this.tables[ti]!;
      for (let r = 0; r < N; r++) {
        if (r === q) continue;
        const n = this.sparseCounts[countsAt(r, nTables, N) + ti * N + q]!;
        if (n === 0) continue;
        const ids = this.inRows[r]![ti]!;
        this.ensureScratch(n);
        const dst = t.assignSlots(ids, n, this.scratchSlots);
        k.scatterAddRows(this.inGrads[r]![ti]!, t.dim, ids, this.scratchSlots, n, 1, 0, dst);
      }
    }
  }

  private ensureScratch(n: number): void {
    if (this.scratchSlots.length >= n) return;
    this.scratchSlots = new Int32Array(Math.max(n, this.scratchSlots.length * 2, 1024));
  }

  /** Sum of squares (float64) of the reduced gradient this rank owns. */
  private ownSquares(): number {
    let sq = 0;
    for (const part of this.denseParts) {
      if (!this.reachedByAny(part.param)) continue;
      const g = part.own;
      for (let j = 0; j < part.n; j++) sq += g[j]! * g[j]!;
    }
    for (const ti of this.sparseTables) {
      const t = this.tables[ti]!;
      const { grad, nRows } = t.sparseGradPart(this.rank);
      const n = nRows * t.dim;
      for (let j = 0; j < n; j++) sq += grad[j]! * grad[j]!;
    }
    return sq;
  }

  private update(clipScale: number): void {
    const s = this.scalars;
    for (const part of this.denseParts) {
      if (!this.reachedByAny(part.param)) continue;
      if (clipScale !== 1) for (let j = 0; j < part.n; j++) part.own[j] *= clipScale;
      const o = part.opt;
      applyRule(this.rules[o]!, part.w, part.state, part.own, ROW0, 1, part.n, s[2 * o]!, s[2 * o + 1]!);
    }
    for (const part of this.sparseParts) {
      const t = this.tables[part.table]!;
      const sg = t.sparseGradPart(this.rank);
      if (sg.nRows === 0) continue;
      if (clipScale !== 1) for (let j = 0; j < sg.nRows * t.dim; j++) sg.grad[j] *= clipScale;
      const o = part.opt;
      applyRule(
        this.rules[o]!,
        t.weight.data,
        part.state,
        sg.grad,
        sg.rows,
        sg.nRows,
        t.dim,
        s[2 * o]!,
        s[2 * o + 1]!,
      );
    }
  }

  /**
   * Arrives at a cumulative barrier counter and waits until it reaches `target`. Rank 0 gives up at
   * `deadline` (a worker is dead or stuck); workers give up only at shutdown.
   */
  private arrive(idx: number, target: number, deadline: number, wait = true): void {
    const ctrl = this.ctrl;
    const v = Atomics.add(ctrl, idx, 1) + 1;
    if (v >= target) {
      Atomics.notify(ctrl, idx);
      return;
    }
    if (!wait) return;
    if (!waitAtLeast(ctrl, idx, target, this.rank === 0 ? deadline : Number.POSITIVE_INFINITY)) {
      if (Atomics.load(ctrl, C_SEQ) === SHUTDOWN) throw new ShutdownSignal();
      throw new Error(
        `parallel: a worker did not reach the ${barrierName(idx)} barrier of step ${Atomics.load(ctrl, C_STEP)} in time`,
      );
    }
  }
}

/** Thrown inside a worker when the trainer shuts down while the worker waits at a barrier. */
export class ShutdownSignal extends Error {
  constructor() {
    super('parallel: trainer shut down');
  }
}

function barrierName(idx: number): string {
  return idx === C_MID ? 'after-backward' : idx === C_CLIP ? 'clipping' : 'after-update';
}

/**
 * Waits until ctrl[idx] ≥ target: polls for up to SPIN_MS, then futex sleeps in 100 ms slices (so
 * shutdown and the deadline are noticed). Returns false at the deadline or on shutdown.
 */
export function waitAtLeast(ctrl: Int32Array, idx: number, target: number, deadline: number): boolean {
  if (spinUntil(() => Atomics.load(ctrl, idx) >= target)) return true;
  for (;;) {
    const v = Atomics.load(ctrl, idx);
    if (v >= target) return true;
    if (Atomics.load(ctrl, C_SEQ) === SHUTDOWN || Date.now() > deadline) return false;
    Atomics.wait(ctrl, idx, v, 100);
  }
}

/** A worker's wait for the next start signal: returns the new value of the signal. */
export function waitForStart(ctrl: Int32Array, seen: number): number {
  spinUntil(() => Atomics.load(ctrl, C_SEQ) !== seen);
  for (;;) {
    const v = Atomics.load(ctrl, C_SEQ);
    if (v !== seen) return v;
    Atomics.wait(ctrl, C_SEQ, seen);
  }
}

/** Polls `done` for up to SPIN_MS; true as soon as it holds. */
function spinUntil(done: () => boolean): boolean {
  const end = performance.now() + SPIN_MS;
  do {
    for (let i = 0; i < 64; i++) if (done()) return true;
  } while (performance.now() < end);
  return false;
}

/**
 * Start (in Int32s) of rank r's block of sparse-gradient part counts: every backward pass
 * increments its rank's counts once per new id, so each rank's block gets cache lines of its own,
 * after a line of padding, as in gradLayout.
 */
function countsAt(r: number, nTables: number, N: number): number {
  const LINE = 16; // Int32s per 64-byte line
  return LINE + r * Math.ceil((nTables * N) / LINE) * LINE;
}

/**
 * Where each parameter's gradient lives in a rank's gradient buffer: byte offsets on 64-byte
 * (cache-line) boundaries with a line of padding at both ends. During backward every rank keeps
 * adding into its small gradients (bias columns are summed row by row), so two ranks' gradients
 * must never share a cache line — with one small SharedArrayBuffer per parameter and rank they
 * could, and the line would bounce between the cores on every add.
 */
export function gradLayout(sizes: readonly number[]): { offsets: number[]; bytes: number } {
  const LINE = 64;
  const offsets: number[] = [];
  let at = LINE;
  for (const n of sizes) {
    offsets.push(at);
    at += Math.ceil((4 * n) / LINE) * LINE;
  }
  return { offsets, bytes: at + LINE };
}

const COLUMN_TYPES = { i32: Int32Array, f32: Float32Array, f64: Float64Array } as const;

/** Rank-local views of a rank's input columns. */
export function columnViews(
  cols: Record<string, SharedArrayBuffer>,
  columns: Record<string, ColumnSpec>,
): Record<string, Column> {
  const out: Record<string, Column> = {};
  for (const [name, spec] of Object.entries(columns)) {
    const buf = cols[name]!;
    out[name] =
      spec.type === 'i32'
        ? new Int32Array(buf)
        : spec.type === 'f32'
          ? new Float32Array(buf)
          : new Float64Array(buf);
  }
  return out;
}

/** Replaces a worker model's parameter and table memory by rank 0's shared buffers. */
export function adoptSharedParams(model: Trainable, init: RankInit): void {
  const params = model.store.params();
  const tables = model.store.tables();
  if (params.length !== init.params.length || tables.length !== init.tables.length) {
    throw new Error(
      `worker ${init.rank}: factory built ${params.length} parameters and ${tables.length} tables, rank 0 has ${init.params.length} and ${init.tables.length}`,
    );
  }
  params.forEach((p, i) => {
    const data = new Float32Array(init.params[i]!);
    if (data.length !== p.size)
      throw new Error(
        `worker ${init.rank}: parameter '${p.name}' has ${p.size} values, rank 0's has ${data.length}`,
      );
    p.data = data;
  });
  tables.forEach((t, i) => {
    const data = new Float32Array(init.tables[i]!);
    if (data.length !== t.weight.size)
      throw new Error(`worker ${init.rank}: table '${t.name}' size differs from rank 0's`);
    t.weight.data = data;
  });
}

export class ParallelTrainer {
  private readonly workers: Worker[] = [];
  private readonly errorPorts: MessagePort[] = [];
  private readonly ctrl: Int32Array;
  private readonly graph: Graph;
  /** Rank 0's part of the protocol (threads > 1). */
  private rank0: Rank | null = null;
  private workerCols: Record<string, Column>[] = [];
  private workerInits: RankInit[] = [];
  private scalars: Float64Array = new Float64Array(0);
  private optimizerList: Optimizer[];
  private gen = 0;
  private seq = 0;
  private readonly dropout = new StepRng();
  private closed = false;
  private readonly auxOut = new Float64Array(MAX_AUX);
  private auxCount = 0;
  /** Set when a worker died or a barrier timed out: the trainer cannot continue. */
  private broken: string | null = null;
  /** KDREC_PARALLEL_PROFILE: the phase-time table of every rank, rank 0's clock, steps timed. */
  private readonly profile: Float64Array | null;
  private clock: PhaseClock | null = null;
  private profiledSteps = 0;
  readonly optimizers: Record<string, Optimizer>;

  private constructor(
    readonly model: Trainable,
    readonly threads: number,
    private readonly opts: ParallelTrainerOptions,
  ) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * (C_HEADER + RANK_STRIDE * threads)));
    this.graph = new Graph({ training: true, rng: this.dropout });
    this.optimizers = opts.makeOptimizers(model.store);
    this.optimizerList = Object.values(this.optimizers);
    this.profile = PROFILE ? new Float64Array(new SharedArrayBuffer(8 * profileStride * threads)) : null;
    if (this.profile !== null && threads === 1) this.clock = new PhaseClock(this.profile, 0);
  }

  static async create(opts: ParallelTrainerOptions): Promise<ParallelTrainer> {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) {
      throw new Error(`parallel: threads must be an integer ≥ 1, got ${opts.threads}`);
    }
    if (!Number.isInteger(opts.maxRows) || opts.maxRows < opts.threads) {
      throw new Error(`parallel: maxRows (${opts.maxRows}) must be an integer ≥ threads (${opts.threads})`);
    }
    const model = opts.model ?? (await loadFactory(opts.factory))(opts.factory.config);
    const store = model.store;
    // Move every parameter into shared memory before anything (optimisers, graphs) looks at it.
    if (opts.threads > 1) {
      for (const p of store.params()) p.data = shareFloat32(p.data);
      for (const t of store.tables()) t.weight.data = shareFloat32(t.weight.data);
    }
    const trainer = new ParallelTrainer(model, opts.threads, opts);
    if (opts.threads > 1) {
      try {
        trainer.shareState();
        await trainer.startWorkers();
      } catch (err) {
        await trainer.close();
        throw err;
      }
    }
    return trainer;
  }

  /** Moves the optimisers' state into shared memory and builds the buffers every rank shares. */
  private shareState(): void {
    const { opts, model, threads: N } = this;
    const params = model.store.params();
    const tables = model.store.tables();
    const paramIndex = new Map(params.map((p, i) => [p.name, i]));
    const tableIndex = new Map(tables.map((t, i) => [t.name, i]));
    const shared: SharedOptimizer[] = Object.entries(this.optimizers).map(([name, o]) => {
      if (o.layout === undefined || o.advance === undefined || o.relocateState === undefined) {
        throw new Error(
          `parallel: optimiser '${name}' does not support data-parallel training (it needs layout(), advance() ` +
            'and relocateState(), as Adam, AdamW, Adagrad, SparseAdam and SparseAdagrad have)',
        );
      }
      o.relocateState(shareFloat32);
      const layout = o.layout();
      const index = layout.kind === 'dense' ? paramIndex : tableIndex;
      const targets = layout.targets.map((t) => {
        const i = index.get(t);
        if (i === undefined)
          throw new Error(`parallel: optimiser '${name}' trains '${t}', which is not in the model's store`);
        return i;
      });
      return {
        rule: layout.rule,
        kind: layout.kind,
        targets,
        state: layout.state.map((bs) => bs.map((b) => b.buffer as SharedArrayBuffer)),
      };
    });
    const maxShard = shardRange(opts.maxRows, N, 0)[1];
    const sab = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));
    const base = {
      threads: N,
      factory: opts.factory,
      seed: opts.seed,
      columns: opts.columns,
      maxGradNorm: opts.maxGradNorm,
      ctrl: this.ctrl.buffer as SharedArrayBuffer,
      losses: sab(8 * N),
      aux: sab(8 * N * (MAX_AUX + 1)),
      sqSums: sab(8 * N),
      scalars: sab(16 * shared.length),
      reached: sab(4 * N * params.length),
      sparseCounts: sab(4 * countsAt(N, tables.length, N)),
      params: params.map((p) => p.data.buffer as SharedArrayBuffer),
      tables: tables.map((t) => t.weight.data.buffer as SharedArrayBuffer),
      grads: Array.from({ length: N }, () => sab(gradLayout(params.map((p) => p.size)).bytes)),
      // N parts of ⌈vocab / N⌉ rows each (EmbeddingTable.partitionGrad); only touched pages are backed.
      pubRows: Array.from({ length: N }, () => tables.map((t) => sab(4 * Math.ceil(t.vocab / N) * N))),
      pubGrads: Array.from({ length: N }, () =>
        tables.map((t) => sab(4 * Math.ceil(t.vocab / N) * N * t.dim)),
      ),
      optimizers: shared,
      profile: this.profile === null ? null : (this.profile.buffer as SharedArrayBuffer),
    };
    this.scalars = new Float64Array(base.scalars);
    this.rank0 = new Rank({ ...base, rank: 0, cols: null }, model);
    this.clock = this.rank0.clock;
    for (let r = 1; r < N; r++) {
      const cols: Record<string, SharedArrayBuffer> = {};
      for (const [name, spec] of Object.entries(opts.columns))
        cols[name] = sab(COLUMN_TYPES[spec.type].BYTES_PER_ELEMENT * maxShard * spec.width);
      this.workerCols.push(columnViews(cols, opts.columns));
      this.workerInits.push({ ...base, rank: r, cols });
    }
  }

  private async startWorkers(): Promise<void> {
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const ready: Promise<void>[] = [];
    for (const init of this.workerInits) {
      const r = init.rank;
      const { port1, port2 } = new MessageChannel();
      const w = spawnWorker(new URL(`./parallelWorker${ext}`, import.meta.url), {
        workerData: { init, errors: port2 },
        transferList: [port2],
      });
      this.workers.push(w);
      this.errorPorts.push(port1);
      ready.push(
        new Promise<void>((resolve, reject) => {
          w.once('message', (m: { ready?: boolean; error?: string }) =>
            m.ready ? resolve() : reject(new Error(`parallel: worker ${r} failed to start: ${m.error}`)),
          );
          w.once('error', (e) => reject(new Error(`parallel: worker ${r} failed to start: ${e.message}`)));
          w.once('exit', (code) =>
            reject(new Error(`parallel: worker ${r} exited with code ${code} during start-up`)),
          );
        }),
      );
    }
    await Promise.all(ready);
  }

  /** Steps taken (the next step is number stepCount + 1). */
  get stepCount(): number {
    return this.gen;
  }

  /**
   * Sets the step counter after restoring a checkpoint. Dropout masks are a function of (seed,
   * rank, step), so a resumed run draws the same masks as an uninterrupted one.
   */
  setStepCount(step: number): void {
    if (!Number.isInteger(step) || step < 0)
      throw new Error(`parallel: step count must be an integer ≥ 0, got ${step}`);
    this.gen = step;
  }

  /**
   * One synchronous data-parallel step on `batch`: returns the full-batch mean loss. Throws (naming
   * the step) if the loss is NaN or Inf, before any parameter is changed.
   */
  step(batch: ColumnBatch): number {
    if (this.closed) throw new Error('parallel: trainer is closed');
    if (this.broken !== null) throw new Error(`parallel: trainer cannot continue: ${this.broken}`);
    const B = batch.rows;
    const N = this.threads;
    if (!Number.isInteger(B) || B < 1 || B > this.opts.maxRows) {
      throw new Error(`parallel: batch has ${B} rows; expected between 1 and maxRows (${this.opts.maxRows})`);
    }
    checkBatch(batch, this.opts.columns);
    if (N === 1) return this.stepSingle(batch);
    if (B >= N) return this.stepParallel(batch);
    // Fewer rows than ranks (the last batch of an epoch, say): rank 0 takes the step alone with
    // its optimisers, which hold all the (shared) state; the workers stay parked. Rank 0's gradient
    // buffers still hold the last parallel step's sums, so clear them first.
    // Its tables go back to one compact gradient for that step, as its optimisers expect.
    this.model.store.zeroGrad();
    const rank0 = this.rank0!;
    rank0.unpartitionSparse();
    try {
      return this.stepSingle(batch);
    } finally {
      rank0.unpartitionSparse(); // clears what a failed step may have left
      rank0.partitionSparse();
    }
  }

  private stepSingle(batch: ColumnBatch): number {
    const { store } = this.model;
    const clock = this.clock;
    if (clock !== null) {
      clock.begin(PhaseClock.now());
      this.profiledSteps++;
    }
    this.gen++;
    this.dropout.at(this.opts.seed, 0, this.gen);
    const g = this.graph;
    g.reset();
    let loss: number;
    try {
      const lossT = this.model.loss(g, batch, this.gen);
      clock?.lap(P.forward);
      g.backward(lossT);
      clock?.lap(P.backward);
      loss = lossT.data[0]!;
    } catch (err) {
      store.zeroGrad();
      throw err;
    }
    if (!Number.isFinite(loss)) {
      store.zeroGrad();
      throw new Error(`training step ${this.gen}: loss is ${loss} (NaN or Inf); stopping before the update`);
    }
    const a = this.model.auxValues?.();
    this.auxCount = a === undefined ? 0 : a.length;
    if (this.auxCount > MAX_AUX)
      throw new Error(`parallel: auxValues() returned ${this.auxCount} values; at most ${MAX_AUX}`);
    for (let i = 0; i < this.auxCount; i++) this.auxOut[i] = a![i]!;
    if (this.opts.maxGradNorm !== undefined)
      clipGradNorm(store.params(), store.tables(), this.opts.maxGradNorm);
    for (const opt of this.optimizerList) opt.step();
    clock?.lap(P.update);
    return loss;
  }

  private stepParallel(batch: ColumnBatch): number {
    const N = this.threads;
    const B = batch.rows;
    const ctrl = this.ctrl;
    const rank0 = this.rank0!;
    for (let r = 1; r < N; r++) {
      if (Atomics.load(ctrl, failedAt(r)) === FAILED_DEAD) {
        this.broken = `worker ${r} has stopped: ${this.workerMessage(r)}`;
        throw new Error(`parallel: trainer cannot continue: ${this.broken}`);
      }
    }
    const clock = this.clock;
    if (clock !== null) {
      clock.begin(PhaseClock.now());
      this.profiledSteps++;
    }
    this.gen++;
    this.seq++;
    // Count the step on rank 0's optimisers and publish (lr, t); rolled back if the step fails.
    this.optimizerList.forEach((o, i) => {
      o.advance!(this.scalars, 2 * i);
    });
    Atomics.store(ctrl, C_STEP, this.gen);
    Atomics.store(ctrl, C_ROWS, B);
    for (let r = 0; r < N; r++) {
      const [s, e] = shardRange(B, N, r);
      Atomics.store(ctrl, shardRowsAt(r), e - s);
      Atomics.compareExchange(ctrl, failedAt(r), FAILED_STEP, 0);
      if (r === 0) continue;
      const cols = this.workerCols[r - 1]!;
      for (const [name, spec] of Object.entries(this.opts.columns))
        cols[name]!.set(batch.cols[name]!.subarray(s * spec.width, e * spec.width));
    }
    // Hand out shards 1..N−1 first so workers start while rank 0 computes shard 0.
    if (clock !== null) this.profile![0] = PhaseClock.now();
    Atomics.store(ctrl, C_SEQ, this.seq);
    Atomics.notify(ctrl, C_SEQ);
    clock?.lap(P.handout);
    const [s0, e0] = shardRange(B, N, 0);
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    try {
      rank0.runStep(this.seq, sliceBatch(batch, this.opts.columns, s0, e0), deadline);
      if (!waitAtLeast(ctrl, C_END, (N - 1) * this.seq, deadline))
        throw new Error(`parallel: a worker did not finish step ${this.gen} in time`);
      clock?.lap(P.waitEnd);
    } catch (err) {
      this.broken = err instanceof Error ? err.message : String(err);
      throw err;
    }
    const failure = this.failure(rank0);
    if (failure !== null) {
      this.rollBack();
      throw failure;
    }
    const loss = rank0.batchLoss();
    this.auxCount = rank0.combineAux(this.auxOut);
    if (!Number.isFinite(loss)) {
      this.rollBack();
      throw new Error(`training step ${this.gen}: loss is ${loss} (NaN or Inf); stopping before the update`);
    }
    if (rank0.gradNotFinite) {
      this.rollBack();
      throw new Error(
        `training step ${this.gen}: the gradient norm is NaN or Inf (clipping); stopping before the update`,
      );
    }
    clock?.lap(P.finish);
    return loss;
  }

  /**
   * The model's auxValues() of the last successful step, combined over the shards like the loss.
   * A view, valid until the next step.
   */
  lastAux(): Float64Array {
    return this.auxOut.subarray(0, this.auxCount);
  }

  /** The first failure of this step, rank order: rank 0's own error, or a worker's message. */
  private failure(rank0: Rank): Error | null {
    for (let r = 0; r < this.threads; r++) {
      const f = Atomics.load(this.ctrl, failedAt(r));
      if (f === 0) continue;
      if (r === 0) {
        const e = rank0.lastError;
        return e instanceof Error ? e : new Error(String(e));
      }
      const text = this.workerMessage(r);
      // Drain the other workers' messages, so a later failure never reports a stale one.
      for (let q = r + 1; q < this.threads; q++)
        if (Atomics.load(this.ctrl, failedAt(q)) !== 0) this.workerMessage(q);
      if (f === FAILED_DEAD) this.broken = `worker ${r} has stopped: ${text}`;
      return new Error(`parallel: worker ${r} failed at step ${this.gen}: ${text}`);
    }
    return null;
  }

  private workerMessage(r: number): string {
    const msg = receiveMessageOnPort(this.errorPorts[r - 1]!);
    return (msg?.message as { error?: string } | undefined)?.error ?? 'unknown error';
  }

  /** Undoes advance(): a skipped update does not count as an optimiser step. */
  private rollBack(): void {
    this.optimizerList.forEach((o, i) => {
      o.setStepCount(this.scalars[2 * i + 1]! - 1);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.profile !== null) {
      const ranks = profileStats(this.profile, this.threads, this.profiledSteps);
      const report = { threads: this.threads, kernels: getKernels().name, steps: this.profiledSteps, ranks };
      process.stderr.write(`${JSON.stringify({ parallelProfile: report })}\n`);
    }
    Atomics.store(this.ctrl, C_SEQ, SHUTDOWN);
    Atomics.notify(this.ctrl, C_SEQ);
    for (const idx of [C_MID, C_CLIP, C_END]) Atomics.notify(this.ctrl, idx);
    await Promise.all(this.workers.map((w) => w.terminate()));
    // The model is the caller's: give its tables their own single compact gradient back.
    this.rank0?.unpartitionSparse();
    for (const p of this.errorPorts) p.close();
  }
}

/**
 * Starts a worker module. Compiled (.js) modules start directly. When kdrec runs from its
 * TypeScript sources (tests under tsx), Node 20 workers do not inherit tsx's `--import` loader, so
 * a small bootstrap registers tsx's ESM hooks in the worker before importing the .ts module.
 */
function spawnWorker(url: URL, options: WorkerOptions): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/** Checks that every declared column is present with the declared type and rows × width values. */
export function checkBatch(batch: ColumnBatch, columns: Record<string, ColumnSpec>): void {
  for (const [name, spec] of Object.entries(columns)) {
    const src = batch.cols[name];
    if (src === undefined) throw new Error(`parallel: batch has no column '${name}'`);
    const want = COLUMN_TYPES[spec.type];
    if (!(src instanceof want)) {
      throw new Error(`parallel: column '${name}' must be a ${want.name}, got ${src.constructor.name}`);
    }
    if (src.length !== batch.rows * spec.width) {
      throw new Error(
        `parallel: column '${name}' has ${src.length} values, expected rows × width = ${batch.rows} × ${spec.width}`,
      );
    }
  }
}

/**
 * The dropout stream of one rank at one step: new Rng(seed).fork(`rank${r}/step${s}`), behind a
 * fixed object so the rank's Graph (which holds its rng for life) can keep its buffer arena.
 */
export class StepRng {
  private rng = new Rng(0);
  at(seed: number, rank: number, step: number): void {
    this.rng = new Rng(seed).fork(`rank${rank}/step${step}`);
  }
  nextFloat(): number {
    return this.rng.nextFloat();
  }
}

/** A row range of a (checked) batch as views (no copy). */
export function sliceBatch(
  batch: ColumnBatch,
  columns: Record<string, ColumnSpec>,
  s: number,
  e: number,
): ColumnBatch {
  const cols: Record<string, Column> = {};
  for (const [name, spec] of Object.entries(columns))
    cols[name] = batch.cols[name]!.subarray(s * spec.width, e * spec.width);
  return { rows: e - s, cols };
}
