/**
 * The kernel seam: the hot loops of training and inference sit behind this one interface so a
 * faster provider (WebAssembly SIMD, a native BLAS addon) can replace the plain TypeScript one
 * without any model or training code changing. Every provider must give the same results as the
 * TypeScript provider to float32 rounding (checked by test/engine/kernels.test.ts).
 *
 * All arrays are row-major Float32Array / Int32Array views; providers never keep references to
 * them after a call returns and never allocate per call in steady state.
 */
export interface Kernels {
  /** Provider name as printed by `kdrec doctor`: 'js', 'wasm', 'native'. */
  readonly name: string;

  /**
   * C = alpha · op(A) · op(B) + beta · C, with op(X) = X or Xᵀ (BLAS sgemm semantics, row-major).
   * op(A) is M×K, op(B) is K×N, C is M×N. Leading dimensions are the row strides of the stored
   * matrices: A is stored M×K (lda=K) or, if transA, K×M (lda=M); likewise B.
   * beta = 0 must ignore C's previous contents (it may hold NaN).
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    B: Float32Array,
    beta: number,
    C: Float32Array,
  ): void;

  /**
   * Embedding gather with pooling ("embedding bag"). For each bag b in [0, nBags):
   *   out[b, :] = pool over j in [0, bagLen) of table[ids[b*bagLen + j], :]
   * ids < 0 are padding and skipped. mode 0 = sum, 1 = mean (over non-padding ids; an all-padding
   * bag gives zeros). `out` is nBags × dim and is overwritten.
   */
  gatherPool(
    table: Float32Array,
    dim: number,
    ids: Int32Array,
    nBags: number,
    bagLen: number,
    mode: 0 | 1,
    out: Float32Array,
  ): void;

  /**
   * The backward of gatherPool into a compact sparse gradient:
   *   for each bag b, each non-padding id at slot j: rowGrad[slotOf[b*bagLen+j], :] += scale_b · gOut[b, :]
   * where scale_b = 1 (sum) or 1/count_b (mean). `slotOf` maps each id position to its row in the
   * compact gradient (the caller deduplicates ids); entries for padding are ignored.
   */
  scatterAddRows(
    gOut: Float32Array,
    dim: number,
    ids: Int32Array,
    slotOf: Int32Array,
    nBags: number,
    bagLen: number,
    mode: 0 | 1,
    rowGrad: Float32Array,
  ): void;

  /**
   * Lazy (sparse) Adam on the touched rows only: for r in [0, nRows), row = rows[r]:
   *   m = b1·m + (1−b1)·g;  v = b2·v + (1−b2)·g²;  w −= lr · m̂ / (sqrt(v̂) + eps)
   * with bias corrections bc1 = 1 − b1^t and bc2 = 1 − b2^t passed in (m̂ = m/bc1, v̂ = v/bc2).
   * grad is compact: nRows × dim, row r belongs to table row rows[r]. weightDecay is decoupled
   * (AdamW style: w −= lr·wd·w) and is 0 for plain Adam.
   */
  adamRows(
    w: Float32Array,
    m: Float32Array,
    v: Float32Array,
    grad: Float32Array,
    rows: Int32Array,
    nRows: number,
    dim: number,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    bc1: number,
    bc2: number,
    weightDecay: number,
  ): void;

  /**
   * The elementwise tail of a dense layer's forward, fused into one pass over its output (the
   * `sgemm` with beta = 0 has written x·W into y): in place, for r < rows, c < cols,
   *   y[r, c] = act(y[r, c] + bias[c]),  act = max(·, 0) if relu, else the identity.
   * A NaN stays NaN through the ReLU (so a diverged step is seen by the trainer, not zeroed).
   */
  biasAct(y: Float32Array, bias: Float32Array, rows: number, cols: number, relu: boolean): void;

  /**
   * The backward of biasAct, one pass over the output gradient gOut (rows × cols):
   *   relu:  gZ[r, c] = gOut[r, c] · [y[r, c] > 0]  (written, not accumulated; y is biasAct's output)
   *          gBias[c] += Σ_r gZ[r, c]
   *   !relu: gBias[c] += Σ_r gOut[r, c]             (y and gZ are not touched; pass gOut for both)
   * The column sums are added row by row in float32, in row order.
   */
  biasActBackward(
    gOut: Float32Array,
    y: Float32Array,
    rows: number,
    cols: number,
    relu: boolean,
    gZ: Float32Array,
    gBias: Float32Array,
  ): void;

  /**
   * A strided block copy, the data movement of concat / slice and their backward passes: for
   * r < rows, c < cols,
   *   dst[dstOff + r·dstStride + c] = src[srcOff + r·srcStride + c]   (accumulate: +=)
   * src and dst must not overlap.
   */
  copyBlock(
    src: Float32Array,
    srcOff: number,
    srcStride: number,
    dst: Float32Array,
    dstOff: number,
    dstStride: number,
    rows: number,
    cols: number,
    accumulate: boolean,
  ): void;

  /** Sparse Adagrad on touched rows: acc += g²; w −= lr · g / (sqrt(acc) + eps). */
  adagradRows(
    w: Float32Array,
    acc: Float32Array,
    grad: Float32Array,
    rows: Int32Array,
    nRows: number,
    dim: number,
    lr: number,
    eps: number,
  ): void;
}
