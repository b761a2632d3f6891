/**
 * Tape-based reverse-mode automatic differentiation (one forward/backward pass per Graph use).
 *
 * Every op computes its output eagerly and, if any input requires a gradient, pushes a backward
 * closure onto the tape; `backward(loss)` seeds d(loss)/d(loss) = 1 and runs the tape in reverse
 * (Griewank & Walther, "Evaluating Derivatives", ch. 3: the adjoint of each elementary operation,
 * accumulated). Gradients accumulate (+=) into `.grad`, so a tensor used twice sums both
 * contributions.
 *
 * Memory: op outputs and intermediate gradients are taken from an arena owned by the Graph,
 * keyed by length; `reset()` returns them all, so a training step that rebuilds the same graph
 * allocates no Float32Array after its first step (`arenaAllocations` counts real allocations).
 * Consequently a tensor produced by a Graph is only valid until the next `reset()`: copy out
 * what must outlive the step. Parameters (leaf tensors with requiresGrad, not produced by a
 * Graph) keep their own persistent `grad` buffer; the optimiser zeroes it. Embedding tables get
 * their compact sparse gradient (see embedding.ts).
 *
 * Shapes: rank 1 `[B]` or rank 2 `[B, D]`. Row-wise ops (softmax, l2Normalize, layerNorm) treat a
 * rank-1 tensor as a single row; losses treat a rank-1 tensor as a batch of B scalars.
 */
import type { EmbeddingTable } from './embedding.js';
import { getKernels } from './kernels/index.js';
import type { Kernels } from './kernels/types.js';
import { shapeStr, Tensor } from './tensor.js';

/** A seeded uniform source in [0, 1) (the engine's Rng satisfies it). */
export interface UniformSource {
  nextFloat(): number;
}

export interface GraphOptions {
  /** Training mode: dropout is active. In eval mode dropout is the identity. */
  training: boolean;
  /** Required for dropout in training mode, so masks are reproducible from the run's seed. */
  rng?: UniformSource;
  /** Kernel provider; defaults to the active one from kernels/index.ts. */
  kernels?: Kernels;
  /**
   * False records no tape (evaluation, serving, a frozen teacher's forward): outputs never require
   * grad and `backward` is unavailable. Default true.
   */
  grad?: boolean;
}

export interface KlDivOptions {
  /** Softening temperature T > 0 applied to both student and teacher logits. */
  temperature: number;
  /** True: logits are [B] and each row is the two-class distribution [1 − σ(x/T), σ(x/T)]. */
  binary: boolean;
  /**
   * Multiply the loss by T² (default true), as Hinton et al. 2015 ("Distilling the Knowledge in a
   * Neural Network", §2) recommend so the soft-target gradient (which scales as 1/T) keeps its
   * magnitude relative to a hard-label term when T changes.
   */
  t2Scale?: boolean;
}

export type PoolMode = 'sum' | 'mean';

/** The activation `Graph.linear` can fuse into a dense layer. */
export type LinearActivation = 'relu' | 'none';

/** A tensor computed by a Graph: its data (and gradient) live in the Graph's arena. */
class Node extends Tensor {}

/** Free lists of typed arrays keyed by length; `recycle()` returns everything handed out. */
class BufferPool<T extends Float32Array | Int32Array> {
  private readonly free = new Map<number, T[]>();
  private readonly used: T[] = [];
  allocations = 0;
  constructor(private readonly make: (n: number) => T) {}

  take(n: number): T {
    const list = this.free.get(n);
    let buf = list === undefined ? undefined : list.pop();
    if (buf === undefined) {
      buf = this.make(n);
      this.allocations++;
    }
    this.used.push(buf);
    return buf;
  }

  recycle(): void {
    for (const buf of this.used) {
      let list = this.free.get(buf.length);
      if (list === undefined) {
        list = [];
        this.free.set(buf.length, list);
      }
      list.push(buf);
    }
    this.used.length = 0;
  }
}

/** Elementwise broadcast of b over a: index of b = r·rowStride + d·colStride for a[r, d]. */
interface Broadcast {
  rows: number;
  cols: number;
  rowStride: number;
  colStride: number;
}

type Binary = 'add' | 'sub' | 'mul';

export class Graph {
  readonly training: boolean;
  /** Whether ops record the backward tape (GraphOptions.grad). */
  readonly recordsGrad: boolean;
  private readonly rng: UniformSource | undefined;
  private readonly k: Kernels;
  private readonly f32 = new BufferPool((n) => new Float32Array(n));
  private readonly i32 = new BufferPool((n) => new Int32Array(n));
  private readonly tape: (() => void)[] = [];
  /** Graph outputs given an arena gradient this step; reset() detaches them from the recycled buffers. */
  private readonly gradNodes: Node[] = [];
  private backwardDone = false;

  constructor(options: GraphOptions) {
    this.training = options.training;
    this.recordsGrad = options.grad ?? true;
    this.rng = options.rng;
    this.k = options.kernels ?? getKernels();
  }

  /** Number of typed arrays this Graph has really allocated (not recycled) since construction. */
  get arenaAllocations(): number {
    return this.f32.allocations + this.i32.allocations;
  }

  /** Number of recorded backward steps (for tests and diagnostics). */
  get tapeLength(): number {
    return this.tape.length;
  }

  /** Forgets the tape and recycles every buffer; tensors produced before are invalid after this. */
  reset(): void {
    this.tape.length = 0;
    for (const t of this.gradNodes) t.grad = null;
    this.gradNodes.length = 0;
    this.f32.recycle();
    this.i32.recycle();
    this.backwardDone = false;
  }

  /** True iff every value of t is finite (the trainer uses it to stop on a NaN/Inf loss). */
  static isFinite(t: Tensor): boolean {
    const x = t.data;
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
    return true;
  }

  /**
   * Runs the tape in reverse. `output` must be a one-value loss, unless `seed` (d(objective)/d(output),
   * same length as output) is given.
   */
  backward(output: Tensor, seed?: Float32Array): void {
    if (this.backwardDone) throw new Error('backward: already run on this graph; call reset() first');
    if (!output.requiresGrad) {
      throw new Error(
        `backward: output ${shapeStr(output)} does not depend on any tensor that requires grad`,
      );
    }
    const g = this.gradOf(output);
    if (seed === undefined) {
      if (output.size !== 1) {
        throw new Error(`backward: output ${shapeStr(output)} is not a scalar loss; pass a seed gradient`);
      }
      g[0] += 1;
    } else {
      if (seed.length !== output.size) {
        throw new Error(`backward: seed has ${seed.length} values for output ${shapeStr(output)}`);
      }
      for (let i = 0; i < seed.length; i++) g[i] += seed[i];
    }
    this.backwardDone = true;
    for (let i = this.tape.length - 1; i >= 0; i--) this.tape[i]();
  }

