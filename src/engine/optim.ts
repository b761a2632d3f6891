/**
 * Optimisers. Dense: Adam (Kingma & Ba, ICLR 2015, Algorithm 1), AdamW (Loshchilov & Hutter,
 * ICLR 2019, Algorithm 2: decoupled weight decay), Adagrad (Duchi, Hazan & Singer, JMLR 2011).
 * Sparse, for embedding tables: lazy Adam and Adagrad that update only the rows a batch touched —
 * the moments of untouched rows are neither decayed nor applied, as in PyTorch's SparseAdam and
 * TensorFlow Addons' LazyAdam. The bias corrections use the optimiser's global step count (as both
 * of those do), not a per-row count.
 *
 * All arithmetic goes through the kernel seam (`adamRows` / `adagradRows`); a dense tensor of n
 * values is one "row" of width n. `step()` applies the accumulated gradients and then clears them
 * (dense `grad` zeroed, tables' sparse gradients reset), so a training step is
 * forward → backward → [clipGradNorm] → step for every optimiser.
 *
 * State (moments, accumulators, step count) is exposed by `state()` as live named buffers so that
 * checkpoints can save and restore it in place.
 */
import type { EmbeddingTable } from './embedding.js';
import { getKernels } from './kernels/index.js';
import { type LearningRate, lrAt } from './schedules.js';
import type { Tensor } from './tensor.js';

export interface StateBuffer {
  shape: readonly number[];
  data: Float32Array;
}

export interface OptimizerState {
  /** Steps taken so far (the next step uses bias corrections for step + 1). */
  step: number;
  /** Named state buffers, e.g. 'm/user.0.W'; live references, restored in place by `setState`. */
  buffers: Record<string, StateBuffer>;
}

export interface Optimizer {
  /** Applies the accumulated gradients, then clears them. */
  step(): void;
  /** Learning rate the next step will use. */
  currentLr(): number;
  state(): OptimizerState;
  /** Sets the step count (the buffers are restored by writing into `state().buffers`). */
  setStepCount(step: number): void;
}

export interface AdamOptions {
  lr: LearningRate;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

function checkAdam(name: string, b1: number, b2: number, eps: number): void {
  if (!(b1 >= 0 && b1 < 1)) throw new Error(`${name}: beta1 must be in [0, 1), got ${b1}`);
  if (!(b2 >= 0 && b2 < 1)) throw new Error(`${name}: beta2 must be in [0, 1), got ${b2}`);
  if (!(eps > 0)) throw new Error(`${name}: eps must be > 0, got ${eps}`);
}

function checkStep(name: string, step: number): void {
  if (!Number.isInteger(step) || step < 0)
    throw new Error(`${name}: step count must be an integer ≥ 0, got ${step}`);
}

const ROW0 = Int32Array.of(0);

abstract class StepCounter {
  protected t = 0;
  constructor(
    protected readonly kind: string,
    protected readonly lr: LearningRate,
  ) {}
  currentLr(): number {
    return lrAt(this.lr, this.t);
  }
  setStepCount(step: number): void {
    checkStep(this.kind, step);
    this.t = step;
  }
}

/** Dense Adam; with weightDecay > 0 it is AdamW (decoupled decay: w −= lr·wd·w). */
export class Adam extends StepCounter implements Optimizer {
  protected readonly b1: number;
  protected readonly b2: number;
  protected readonly eps: number;
  protected weightDecay = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(
    private readonly params: Tensor[],
    opts: AdamOptions,
  ) {
    super('Adam', opts.lr);
    this.b1 = opts.beta1 ?? 0.9;
    this.b2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    checkAdam(this.kind, this.b1, this.b2, this.eps);
    this.m = params.map((p) => new Float32Array(p.size));
    this.v = params.map((p) => new Float32Array(p.size));
  }

  step(): void {
    const lr = lrAt(this.lr, this.t);
    this.t++;
    const bc1 = 1 - this.b1 ** this.t;
    const bc2 = 1 - this.b2 ** this.t;
    const k = getKernels();
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]!;
      if (p.grad === null) continue; // not reached by this step's graph: no update, as in PyTorch
      k.adamRows(
        p.data,
        this.m[i]!,
        this.v[i]!,
        p.grad,
        ROW0,
        1,
        p.size,
        lr,
        this.b1,
        this.b2,
        this.eps,
        bc1,
        bc2,
        this.weightDecay,
      );
      p.grad.fill(0);
    }
  }

  state(): OptimizerState {
    const buffers: Record<string, StateBuffer> = {};
    this.params.forEach((p, i) => {
      buffers[`m/${p.name}`] = { shape: p.shape, data: this.m[i]! };
      buffers[`v/${p.name}`] = { shape: p.shape, data: this.v[i]! };
    });
    return { step: this.t, buffers };
  }
}

export class AdamW extends Adam {
  constructor(params: Tensor[], opts: AdamOptions & { weightDecay?: number }) {
    super(params, opts);
    const wd = opts.weightDecay ?? 0.01;
    if (!(wd >= 0)) throw new Error(`AdamW: weightDecay must be ≥ 0, got ${wd}`);
    this.weightDecay = wd;
  }
}

export interface AdagradOptions {
  lr: LearningRate;
  eps?: number;
  /** Starting accumulator value (PyTorch 0, TensorFlow 0.1). */
  initialAccumulator?: number;
}

function checkAdagrad(name: string, eps: number, init: number): void {
  if (!(eps > 0)) throw new Error(`${name}: eps must be > 0, got ${eps}`);
  if (!(init >= 0)) throw new Error(`${name}: initialAccumulator must be ≥ 0, got ${init}`);
}

export class Adagrad extends StepCounter implements Optimizer {
  private readonly eps: number;
  private readonly acc: Float32Array[];

