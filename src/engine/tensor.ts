/**
 * Tensor: a shape plus a row-major Float32Array, with no hidden copies.
 *
 * Rank is 1 or 2 in practice (a batch of rows × a feature axis); the engine's ops are
 * specialised for that case because every model in kdrec is embeddings → MLPs → dot products.
 * `grad` is allocated lazily by the autograd tape, and for parameters it persists across steps
 * so the optimiser can read it (no per-step allocation).
 */
export class Tensor {
  /** Accumulated gradient, same length as data; null until a backward pass touches it. */
  grad: Float32Array | null = null;

  constructor(
    public data: Float32Array,
    public readonly shape: readonly number[],
    /** True for parameters and anything computed from them; false for inputs and detached values. */
    public requiresGrad = false,
    /** Optional name; parameters are named so checkpoints and error messages can refer to them. */
    public name = '',
  ) {
    const n = shapeSize(shape);
    if (n !== data.length) {
      throw new Error(
        `Tensor${name ? ` '${name}'` : ''}: shape [${shape.join(', ')}] needs ${n} values, got ${data.length}`,
      );
    }
  }

  get size(): number {
    return this.data.length;
  }
  /** Leading dimension (batch rows); 1 for a rank-1 tensor. */
  get rows(): number {
    return this.shape.length === 1 ? 1 : this.shape[0]!;
  }
  /** Trailing dimension (features). */
  get cols(): number {
    return this.shape[this.shape.length - 1]!;
  }

  static zeros(shape: readonly number[], requiresGrad = false, name = ''): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)), shape, requiresGrad, name);
  }

  static from(values: ArrayLike<number>, shape: readonly number[], requiresGrad = false, name = ''): Tensor {
    return new Tensor(Float32Array.from(values), shape, requiresGrad, name);
  }

  /** Ensures `grad` exists (zeroed) and returns it. */
  ensureGrad(): Float32Array {
    if (this.grad === null) this.grad = new Float32Array(this.data.length);
    return this.grad;
  }

  zeroGrad(): void {
    this.grad?.fill(0);
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function shapeStr(t: Tensor): string {
  return `[${t.shape.join(', ')}]`;
}