  // ---------------------------------------------------------------- plumbing

  private out(shape: readonly number[], requiresGrad: boolean): Node {
    let n = 1;
    for (const d of shape) n *= d;
    return new Node(this.f32.take(n), shape, requiresGrad && this.recordsGrad);
  }

  /** The gradient buffer of t: arena-backed (zeroed) for graph outputs, persistent for parameters. */
  private gradOf(t: Tensor): Float32Array {
    if (t.grad !== null) return t.grad;
    if (t instanceof Node) {
      const g = this.f32.take(t.size);
      g.fill(0);
      t.grad = g;
      this.gradNodes.push(t);
      return g;
    }
    return t.ensureGrad();
  }

  /**
   * For a graph output that has no gradient yet, hands out an uninitialised arena buffer as its
   * gradient and returns it: the caller must then WRITE every value (=, or sgemm with beta 0)
   * instead of accumulating, which saves the zero fill and a read per value. Returns null when t
   * already has a gradient (another consumer ran first) or is a parameter: accumulate into
   * gradOf(t) then. Backward runs consumers in reverse, so the first one to run gets the fresh
   * buffer; every path is covered by the shared-intermediate gradient test.
   */
  private freshGrad(t: Tensor): Float32Array | null {
    if (t.grad !== null || !(t instanceof Node)) return null;
    const g = this.f32.take(t.size);
    t.grad = g;
    this.gradNodes.push(t);
    return g;
  }

  private record(out: Tensor, fn: () => void): void {
    if (out.requiresGrad) this.tape.push(fn);
  }

  // ---------------------------------------------------------------- inputs

  /** Wraps data (no copy) as a constant input. */
  input(data: Float32Array, shape: readonly number[]): Tensor {
    return new Tensor(data, shape, false);
  }

  /** Stop-gradient: same data (no copy), never receives gradient. */
  detach(a: Tensor): Tensor {
    return new Tensor(a.data, a.shape, false, a.name);
  }

