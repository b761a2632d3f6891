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
 *
 * Data-parallel training (parallel.ts) splits one optimiser step in two: rank 0 calls `advance()`
 * (the step count and the schedule's learning rate, the only serial part), then every rank applies
 * `applyRule` to the part of the parameters it owns (dense element ranges, table rows by id), with
 * the state moved into SharedArrayBuffers by `relocateState`. Both optimisers' `step()` and the
 * ranks run the same `applyRule`, so the arithmetic is one piece of code.
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
  /**
   * Data-parallel support (optional, so that any optimiser still works on one thread): what the
   * update is and which tensors and state buffers it reads.
   */
  layout?(): OptimizerLayout;
  /**
   * Data-parallel support: counts one step as `step()` would, without touching any parameter, and
   * writes this step's learning rate and new step count to out[offset], out[offset + 1].
   */
  advance?(out: Float64Array, offset: number): void;
  /** Data-parallel support: replaces every state buffer by `move(buffer)` (values kept). */
  relocateState?(move: (a: Float32Array) => Float32Array): void;
}

/** The arithmetic of one optimiser step, independent of which tensors it is applied to. */
export type UpdateRule =
  | { kind: 'adam'; beta1: number; beta2: number; eps: number; weightDecay: number }
  | { kind: 'adagrad'; eps: number };

export interface OptimizerLayout {
  rule: UpdateRule;
  /** 'dense': `targets` are parameter names (one flat run each); 'sparse': embedding table names. */
  kind: 'dense' | 'sparse';
  targets: string[];
  /** Per target, the state buffers `applyRule` reads, in its order (adam: m, v; adagrad: acc). */
  state: Float32Array[][];
}

/**
 * One step of `rule` on rows [0, nRows) of width `dim` (a dense run of n values is one row of
 * width n, rows = [0]); `t` is the step count after this step (bias corrections 1 − β^t).
 * `state` are views with the same layout as `w`.
 */
export function applyRule(
  rule: UpdateRule,
  w: Float32Array,
  state: readonly Float32Array[],
  grad: Float32Array,
  rows: Int32Array,
  nRows: number,
  dim: number,
  lr: number,
  t: number,
): void {
  const k = getKernels();
  if (rule.kind === 'adam') {
    k.adamRows(
      w,
      state[0]!,
      state[1]!,
      grad,
      rows,
      nRows,
      dim,
      lr,
      rule.beta1,
      rule.beta2,
      rule.eps,
      1 - rule.beta1 ** t,
      1 - rule.beta2 ** t,
      rule.weightDecay,
    );
  } else {
    k.adagradRows(w, state[0]!, grad, rows, nRows, dim, lr, rule.eps);
  }
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

export const ROW0 = Int32Array.of(0);

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
  /** This step's learning rate; counts the step. */
  protected nextLr(): number {
    const lr = lrAt(this.lr, this.t);
    this.t++;
    return lr;
  }
  advance(out: Float64Array, offset: number): void {
    out[offset] = this.nextLr();
    out[offset + 1] = this.t;
  }
}

function pairs(a: Float32Array[], b: Float32Array[]): Float32Array[][] {
  return a.map((x, i) => [x, b[i]!]);
}

function relocate(buffers: Float32Array[], move: (a: Float32Array) => Float32Array): void {
  for (let i = 0; i < buffers.length; i++) buffers[i] = move(buffers[i]!);
}

/** Dense Adam; with weightDecay > 0 it is AdamW (decoupled decay: w −= lr·wd·w). */
export class Adam extends StepCounter implements Optimizer {
  protected readonly b1: number;
  protected readonly b2: number;
  protected readonly eps: number;
  protected weightDecay = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  /** [m, v] per parameter, as applyRule reads them. */
  private mv: Float32Array[][];

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
    this.mv = pairs(this.m, this.v);
  }

  private rule(): UpdateRule {
    return { kind: 'adam', beta1: this.b1, beta2: this.b2, eps: this.eps, weightDecay: this.weightDecay };
  }

  step(): void {
    const lr = this.nextLr();
    const rule = this.rule();
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]!;
      if (p.grad === null) continue; // not reached by this step's graph: no update, as in PyTorch
      applyRule(rule, p.data, this.mv[i]!, p.grad, ROW0, 1, p.size, lr, this.t);
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

  layout(): OptimizerLayout {
    return {
      rule: this.rule(),
      kind: 'dense',
      targets: this.params.map((p) => p.name),
      state: this.mv,
    };
  }

  relocateState(move: (a: Float32Array) => Float32Array): void {
    relocate(this.m, move);
    relocate(this.v, move);
    this.mv = pairs(this.m, this.v);
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
  /** [acc] per target, as applyRule reads it. */
  private accs: Float32Array[][];

  constructor(
    private readonly params: Tensor[],
    opts: AdagradOptions,
  ) {
    super('Adagrad', opts.lr);
    this.eps = opts.eps ?? 1e-10;
    const init = opts.initialAccumulator ?? 0;
    checkAdagrad(this.kind, this.eps, init);
    this.acc = params.map((p) => new Float32Array(p.size).fill(init));
    this.accs = this.acc.map((a) => [a]);
  }

  step(): void {
    const lr = this.nextLr();
    const rule: UpdateRule = { kind: 'adagrad', eps: this.eps };
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]!;
      if (p.grad === null) continue;
      applyRule(rule, p.data, this.accs[i]!, p.grad, ROW0, 1, p.size, lr, this.t);
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

  layout(): OptimizerLayout {
    return {
      rule: { kind: 'adagrad', eps: this.eps },
      kind: 'dense',
      targets: this.params.map((p) => p.name),
      state: this.accs,
    };
  }

  relocateState(move: (a: Float32Array) => Float32Array): void {
    relocate(this.acc, move);
    this.accs = this.acc.map((a) => [a]);
  }
}