  constructor(
    private readonly params: Tensor[],
    opts: AdagradOptions,
  ) {
    super('Adagrad', opts.lr);
    this.eps = opts.eps ?? 1e-10;
    const init = opts.initialAccumulator ?? 0;
    checkAdagrad(this.kind, this.eps, init);
    this.acc = params.map((p) => new Float32Array(p.size).fill(init));
  }

  step(): void {
    const lr = lrAt(this.lr, this.t);
    this.t++;
    const k = getKernels();
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]!;
      if (p.grad === null) continue;
      k.adagradRows(p.data, this.acc[i]!, p.grad, ROW0, 1, p.size, lr, this.eps);
      p.grad.fill(0);
    }
  }

  state(): OptimizerState {
    const buffers: Record<string, StateBuffer> = {};
    this.params.forEach((p, i) => {
      buffers[`acc/${p.name}`] = { shape: p.shape, data: this.acc[i]! };
    });
    return { step: this.t, buffers };
  }
}

/** Lazy Adam over embedding tables: only rows in `table.sparseGrad()` change. */
export class SparseAdam extends StepCounter implements Optimizer {
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(
    private readonly tables: EmbeddingTable[],
    opts: AdamOptions,
  ) {
    super('SparseAdam', opts.lr);
    this.b1 = opts.beta1 ?? 0.9;
    this.b2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    checkAdam(this.kind, this.b1, this.b2, this.eps);
    this.m = tables.map((t) => new Float32Array(t.weight.size));
    this.v = tables.map((t) => new Float32Array(t.weight.size));
  }

  step(): void {
    const lr = lrAt(this.lr, this.t);
    this.t++;
    const bc1 = 1 - this.b1 ** this.t;
    const bc2 = 1 - this.b2 ** this.t;
    const k = getKernels();
    for (let i = 0; i < this.tables.length; i++) {
      const t = this.tables[i]!;
      const sg = t.sparseGrad();
      if (sg.nRows > 0) {
        k.adamRows(
          t.weight.data,
          this.m[i]!,
          this.v[i]!,
          sg.grad,
          sg.rows,
          sg.nRows,
          t.dim,
          lr,
          this.b1,
          this.b2,
          this.eps,
          bc1,
          bc2,
          0,
        );
      }
      t.zeroGrad();
    }
  }

  state(): OptimizerState {
    const buffers: Record<string, StateBuffer> = {};
    this.tables.forEach((t, i) => {
      buffers[`m/${t.name}`] = { shape: t.weight.shape, data: this.m[i]! };
      buffers[`v/${t.name}`] = { shape: t.weight.shape, data: this.v[i]! };
    });
    return { step: this.t, buffers };
  }
}

/** Sparse Adagrad over embedding tables: only touched rows' accumulators and weights change. */
export class SparseAdagrad extends StepCounter implements Optimizer {
  private readonly eps: number;
  private readonly acc: Float32Array[];

  constructor(
    private readonly tables: EmbeddingTable[],
    opts: AdagradOptions,
  ) {
    super('SparseAdagrad', opts.lr);
    this.eps = opts.eps ?? 1e-10;
    const init = opts.initialAccumulator ?? 0;
    checkAdagrad(this.kind, this.eps, init);
    this.acc = tables.map((t) => new Float32Array(t.weight.size).fill(init));
  }

  step(): void {
    const lr = lrAt(this.lr, this.t);
    this.t++;
    const k = getKernels();
    for (let i = 0; i < this.tables.length; i++) {
      const t = this.tables[i]!;
      const sg = t.sparseGrad();
      if (sg.nRows > 0)
        k.adagradRows(t.weight.data, this.acc[i]!, sg.grad, sg.rows, sg.nRows, t.dim, lr, this.eps);
      t.zeroGrad();
    }
  }

  state(): OptimizerState {
    const buffers: Record<string, StateBuffer> = {};
    this.tables.forEach((t, i) => {
      buffers[`acc/${t.name}`] = { shape: t.weight.shape, data: this.acc[i]! };
    });
    return { step: this.t, buffers };
  }
}

/**
 * Scales all gradients (dense and the tables' compact sparse ones) so their global L2 norm is at
 * most maxNorm (Pascanu et al., ICML 2013, §3.2; same formula as torch.nn.utils.clip_grad_norm_:
 * factor maxNorm / (norm + 1e-6) when norm > maxNorm). Returns the norm before clipping.
 * A non-finite gradient throws, naming the parameter, instead of silently poisoning the weights.
 */
export function clipGradNorm(
  params: readonly Tensor[],
  tables: readonly EmbeddingTable[],
  maxNorm: number,
): number {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  let sq = 0;
  for (const p of params) {
    const g = p.grad;
    if (g === null) continue;
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
    if (!Number.isFinite(s))
      throw new Error(`clipGradNorm: gradient of '${p.name}' is not finite (NaN or Inf)`);
    sq += s;
  }
  for (const t of tables) {
    const { grad, nRows } = t.sparseGrad();
    const n = nRows * t.dim;
    let s = 0;
    for (let i = 0; i < n; i++) s += grad[i]! * grad[i]!;
    if (!Number.isFinite(s))
      throw new Error(`clipGradNorm: gradient of table '${t.name}' is not finite (NaN or Inf)`);
    sq += s;
  }
  const norm = Math.sqrt(sq);
  if (norm > maxNorm) {
    const f = maxNorm / (norm + 1e-6);
    for (const p of params) {
      const g = p.grad;
      if (g !== null) for (let i = 0; i < g.length; i++) g[i] *= f;
    }
    for (const t of tables) {
      const { grad, nRows } = t.sparseGrad();
      const n = nRows * t.dim;
      for (let i = 0; i < n; i++) grad[i] *= f;
    }
  }
  return norm;
}