  /** Same data viewed with another shape of the same size (e.g. a [B] column as [B, 1]). */
  reshape(a: Tensor, shape: readonly number[]): Tensor {
    let n = 1;
    for (const d of shape) n *= d;
    if (n !== a.size)
      throw new Error(`reshape: shapes ${shapeStr(a)} and [${shape.join(', ')}] differ in size`);
    const out = new Node(a.data, shape, a.requiresGrad && this.recordsGrad);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      for (let i = 0; i < go.length; i++) ga[i] += go[i];
    });
    return out;
  }

  // ---------------------------------------------------------------- matrix products

  /** op(a)·op(b) with op(X) = X or Xᵀ; both rank 2. */
  matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
    if (a.shape.length !== 2 || b.shape.length !== 2) {
      throw new Error(`matmul: shapes ${shapeStr(a)} and ${shapeStr(b)} must both be rank 2`);
    }
    const M = transA ? a.shape[1] : a.shape[0];
    const K = transA ? a.shape[0] : a.shape[1];
    const Kb = transB ? b.shape[1] : b.shape[0];
    const N = transB ? b.shape[0] : b.shape[1];
    if (K !== Kb) {
      throw new Error(
        `matmul: shapes ${shapeStr(a)} and ${shapeStr(b)} have inner dimensions ${K} and ${Kb} (transA=${transA}, transB=${transB})`,
      );
    }
    const out = this.out([M, N], a.requiresGrad || b.requiresGrad);
    const k = this.k;
    k.sgemm(transA, transB, M, N, K, 1, a.data, b.data, 0, out.data);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      // Adjoints of C = op(A)·op(B), written straight into the grads with beta = 1 (accumulate).
      if (a.requiresGrad) {
        const fresh = this.freshGrad(a);
        const ga = fresh ?? this.gradOf(a);
        const beta = fresh === null ? 1 : 0;
        if (!transA) {
          // dA (M×K) = dC · op(B)ᵀ
          k.sgemm(false, !transB, M, K, N, 1, go, b.data, beta, ga);
        } else {
          // A stored K×M: dA = op(B) · dCᵀ
          k.sgemm(transB, true, K, M, N, 1, b.data, go, beta, ga);
        }
      }
      if (b.requiresGrad) {
        const fresh = this.freshGrad(b);
        const gb = fresh ?? this.gradOf(b);
        const beta = fresh === null ? 1 : 0;
        if (!transB) {
          // dB (K×N) = op(A)ᵀ · dC
          k.sgemm(!transA, false, K, N, M, 1, a.data, go, beta, gb);
        } else {
          // B stored N×K: dB = dCᵀ · op(A)
          k.sgemm(true, transA, N, K, M, 1, go, a.data, beta, gb);
        }
      }
    });
    return out;
  }

  /**
   * act(x·W + b) with x [B, in], W [in, out], b [out]; `activation` 'relu' fuses the ReLU into the
   * layer (default 'none': no activation). Same values and gradients as `relu(linear(x, W, b))`,
   * with fewer passes over the [B, out] output: forward is one sgemm plus one bias+ReLU pass
   * (kernel `biasAct`), backward one pass for the ReLU mask and the bias gradient together
   * (`biasActBackward`) before the two sgemms. The ReLU output is the only tensor returned: the
   * pre-activation is not materialised as a graph node.
   */
  linear(x: Tensor, W: Tensor, b?: Tensor, activation: LinearActivation = 'none'): Tensor {
    if (x.shape.length !== 2 || W.shape.length !== 2 || x.shape[1] !== W.shape[0]) {
      throw new Error(
        `linear: shapes ${shapeStr(x)} and ${shapeStr(W)} do not match (need x [B, in], W [in, out])`,
      );
    }
    if (activation !== 'none' && activation !== 'relu') {
      throw new Error(`linear: unknown activation '${String(activation)}' (expected 'relu' or 'none')`);
    }
    const B = x.shape[0];
    const I = W.shape[0];
    const O = W.shape[1];
    if (b !== undefined && (b.shape.length !== 1 || b.shape[0] !== O)) {
      throw new Error(`linear: shapes ${shapeStr(W)} and ${shapeStr(b)} do not match (bias must be [${O}])`);
    }
    const relu = activation === 'relu';
    const out = this.out([B, O], x.requiresGrad || W.requiresGrad || (b?.requiresGrad ?? false));
    const y = out.data;
    const k = this.k;
    if (relu) {
      // The ReLU needs a pass over y anyway, so the bias is added in that same pass.
      k.sgemm(false, false, B, O, I, 1, x.data, W.data, 0, y);
      k.biasAct(y, b === undefined ? this.zeros(O) : b.data, B, O, true);
    } else {
      // Without an activation, preloading the bias rows and accumulating with beta = 1 is one
      // memcpy-speed pass instead of a read-modify-write pass after the product.
      if (b !== undefined) {
        const bd = b.data;
        for (let r = 0; r < B; r++) y.set(bd, r * O);
      }
      k.sgemm(false, false, B, O, I, 1, x.data, W.data, b === undefined ? 0 : 1, y);
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const gBias = b?.requiresGrad ? this.gradOf(b) : null;
      // dZ = d(loss)/d(x·W + b): the ReLU-masked output gradient (written into an arena buffer,
      // computed in the same pass as the bias gradient), or the output gradient itself.
      let gz = go;
      if (relu) {
        gz = this.f32.take(B * O);
        // A bias-free layer's column sums go to a scratch buffer and are discarded.
        k.biasActBackward(go, y, B, O, true, gz, gBias ?? this.f32.take(O));
      } else if (gBias !== null) {
        k.biasActBackward(go, go, B, O, false, go, gBias);
      }
      if (x.requiresGrad) {
        const fresh = this.freshGrad(x);
        k.sgemm(false, true, B, I, O, 1, gz, W.data, fresh === null ? 1 : 0, fresh ?? this.gradOf(x));
      }
      if (W.requiresGrad) k.sgemm(true, false, I, O, B, 1, x.data, gz, 1, this.gradOf(W));
    });
    return out;
  }

  /** A zero-filled arena buffer of n values (a missing bias). */
  private zeros(n: number): Float32Array {
    const z = this.f32.take(n);
    z.fill(0);
    return z;
  }

  /** Row-wise dot product of two [B, D] tensors → [B]. */
  rowDot(a: Tensor, b: Tensor): Tensor {
    if (a.shape.length !== 2 || !sameShape(a, b)) {
      throw new Error(`rowDot: shapes ${shapeStr(a)} and ${shapeStr(b)} must be equal and rank 2`);
    }
    const B = a.shape[0];
    const D = a.shape[1];
    const out = this.out([B], a.requiresGrad || b.requiresGrad);
    const x = a.data;
    const y = b.data;
    const o = out.data;
    for (let r = 0; r < B; r++) {
      let s = 0;
      const off = r * D;
      for (let d = 0; d < D; d++) s += x[off + d] * y[off + d];
      o[r] = s;
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      // d/da = go·b and d/db = go·a, row by row; the first consumer of a (or b) to run writes its
      // gradient without a zero fill (freshGrad), a later one adds. rowDot(a, a) takes both paths.
      if (a.requiresGrad) {
        const fresh = this.freshGrad(a);
        rowScaleInto(go, y, B, D, fresh ?? this.gradOf(a), fresh === null);
      }
      if (b.requiresGrad) {
        const fresh = this.freshGrad(b);
        rowScaleInto(go, x, B, D, fresh ?? this.gradOf(b), fresh === null);
      }
    });
    return out;
  }

  /** u·vᵀ for u [B, D], v [N, D] → [B, N]: every user against every item (in-batch negatives). */
  scoreMatrix(u: Tensor, v: Tensor): Tensor {
    if (u.shape.length !== 2 || v.shape.length !== 2 || u.shape[1] !== v.shape[1]) {
      throw new Error(`scoreMatrix: shapes ${shapeStr(u)} and ${shapeStr(v)} must be [B, D] and [N, D]`);
    }
    const B = u.shape[0];
    const N = v.shape[0];
    const D = u.shape[1];
    const out = this.out([B, N], u.requiresGrad || v.requiresGrad);
    const k = this.k;
    k.sgemm(false, true, B, N, D, 1, u.data, v.data, 0, out.data);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      if (u.requiresGrad) {
        const fresh = this.freshGrad(u);
        k.sgemm(false, false, B, D, N, 1, go, v.data, fresh === null ? 1 : 0, fresh ?? this.gradOf(u));
      }
      if (v.requiresGrad) {
        const fresh = this.freshGrad(v);
        k.sgemm(true, false, N, D, B, 1, go, u.data, fresh === null ? 1 : 0, fresh ?? this.gradOf(v));
      }
    });
    return out;
  }

  // ---------------------------------------------------------------- elementwise

  add(a: Tensor, b: Tensor): Tensor {
    return this.binary('add', a, b);
  }
  sub(a: Tensor, b: Tensor): Tensor {
    return this.binary('sub', a, b);
  }
  mul(a: Tensor, b: Tensor): Tensor {
    return this.binary('mul', a, b);
  }

  /**
   * Broadcast rules (b broadcasts over a; the output has a's shape):
   * equal shapes; b with one value (a scalar); a [B, D] with b [D] or [1, D] (a row, e.g. a bias);
   * a [B, D] with b [B, 1] or b [B] where B ≠ D (a column, e.g. a per-row gate). A rank-1 b whose
   * length equals both B and D is taken as a row: pass a column as [B, 1] (see `reshape`) when
   * B may equal D.
   */
  private broadcast(op: string, a: Tensor, b: Tensor): Broadcast {
    const n = a.size;
    if (sameShape(a, b)) return { rows: 1, cols: n, rowStride: 0, colStride: 1 };
    if (b.size === 1) return { rows: 1, cols: n, rowStride: 0, colStride: 0 };
    if (a.shape.length === 2) {
      const B = a.shape[0];
      const D = a.shape[1];
      const bs = b.shape;
      if ((bs.length === 1 && bs[0] === D) || (bs.length === 2 && bs[0] === 1 && bs[1] === D)) {
        return { rows: B, cols: D, rowStride: 0, colStride: 1 };
      }
      if ((bs.length === 1 && bs[0] === B) || (bs.length === 2 && bs[0] === B && bs[1] === 1)) {
        return { rows: B, cols: D, rowStride: 1, colStride: 0 };
      }
    }
    throw new Error(
      `${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast ` +
        '(need equal shapes, one value, a row [D] / [1, D] or a column [B] / [B, 1])',
    );
  }

  private binary(op: Binary, a: Tensor, b: Tensor): Tensor {
    const { rows: R, cols: D, rowStride: rs, colStride: cs } = this.broadcast(op, a, b);
    const out = this.out(a.shape, a.requiresGrad || b.requiresGrad);
    const x = a.data;
    const y = b.data;
    const o = out.data;
    if (op === 'add') {
      for (let r = 0; r < R; r++) {
        const off = r * D;
        const yo = r * rs;
        for (let d = 0; d < D; d++) o[off + d] = x[off + d] + y[yo + d * cs];
      }
    } else if (op === 'sub') {
      for (let r = 0; r < R; r++) {
        const off = r * D;
        const yo = r * rs;
        for (let d = 0; d < D; d++) o[off + d] = x[off + d] - y[yo + d * cs];
      }
    } else {
      for (let r = 0; r < R; r++) {
        const off = r * D;
        const yo = r * rs;
        for (let d = 0; d < D; d++) o[off + d] = x[off + d] * y[yo + d * cs];
      }
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      if (a.requiresGrad) {
        const ga = this.gradOf(a);
        if (op === 'mul') {
          for (let r = 0; r < R; r++) {
            const off = r * D;
            const yo = r * rs;
            for (let d = 0; d < D; d++) ga[off + d] += go[off + d] * y[yo + d * cs];
          }
        } else {
          for (let i = 0; i < go.length; i++) ga[i] += go[i];
        }
      }
      if (b.requiresGrad) {
        const gb = this.gradOf(b);
        const sign = op === 'sub' ? -1 : 1;
        for (let r = 0; r < R; r++) {
          const off = r * D;
          const yo = r * rs;
          if (op === 'mul') {
            for (let d = 0; d < D; d++) gb[yo + d * cs] += go[off + d] * x[off + d];
          } else {
            for (let d = 0; d < D; d++) gb[yo + d * cs] += sign * go[off + d];
          }
        }
      }
    });
    return out;
  }

  scale(a: Tensor, s: number): Tensor {
    const out = this.out(a.shape, a.requiresGrad);
    const x = a.data;
    const o = out.data;
    for (let i = 0; i < x.length; i++) o[i] = s * x[i];
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      for (let i = 0; i < go.length; i++) ga[i] += s * go[i];
    });
    return out;
  }

  relu(a: Tensor): Tensor {
    const out = this.out(a.shape, a.requiresGrad);
    const x = a.data;
    const o = out.data;
    // Branchless: (v + |v|)/2 is exactly max(v, 0) for float32 v computed in float64, and ~7x faster
    // than a compare on random-sign activations (no mispredicted branches) or Math.max in V8. A NaN
    // stays NaN (so the trainer's finiteness check sees it) instead of being silently zeroed.
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      o[i] = (v + Math.abs(v)) * 0.5;
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      // Branchless step(y): y/(y + 1e-300) is exactly 1 for every positive float32 y (1e-300 is below
      // half an ulp of the smallest float32 denormal in float64) and 0 at y = 0; ~3x faster than `if`.
      const fresh = this.freshGrad(a);
      if (fresh !== null) {
        for (let i = 0; i < go.length; i++) {
          const y = o[i];
          fresh[i] = go[i] * (y / (y + 1e-300));
        }
        return;
      }
      const ga = this.gradOf(a);
      for (let i = 0; i < go.length; i++) {
        const y = o[i];
        ga[i] += go[i] * (y / (y + 1e-300));
      }
    });
    return out;
  }

  /** σ(x), evaluated without overflow: 1/(1+e^−x) for x ≥ 0, e^x/(1+e^x) for x < 0. */
  sigmoid(a: Tensor): Tensor {
    const out = this.out(a.shape, a.requiresGrad);
    const x = a.data;
    const o = out.data;
    for (let i = 0; i < x.length; i++) o[i] = sigmoid(x[i]);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      for (let i = 0; i < go.length; i++) ga[i] += go[i] * o[i] * (1 - o[i]);
    });
    return out;
  }

  /** softplus(x) = log(1 + eˣ), evaluated as max(x, 0) + log1p(e^−|x|); d/dx = σ(x). */
  softplus(a: Tensor): Tensor {
    const out = this.out(a.shape, a.requiresGrad);
    const x = a.data;
    const o = out.data;
    for (let i = 0; i < x.length; i++) o[i] = softplus(x[i]);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      for (let i = 0; i < go.length; i++) ga[i] += go[i] * sigmoid(x[i]);
    });
    return out;
  }

  /** log σ(x) = −softplus(−x), finite for any x (keeps the −e^−x tail for x ≫ 0); d/dx = σ(−x). */
  logSigmoid(a: Tensor): Tensor {
    const out = this.out(a.shape, a.requiresGrad);
    const x = a.data;
    const o = out.data;
    for (let i = 0; i < x.length; i++) o[i] = -softplus(-x[i]);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      for (let i = 0; i < go.length; i++) ga[i] += go[i] * sigmoid(-x[i]);
    });
    return out;
  }

  tanh(a: Tensor): Tensor {
    const out = this.out(a.shape, a.requiresGrad);
    const x = a.data;
    const o = out.data;
    for (let i = 0; i < x.length; i++) o[i] = Math.tanh(x[i]);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      for (let i = 0; i < go.length; i++) ga[i] += go[i] * (1 - o[i] * o[i]);
    });
    return out;
  }

  exp(a: Tensor): Tensor {
    const out = this.out(a.shape, a.requiresGrad);
    const x = a.data;
    const o = out.data;
    for (let i = 0; i < x.length; i++) o[i] = Math.exp(x[i]);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      for (let i = 0; i < go.length; i++) ga[i] += go[i] * o[i];
    });
    return out;
  }

  /** Natural log; non-positive inputs give −Inf/NaN (caught by the trainer's finiteness check). */
  log(a: Tensor): Tensor {
    const out = this.out(a.shape, a.requiresGrad);
    const x = a.data;
    const o = out.data;
    for (let i = 0; i < x.length; i++) o[i] = Math.log(x[i]);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      for (let i = 0; i < go.length; i++) ga[i] += go[i] / x[i];
    });
    return out;
  }

  // ---------------------------------------------------------------- row-wise

  /** Softmax over the last axis, max-subtracted so large logits do not overflow. */
  softmax(a: Tensor): Tensor {
    const D = a.cols;
    const R = D === 0 ? 0 : a.size / D;
    const out = this.out(a.shape, a.requiresGrad);
    const x = a.data;
    const o = out.data;
    for (let r = 0; r < R; r++) {
      const off = r * D;
      let m = Number.NEGATIVE_INFINITY;
      for (let d = 0; d < D; d++) if (x[off + d] > m) m = x[off + d];
      let s = 0;
      for (let d = 0; d < D; d++) {
        const e = Math.exp(x[off + d] - m);
        o[off + d] = e;
        s += e;
      }
      const inv = 1 / s;
      for (let d = 0; d < D; d++) o[off + d] *= inv;
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      // dx = y ⊙ (g − ⟨g, y⟩) per row (Jacobian diag(y) − y yᵀ).
      for (let r = 0; r < R; r++) {
        const off = r * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += go[off + d] * o[off + d];
        for (let d = 0; d < D; d++) ga[off + d] += o[off + d] * (go[off + d] - dot);
      }
    });
    return out;
  }

  /** log softmax over the last axis: x − max − log Σ exp(x − max). */
  logSoftmax(a: Tensor): Tensor {
    const D = a.cols;
    const R = D === 0 ? 0 : a.size / D;
    const out = this.out(a.shape, a.requiresGrad);
    const x = a.data;
    const o = out.data;
    for (let r = 0; r < R; r++) {
      const off = r * D;
      const lse = logSumExp(x, off, D, 1);
      for (let d = 0; d < D; d++) o[off + d] = x[off + d] - lse;
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      // dx = g − softmax(x) · Σ g, with softmax(x) = exp(y).
      for (let r = 0; r < R; r++) {
        const off = r * D;
        let s = 0;
        for (let d = 0; d < D; d++) s += go[off + d];
        for (let d = 0; d < D; d++) ga[off + d] += go[off + d] - Math.exp(o[off + d]) * s;
      }
    });
    return out;
  }

  /** Rows scaled to unit L2 norm: x / max(‖x‖, eps) (as torch.nn.functional.normalize). */
  l2Normalize(a: Tensor, eps = 1e-12): Tensor {
    const D = a.cols;
    const R = D === 0 ? 0 : a.size / D;
    const out = this.out(a.shape, a.requiresGrad);
    const norms = this.f32.take(R);
    const x = a.data;
    const o = out.data;
    for (let r = 0; r < R; r++) {
      const off = r * D;
      let s = 0;
      for (let d = 0; d < D; d++) s += x[off + d] * x[off + d];
      const n = Math.max(Math.sqrt(s), eps);
      norms[r] = n;
      const inv = 1 / n;
      for (let d = 0; d < D; d++) o[off + d] = x[off + d] * inv;
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      for (let r = 0; r < R; r++) {
        const off = r * D;
        const n = norms[r];
        const inv = 1 / n;
        if (n > eps) {
          // d(x/‖x‖) = (g − y⟨g, y⟩)/‖x‖
          let dot = 0;
          for (let d = 0; d < D; d++) dot += go[off + d] * o[off + d];
          for (let d = 0; d < D; d++) ga[off + d] += (go[off + d] - o[off + d] * dot) * inv;
        } else {
          // Clamped branch: y = x/eps is linear in x.
          for (let d = 0; d < D; d++) ga[off + d] += go[off + d] * inv;
        }
      }
    });
    return out;
  }

  /**
   * Layer normalisation over the last axis (Ba, Kiros & Hinton 2016, eq. 4):
   * y = γ ⊙ (x − μ)/sqrt(σ² + eps) + β with the biased variance, γ and β of shape [D].
   */
  layerNorm(a: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
    const D = a.cols;
    if (gamma.shape.length !== 1 || gamma.shape[0] !== D) {
      throw new Error(
        `layerNorm: shapes ${shapeStr(a)} and ${shapeStr(gamma)} do not match (gamma must be [${D}])`,
      );
    }
    if (beta.shape.length !== 1 || beta.shape[0] !== D) {
      throw new Error(
        `layerNorm: shapes ${shapeStr(a)} and ${shapeStr(beta)} do not match (beta must be [${D}])`,
      );
    }
    const R = D === 0 ? 0 : a.size / D;
    const out = this.out(a.shape, a.requiresGrad || gamma.requiresGrad || beta.requiresGrad);
    const means = this.f32.take(R);
    const rstds = this.f32.take(R);
    const x = a.data;
    const gm = gamma.data;
    const bt = beta.data;
    const o = out.data;
    for (let r = 0; r < R; r++) {
      const off = r * D;
      let s = 0;
      for (let d = 0; d < D; d++) s += x[off + d];
      const mu = s / D;
      let v = 0;
      for (let d = 0; d < D; d++) {
        const c = x[off + d] - mu;
        v += c * c;
      }
      const rstd = 1 / Math.sqrt(v / D + eps);
      means[r] = mu;
      rstds[r] = rstd;
      for (let d = 0; d < D; d++) o[off + d] = gm[d] * (x[off + d] - mu) * rstd + bt[d];
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = a.requiresGrad ? this.gradOf(a) : null;
      const gg = gamma.requiresGrad ? this.gradOf(gamma) : null;
      const gb = beta.requiresGrad ? this.gradOf(beta) : null;
      for (let r = 0; r < R; r++) {
        const off = r * D;
        const mu = means[r];
        const rstd = rstds[r];
        let sumG = 0;
        let sumGX = 0;
        for (let d = 0; d < D; d++) {
          const xhat = (x[off + d] - mu) * rstd;
          const g = go[off + d];
          if (gg !== null) gg[d] += g * xhat;
          if (gb !== null) gb[d] += g;
          const gh = g * gm[d];
          sumG += gh;
          sumGX += gh * xhat;
        }
        if (ga !== null) {
          // dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)), ĝ = g ⊙ γ.
          const mG = sumG / D;
          const mGX = sumGX / D;
          for (let d = 0; d < D; d++) {
            const xhat = (x[off + d] - mu) * rstd;
            ga[off + d] += rstd * (go[off + d] * gm[d] - mG - xhat * mGX);
          }
        }
      }
    });
    return out;
  }

  // ---------------------------------------------------------------- reductions and reshaping

  sum(a: Tensor, axis?: 0 | 1): Tensor {
    return this.reduce('sum', a, axis);
  }
  mean(a: Tensor, axis?: 0 | 1): Tensor {
    return this.reduce('mean', a, axis);
  }

  /**
   * axis undefined: all values → [1]; axis 0: over rows, [B, D] → [D] ([B] → [1]);
   * axis 1: over the feature axis, [B, D] → [B].
   */
  private reduce(op: 'sum' | 'mean', a: Tensor, axis: 0 | 1 | undefined): Tensor {
    const rank2 = a.shape.length === 2;
    const R = rank2 ? a.shape[0] : a.size;
    const D = rank2 ? a.shape[1] : 1;
    if (axis === 1 && !rank2)
      throw new Error(`${op}: axis 1 needs a rank-2 tensor, got shape ${shapeStr(a)}`);
    if (axis !== undefined && axis !== 0 && axis !== 1) {
      throw new Error(`${op}: axis must be 0, 1 or undefined, got ${String(axis)} for shape ${shapeStr(a)}`);
    }
    const x = a.data;
    const outShape = axis === undefined ? [1] : axis === 0 ? [D] : [R];
    const out = this.out(outShape, a.requiresGrad);
    const o = out.data;
    const count = axis === undefined ? a.size : axis === 0 ? R : D;
    const f = op === 'mean' ? 1 / Math.max(count, 1) : 1;
    if (axis === undefined) {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += x[i];
      o[0] = s * f;
    } else if (axis === 0) {
      o.fill(0);
      for (let r = 0; r < R; r++) {
        const off = r * D;
        for (let d = 0; d < D; d++) o[d] += x[off + d];
      }
      if (f !== 1) for (let d = 0; d < D; d++) o[d] *= f;
    } else {
      for (let r = 0; r < R; r++) {
        const off = r * D;
        let s = 0;
        for (let d = 0; d < D; d++) s += x[off + d];
        o[r] = s * f;
      }
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      if (axis === undefined) {
        const g = go[0] * f;
        for (let i = 0; i < ga.length; i++) ga[i] += g;
      } else if (axis === 0) {
        for (let r = 0; r < R; r++) {
          const off = r * D;
          for (let d = 0; d < D; d++) ga[off + d] += go[d] * f;
        }
      } else {
        for (let r = 0; r < R; r++) {
          const off = r * D;
          const g = go[r] * f;
          for (let d = 0; d < D; d++) ga[off + d] += g;
        }
      }
    });
    return out;
  }

  /** Concatenates along the feature axis; a rank-1 [B] part counts as one column [B, 1]. */
  concat(parts: readonly Tensor[]): Tensor {
    if (parts.length === 0) throw new Error('concat: needs at least one tensor');
    const B = parts[0].shape[0];
    let W = 0;
    let rq = false;
    for (const p of parts) {
      if (p.shape[0] !== B || p.shape.length > 2) {
        throw new Error(`concat: shapes ${shapeStr(parts[0])} and ${shapeStr(p)} have different row counts`);
      }
      W += p.shape.length === 2 ? p.shape[1] : 1;
      rq ||= p.requiresGrad;
    }
    const out = this.out([B, W], rq);
    const k = this.k;
    let col = 0;
    for (const p of parts) {
      const w = p.shape.length === 2 ? p.shape[1] : 1;
      k.copyBlock(p.data, 0, w, out.data, col, W, B, w, false);
      col += w;
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      let c = 0;
      for (const p of parts) {
        const w = p.shape.length === 2 ? p.shape[1] : 1;
        if (p.requiresGrad) {
          // The first consumer to run writes its column block (no zero fill), later ones add.
          const fresh = this.freshGrad(p);
          k.copyBlock(go, c, W, fresh ?? this.gradOf(p), 0, w, B, w, fresh === null);
        }
        c += w;
      }
    });
    return out;
  }

  /** Columns [start, end) of a [B, D] tensor → [B, end − start]. */
  slice(a: Tensor, start: number, end: number): Tensor {
    if (a.shape.length !== 2) throw new Error(`slice: shape ${shapeStr(a)} must be rank 2`);
    const B = a.shape[0];
    const D = a.shape[1];
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > D || start >= end) {
      throw new Error(`slice: columns [${start}, ${end}) are not a non-empty range of shape ${shapeStr(a)}`);
    }
    const w = end - start;
    const out = this.out([B, w], a.requiresGrad);
    const k = this.k;
    k.copyBlock(a.data, start, D, out.data, 0, w, B, w, false);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      k.copyBlock(go, 0, w, this.gradOf(a), start, D, B, w, true);
    });
    return out;
  }

  // ---------------------------------------------------------------- embeddings and dropout

  /**
   * Pooled lookup: bag b pools table rows ids[b·bagLen .. (b+1)·bagLen) (ids < 0 are padding; an
   * all-padding bag gives zeros) → [nBags, dim]. `ids` is read again by backward, so it must not
   * be modified before `backward()`. The gradient goes to the table's sparse gradient.
   */
  embeddingBag(
    table: EmbeddingTable,
    ids: Int32Array,
    nBags: number,
    bagLen: number,
    mode: PoolMode,
  ): Tensor {
    const n = nBags * bagLen;
    if (ids.length !== n) {
      throw new Error(
        `embeddingBag: table '${table.name}': ids has ${ids.length} values, expected nBags × bagLen = ${nBags} × ${bagLen} = ${n}`,
      );
    }
    if (mode !== 'sum' && mode !== 'mean') {
      throw new Error(
        `embeddingBag: table '${table.name}': mode must be 'sum' or 'mean', got '${String(mode)}'`,
      );
    }
    table.checkIds(ids, n, 'embeddingBag');
    const src = table.lookupRows?.(ids, n) ?? null;
    const dim = table.dim;
    const m = mode === 'sum' ? 0 : 1;
    const out = this.out([nBags, dim], table.trainable);
    const k = this.k;
    k.gatherPool(src?.rows ?? table.weight.data, dim, src?.ids ?? ids, nBags, bagLen, m, out.data);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const slotOfPos = this.i32.take(n);
      const rowGrad = table.assignSlots(ids, n, slotOfPos);
      k.scatterAddRows(go, dim, ids, slotOfPos, nBags, bagLen, m, rowGrad);
    });
    return out;
  }

  /**
   * Inverted dropout (Srivastava et al. 2014, scaled at train time so eval is the identity): each
   * value is kept with probability 1 − p and scaled by 1/(1 − p). Masks come from the Graph's rng.
   */
  dropout(a: Tensor, p: number): Tensor {
    if (!(p >= 0 && p < 1))
      throw new Error(`dropout: p must be in [0, 1), got ${p} for shape ${shapeStr(a)}`);
    if (!this.training || p === 0) return a;
    const rng = this.rng;
    if (rng === undefined) throw new Error('dropout: the Graph was created with training: true but no rng');
    const out = this.out(a.shape, a.requiresGrad);
    const mask = this.f32.take(a.size);
    const keep = 1 / (1 - p);
    const x = a.data;
    const o = out.data;
    for (let i = 0; i < x.length; i++) {
      const m = rng.nextFloat() >= p ? keep : 0;
      mask[i] = m;
      o[i] = x[i] * m;
    }
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = this.gradOf(a);
      for (let i = 0; i < go.length; i++) ga[i] += go[i] * mask[i];
    });
    return out;
  }

  // ---------------------------------------------------------------- losses
  //
  // Every loss returns a [1] tensor: the mean over the B rows, (1/B) Σ_i w_i ℓ_i, where w_i = 1
  // without weights. With weights it is still divided by B, not by Σ w (as PyTorch's
  // reduction='mean' with a per-element `weight` in BCEWithLogitsLoss), so weights rescale rows
  // without renormalising the batch. Targets (labels, teacher probabilities or logits) are
  // constants: they never receive gradient from a loss — except in `mse`, which is symmetric.
  // Target arrays and weights are read again by backward(): do not modify them before it runs.

  /**
   * Binary cross-entropy on logits x with (soft) targets z ∈ [0, 1]. Derivation of the stable form
   * (as in tfjs-layers losses.ts / TensorFlow's sigmoid_cross_entropy_with_logits):
   *   ℓ = −z·log σ(x) − (1 − z)·log(1 − σ(x))
   *     = z·log(1 + e^−x) + (1 − z)·(x + log(1 + e^−x))
   *     = x − x·z + log(1 + e^−x)                       (fine for x ≥ 0)
   *   for x < 0, rewrite log(1 + e^−x) = −x + log(1 + e^x):  ℓ = −x·z + log(1 + e^x)
   *   together: ℓ = max(x, 0) − x·z + log(1 + e^−|x|), which never exponentiates a positive number.
   * dℓ/dx = σ(x) − z.
   */
  bceWithLogits(logits: Tensor, target: Tensor | Float32Array, weights?: Float32Array): Tensor {
    const B = this.columnLength('bceWithLogits', logits);
    const z = this.targetColumn('bceWithLogits', logits, target, B);
    for (let i = 0; i < B; i++) {
      if (!(z[i] >= 0 && z[i] <= 1)) {
        throw new Error(`bceWithLogits: target[${i}] = ${z[i]}, expected a probability in [0, 1]`);
      }
    }
    checkWeights('bceWithLogits', weights, B);
    const x = logits.data;
    let s = 0;
    for (let i = 0; i < B; i++) {
      const xi = x[i];
      const l = Math.max(xi, 0) - xi * z[i] + Math.log1p(Math.exp(-Math.abs(xi)));
      s += weights === undefined ? l : weights[i] * l;
    }
    const out = this.out([1], logits.requiresGrad);
    out.data[0] = B === 0 ? 0 : s / B;
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const gx = this.gradOf(logits);
      const f = go[0] / B;
      for (let i = 0; i < B; i++) {
        const w = weights === undefined ? f : f * weights[i];
        gx[i] += w * (sigmoid(x[i]) - z[i]);
      }
    });
    return out;
  }

  /**
   * Softmax cross-entropy ℓ_i = −Σ_c t_ic · log softmax(x_i)_c, with t either class indices
   * (Int32Array [B]) or probabilities (a [B, C] tensor). dℓ/dx_c = p_c · Σ_k t_k − t_c.
   */
  softmaxCrossEntropy(logits: Tensor, target: Tensor | Int32Array, weights?: Float32Array): Tensor {
    if (logits.shape.length !== 2) {
      throw new Error(`softmaxCrossEntropy: logits shape ${shapeStr(logits)} must be [B, C]`);
    }
    const B = logits.shape[0];
    const C = logits.shape[1];
    const x = logits.data;
    let idx: Int32Array | null = null;
    let t: Float32Array | null = null;
    if (target instanceof Int32Array) {
      if (target.length !== B) {
        throw new Error(
          `softmaxCrossEntropy: logits ${shapeStr(logits)} and ${target.length} class indices differ in rows`,
        );
      }
      for (let i = 0; i < B; i++) {
        if (target[i] < 0 || target[i] >= C) {
          throw new Error(
            `softmaxCrossEntropy: target[${i}] = ${target[i]}, expected a class index in [0, ${C})`,
          );
        }
      }
      idx = target;
    } else {
      if (!sameShape(logits, target)) {
        throw new Error(
          `softmaxCrossEntropy: shapes ${shapeStr(logits)} and ${shapeStr(target)} must be equal`,
        );
      }
      t = target.data;
    }
    checkWeights('softmaxCrossEntropy', weights, B);
    // Each row's log-sum-exp is kept for backward (saves one exp per logit, e.g. 1M per step for
    // in-batch softmax at B = 1024), split into float32 hi + lo parts so no precision is lost.
    const lses = this.f32.take(2 * B);
    let s = 0;
    for (let r = 0; r < B; r++) {
      const off = r * C;
      const lse = logSumExp(x, off, C, 1);
      lses[2 * r] = lse;
      lses[2 * r + 1] = lse - lses[2 * r];
      let l: number;
      if (idx !== null) {
        l = lse - x[off + idx[r]];
      } else {
        l = 0;
        for (let c = 0; c < C; c++) l += t![off + c] * (lse - x[off + c]);
      }
      s += weights === undefined ? l : weights[r] * l;
    }
    const out = this.out([1], logits.requiresGrad);
    out.data[0] = B === 0 ? 0 : s / B;
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const gx = this.gradOf(logits);
      const f = go[0] / B;
      for (let r = 0; r < B; r++) {
        const off = r * C;
        const w = weights === undefined ? f : f * weights[r];
        const lse = lses[2 * r] + lses[2 * r + 1];
        if (idx !== null) {
          for (let c = 0; c < C; c++) gx[off + c] += w * Math.exp(x[off + c] - lse);
          gx[off + idx[r]] -= w;
        } else {
          let st = 0;
          for (let c = 0; c < C; c++) st += t![off + c];
          for (let c = 0; c < C; c++) gx[off + c] += w * (Math.exp(x[off + c] - lse) * st - t![off + c]);
        }
      }
    });
    return out;
  }

  /**
   * Distillation loss KL(teacher ‖ student) on temperature-softened distributions (Hinton et al.
   * 2015): ℓ_i = Σ_c p_c (log p_c − log q_c), p = softmax(t/T), q = softmax(s/T) (rows of [B, C]),
   * or, when binary, p = [1 − σ(t/T), σ(t/T)] and q likewise from [B] logits. Multiplied by T²
   * unless t2Scale is false. dℓ/ds_c = (q_c − p_c)/T (times T²). The teacher is a constant.
   */
  klDiv(student: Tensor, teacher: Tensor, opts: KlDivOptions, weights?: Float32Array): Tensor {
    const T = opts.temperature;
    if (!(T > 0) || !Number.isFinite(T))
      throw new Error(`klDiv: temperature must be a finite number > 0, got ${T}`);
    const t2 = (opts.t2Scale ?? true) ? T * T : 1;
    const invT = 1 / T;
    const s = student.data;
    const t = teacher.data;
    const out = this.out([1], student.requiresGrad);
    if (opts.binary) {
      const B = this.columnLength('klDiv', student);
      if (teacher.size !== B || teacher.shape[0] !== B) {
        throw new Error(
          `klDiv: shapes ${shapeStr(student)} and ${shapeStr(teacher)} must match (binary logits [B])`,
        );
      }
      checkWeights('klDiv', weights, B);
      let sum = 0;
      for (let i = 0; i < B; i++) {
        const zs = s[i] * invT;
        const zt = t[i] * invT;
        const p = sigmoid(zt);
        // log σ(z) = −softplus(−z), log(1 − σ(z)) = −softplus(z): finite for any z.
        const l = p * (softplus(-zs) - softplus(-zt)) + (1 - p) * (softplus(zs) - softplus(zt));
        sum += weights === undefined ? l : weights[i] * l;
      }
      out.data[0] = B === 0 ? 0 : (t2 * sum) / B;
      this.record(out, () => {
        const go = out.grad;
        if (go === null) return;
        const gs = this.gradOf(student);
        const f = (go[0] * t2 * invT) / B;
        for (let i = 0; i < B; i++) {
          const w = weights === undefined ? f : f * weights[i];
          gs[i] += w * (sigmoid(s[i] * invT) - sigmoid(t[i] * invT));
        }
      });
      return out;
    }
    if (student.shape.length !== 2 || !sameShape(student, teacher)) {
      throw new Error(`klDiv: shapes ${shapeStr(student)} and ${shapeStr(teacher)} must be equal [B, C]`);
    }
    const B = student.shape[0];
    const C = student.shape[1];
    checkWeights('klDiv', weights, B);
    // Per-row log-sum-exps kept for backward as float32 hi + lo pairs (see softmaxCrossEntropy).
    const lses = this.f32.take(4 * B);
    let sum = 0;
    for (let r = 0; r < B; r++) {
      const off = r * C;
      const lseS = logSumExp(s, off, C, invT);
      const lseT = logSumExp(t, off, C, invT);
      lses[4 * r] = lseS;
      lses[4 * r + 1] = lseS - lses[4 * r];
      lses[4 * r + 2] = lseT;
      lses[4 * r + 3] = lseT - lses[4 * r + 2];
      let l = 0;
      for (let c = 0; c < C; c++) {
        const logP = t[off + c] * invT - lseT;
        const logQ = s[off + c] * invT - lseS;
        l += Math.exp(logP) * (logP - logQ);
      }
      sum += weights === undefined ? l : weights[r] * l;
    }
    out.data[0] = B === 0 ? 0 : (t2 * sum) / B;
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const gs = this.gradOf(student);
      const f = (go[0] * t2 * invT) / B;
      for (let r = 0; r < B; r++) {
        const off = r * C;
        const w = weights === undefined ? f : f * weights[r];
        const lseS = lses[4 * r] + lses[4 * r + 1];
        const lseT = lses[4 * r + 2] + lses[4 * r + 3];
        for (let c = 0; c < C; c++) {
          gs[off + c] += w * (Math.exp(s[off + c] * invT - lseS) - Math.exp(t[off + c] * invT - lseT));
        }
      }
    });
    return out;
  }

  /**
   * Mean squared error: ℓ_i = (1/D) Σ_d (a − b)² per row, averaged over rows (so unweighted it is
   * the mean over all values, like torch's MSELoss). Both sides receive gradient.
   */
  mse(a: Tensor, b: Tensor, weights?: Float32Array): Tensor {
    if (!sameShape(a, b)) throw new Error(`mse: shapes ${shapeStr(a)} and ${shapeStr(b)} must be equal`);
    const R = a.shape.length === 2 ? a.shape[0] : a.size;
    const D = a.shape.length === 2 ? a.shape[1] : 1;
    checkWeights('mse', weights, R);
    const x = a.data;
    const y = b.data;
    let s = 0;
    for (let r = 0; r < R; r++) {
      const off = r * D;
      let l = 0;
      for (let d = 0; d < D; d++) {
        const e = x[off + d] - y[off + d];
        l += e * e;
      }
      s += weights === undefined ? l : weights[r] * l;
    }
    const out = this.out([1], a.requiresGrad || b.requiresGrad);
    out.data[0] = R === 0 || D === 0 ? 0 : s / (R * D);
    this.record(out, () => {
      const go = out.grad;
      if (go === null) return;
      const ga = a.requiresGrad ? this.gradOf(a) : null;
      const gb = b.requiresGrad ? this.gradOf(b) : null;
      const f = (2 * go[0]) / (R * D);
      for (let r = 0; r < R; r++) {
        const off = r * D;
        const w = weights === undefined ? f : f * weights[r];
        for (let d = 0; d < D; d++) {
          const e = w * (x[off + d] - y[off + d]);
          if (ga !== null) ga[off + d] += e;
          if (gb !== null) gb[off + d] -= e;
        }
      }
    });
    return out;
  }

  /** Batch size of a [B] or [B, 1] logit column. */
  private columnLength(op: string, t: Tensor): number {
    if (t.shape.length === 1) return t.shape[0];
    if (t.shape.length === 2 && t.shape[1] === 1) return t.shape[0];
    throw new Error(`${op}: logits shape ${shapeStr(t)} must be [B] or [B, 1]`);
  }

  private targetColumn(op: string, logits: Tensor, target: Tensor | Float32Array, B: number): Float32Array {
    if (target instanceof Float32Array) {
      if (target.length !== B) {
        throw new Error(`${op}: shapes ${shapeStr(logits)} and [${target.length}] (target) differ in rows`);
      }
      return target;
    }
    if (target.size !== B || target.shape[0] !== B) {
      throw new Error(`${op}: shapes ${shapeStr(logits)} and ${shapeStr(target)} (target) differ`);
    }
    return target.data;
  }
}