/** Lazy Adam over embedding tables: only rows in `table.sparseGrad()` change. */
export class SparseAdam extends StepCounter implements Optimizer {
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private mv: Float32Array[][];

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
    this.mv = pairs(this.m, this.v);
  }

  private rule(): UpdateRule {
    return { kind: 'adam', beta1: this.b1, beta2: this.b2, eps: this.eps, weightDecay: 0 };
  }

  step(): void {
    const lr = this.nextLr();
    const rule = this.rule();
    for (let i = 0; i < this.tables.length; i++) {
      const t = this.tables[i]!;
      const sg = t.sparseGrad();
      if (sg.nRows > 0)
        applyRule(rule, t.weight.data, this.mv[i]!, sg.grad, sg.rows, sg.nRows, t.dim, lr, this.t);
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

  layout(): OptimizerLayout {
    return {
      rule: this.rule(),
      kind: 'sparse',
      targets: this.tables.map((t) => t.name),
      state: this.mv,
    };
  }

  relocateState(move: (a: Float32Array) => Float32Array): void {
    relocate(this.m, move);
    relocate(this.v, move);
    this.mv = pairs(this.m, this.v);
  }
}

/** Sparse Adagrad over embedding tables: only touched rows' accumulators and weights change. */
export class SparseAdagrad extends StepCounter implements Optimizer {
  private readonly eps: number;
  private readonly acc: Float32Array[];
  /** [acc] per target, as applyRule reads it. */
  private accs: Float32Array[][];

  constructor(
    private readonly tables: EmbeddingTable[],
    opts: AdagradOptions,
  ) {
    super('SparseAdagrad', opts.lr);
    this.eps = opts.eps ?? 1e-10;
    const init = opts.initialAccumulator ?? 0;
    checkAdagrad(this.kind, this.eps, init);
    this.acc = tables.map((t) => new Float32Array(t.weight.size).fill(init));
    this.accs = this.acc.map((a) => [a]);
  }

  step(): void {
    const lr = this.nextLr();
    const rule: UpdateRule = { kind: 'adagrad', eps: this.eps };
    for (let i = 0; i < this.tables.length; i++) {
      const t = this.tables[i]!;
      const sg = t.sparseGrad();
      if (sg.nRows > 0)
        applyRule(rule, t.weight.data, this.accs[i]!, sg.grad, sg.rows, sg.nRows, t.dim, lr, this.t);
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

  layout(): OptimizerLayout {
    return {
      rule: { kind: 'adagrad', eps: this.eps },
      kind: 'sparse',
      targets: this.tables.map((t) => t.name),
      state: this.accs,
    };
  }

  relocateState(move: (a: Float32Array) => Float32Array): void {
    relocate(this.acc, move);
    this.accs = this.acc.map((a) => [a]);
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
  const norm = Math.sqrt(gradSquares(params, tables));
  scaleGrads(params, tables, clipFactor(norm, maxNorm));
  return norm;
}

/**
 * Σ g² over the dense gradients and the tables' compact sparse gradients (clipGradNorm's norm²;
 * a row-sharded job adds the ranks' sums of their owned rows). Throws, naming the tensor, when a
 * gradient is not finite.
 */
export function gradSquares(params: readonly Tensor[], tables: readonly EmbeddingTable[]): number {
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
  return sq;
}

/** Multiplies every dense and compact sparse gradient by f (nothing to do when f = 1). */
export function scaleGrads(params: readonly Tensor[], tables: readonly EmbeddingTable[], f: number): void {
  if (f === 1) return;
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

/** The factor clipGradNorm scales every gradient by, given the global norm: 1 when within bounds. */
export function clipFactor(norm: number, maxNorm: number): number {
  return norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}