/** out[r, :] = s[r] · m[r, :] (accumulate: +=) for an [R, D] matrix m and a per-row scale s. */
function rowScaleInto(
  s: Float32Array,
  m: Float32Array,
  R: number,
  D: number,
  out: Float32Array,
  accumulate: boolean,
): void {
  for (let r = 0; r < R; r++) {
    const g = s[r];
    const off = r * D;
    if (accumulate) for (let d = 0; d < D; d++) out[off + d] += g * m[off + d];
    else for (let d = 0; d < D; d++) out[off + d] = g * m[off + d];
  }
}

function sameShape(a: Tensor, b: Tensor): boolean {
  if (a.shape.length !== b.shape.length) return false;
  for (let i = 0; i < a.shape.length; i++) if (a.shape[i] !== b.shape[i]) return false;
  return true;
}

function checkWeights(op: string, weights: Float32Array | undefined, B: number): void {
  if (weights !== undefined && weights.length !== B) {
    throw new Error(`${op}: weights have ${weights.length} values for ${B} rows`);
  }
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** softplus(x) = log(1 + eˣ) = max(x, 0) + log(1 + e^−|x|), without overflow. */
function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** log Σ_d exp(scale · x[off + d]) over n values, max-subtracted. */
function logSumExp(x: Float32Array, off: number, n: number, scale: number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let d = 0; d < n; d++) {
    const v = x[off + d] * scale;
    if (v > m) m = v;
  }
  let s = 0;
  for (let d = 0; d < n; d++) s += Math.exp(x[off + d] * scale - m);
  return m + Math.log(s);
}
