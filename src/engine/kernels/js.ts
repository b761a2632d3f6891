/**
 * The plain TypeScript kernel provider: always available, the reference every faster provider is
 * tested against (see types.ts for the exact semantics of each kernel).
 *
 * sgemm is written in the "dot-product" form C[i,j] = Σ_k A[i,k]·B[j,k] with both operands laid
 * out so that k is the contiguous axis: op(A) as M×K rows and op(B) as N×K rows (Bᵀ). Whichever
 * operand is not already in that layout is transposed once into a module-level scratch buffer
 * (O(MK + KN) work against O(MNK) for the product), so every transpose case runs the same
 * contiguous inner loop. The inner loop computes a 4×4 block of C with 16 accumulators held in
 * registers (8 loads per 16 multiply-adds), accumulating in float64 (JS numbers) and rounding to
 * float32 once on the store. Scratch buffers only grow, so steady-state calls allocate nothing.
 */
import type { Kernels } from './types.js';

let scratchA: Float32Array = new Float32Array(0);
let scratchB: Float32Array = new Float32Array(0);

function grow(buf: Float32Array, n: number): Float32Array {
  if (buf.length >= n) return buf;
  let cap = Math.max(1024, buf.length);
  while (cap < n) cap *= 2;
  return new Float32Array(cap);
}

/** dst (cols×rows) = srcᵀ where src is rows×cols, row-major. Blocked for cache reuse. */
function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  const BS = 32;
  for (let r0 = 0; r0 < rows; r0 += BS) {
    const r1 = Math.min(rows, r0 + BS);
    for (let c0 = 0; c0 < cols; c0 += BS) {
      const c1 = Math.min(cols, c0 + BS);
      for (let r = r0; r < r1; r++) {
        const so = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[so + c];
      }
    }
  }
}

function sgemm(
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
): void {
  if (M === 0 || N === 0) return;
  if (K === 0 || alpha === 0) {
    // No product term: C = beta·C (beta = 0 must not read C, which may hold NaN).
    if (beta === 0) C.fill(0, 0, M * N);
    else if (beta !== 1) for (let i = 0; i < M * N; i++) C[i] = beta * C[i];
    return;
  }
  // Rows of op(A), k contiguous (M×K).
  let a: Float32Array = A;
  if (transA) {
    scratchA = grow(scratchA, M * K);
    transposeInto(A, K, M, scratchA);
    a = scratchA;
  }
  // Rows of op(B)ᵀ, k contiguous (N×K): B stored N×K when transB, else K×N needs a transpose.
  let b: Float32Array = B;
  if (!transB) {
    scratchB = grow(scratchB, N * K);
    transposeInto(B, K, N, scratchB);
    b = scratchB;
  }
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    const c0 = i * N;
    const c1 = c0 + N;
    const c2 = c1 + N;
    const c3 = c2 + N;
    for (let j = 0; j < N4; j += 4) {
      const b0 = j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0;
      let s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      let s20 = 0,
        s21 = 0,
        s22 = 0,
        s23 = 0;
      let s30 = 0,
        s31 = 0,
        s32 = 0,
        s33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = a[a0 + k];
        const x1 = a[a1 + k];
        const x2 = a[a2 + k];
        const x3 = a[a3 + k];
        const y0 = b[b0 + k];
        const y1 = b[b1 + k];
        const y2 = b[b2 + k];
        const y3 = b[b3 + k];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s22 += x2 * y2;
        s23 += x2 * y3;
        s30 += x3 * y0;
        s31 += x3 * y1;
        s32 += x3 * y2;
        s33 += x3 * y3;
      }
      if (beta === 0) {
        C[c0 + j] = alpha * s00;
        C[c0 + j + 1] = alpha * s01;
        C[c0 + j + 2] = alpha * s02;
        C[c0 + j + 3] = alpha * s03;
        C[c1 + j] = alpha * s10;
        C[c1 + j + 1] = alpha * s11;
        C[c1 + j + 2] = alpha * s12;
        C[c1 + j + 3] = alpha * s13;
        C[c2 + j] = alpha * s20;
        C[c2 + j + 1] = alpha * s21;
        C[c2 + j + 2] = alpha * s22;
        C[c2 + j + 3] = alpha * s23;
        C[c3 + j] = alpha * s30;
        C[c3 + j + 1] = alpha * s31;
        C[c3 + j + 2] = alpha * s32;
        C[c3 + j + 3] = alpha * s33;
      } else {
        C[c0 + j] = alpha * s00 + beta * C[c0 + j];
        C[c0 + j + 1] = alpha * s01 + beta * C[c0 + j + 1];
        C[c0 + j + 2] = alpha * s02 + beta * C[c0 + j + 2];
        C[c0 + j + 3] = alpha * s03 + beta * C[c0 + j + 3];
        C[c1 + j] = alpha * s10 + beta * C[c1 + j];
        C[c1 + j + 1] = alpha * s11 + beta * C[c1 + j + 1];
        C[c1 + j + 2] = alpha * s12 + beta * C[c1 + j + 2];
        C[c1 + j + 3] = alpha * s13 + beta * C[c1 + j + 3];
        C[c2 + j] = alpha * s20 + beta * C[c2 + j];
        C[c2 + j + 1] = alpha * s21 + beta * C[c2 + j + 1];
        C[c2 + j + 2] = alpha * s22 + beta * C[c2 + j + 2];
        C[c2 + j + 3] = alpha * s23 + beta * C[c2 + j + 3];
        C[c3 + j] = alpha * s30 + beta * C[c3 + j];
        C[c3 + j + 1] = alpha * s31 + beta * C[c3 + j + 1];
        C[c3 + j + 2] = alpha * s32 + beta * C[c3 + j + 2];
        C[c3 + j + 3] = alpha * s33 + beta * C[c3 + j + 3];
      }
    }
    // Leftover columns: 4×1 blocks.
    for (let j = N4; j < N; j++) {
      const b0 = j * K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < K; k++) {
        const y = b[b0 + k];
        s0 += a[a0 + k] * y;
        s1 += a[a1 + k] * y;
        s2 += a[a2 + k] * y;
        s3 += a[a3 + k] * y;
      }
      if (beta === 0) {
        C[c0 + j] = alpha * s0;
        C[c1 + j] = alpha * s1;
        C[c2 + j] = alpha * s2;
        C[c3 + j] = alpha * s3;
      } else {
        C[c0 + j] = alpha * s0 + beta * C[c0 + j];
        C[c1 + j] = alpha * s1 + beta * C[c1 + j];
        C[c2 + j] = alpha * s2 + beta * C[c2 + j];
        C[c3 + j] = alpha * s3 + beta * C[c3 + j];
      }
    }
  }
  // Leftover rows: 1×4 blocks, then 1×1.
  for (let i = M4; i < M; i++) {
    const a0 = i * K;
    const c0 = i * N;
    for (let j = 0; j < N4; j += 4) {
      const b0 = j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < K; k++) {
        const x = a[a0 + k];
        s0 += x * b[b0 + k];
        s1 += x * b[b1 + k];
        s2 += x * b[b2 + k];
        s3 += x * b[b3 + k];
      }
      if (beta === 0) {
        C[c0 + j] = alpha * s0;
        C[c0 + j + 1] = alpha * s1;
        C[c0 + j + 2] = alpha * s2;
        C[c0 + j + 3] = alpha * s3;
      } else {
        C[c0 + j] = alpha * s0 + beta * C[c0 + j];
        C[c0 + j + 1] = alpha * s1 + beta * C[c0 + j + 1];
        C[c0 + j + 2] = alpha * s2 + beta * C[c0 + j + 2];
        C[c0 + j + 3] = alpha * s3 + beta * C[c0 + j + 3];
      }
    }
    for (let j = N4; j < N; j++) {
      const b0 = j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[a0 + k] * b[b0 + k];
      C[c0 + j] = beta === 0 ? alpha * s : alpha * s + beta * C[c0 + j];
    }
  }
}

function gatherPool(
  table: Float32Array,
  dim: number,
  ids: Int32Array,
  nBags: number,
  bagLen: number,
  mode: 0 | 1,
  out: Float32Array,
): void {
  out.fill(0, 0, nBags * dim);
  for (let bag = 0; bag < nBags; bag++) {
    const o = bag * dim;
    let count = 0;
    for (let j = 0; j < bagLen; j++) {
      const id = ids[bag * bagLen + j];
      if (id < 0) continue;
      count++;
      const t = id * dim;
      for (let d = 0; d < dim; d++) out[o + d] += table[t + d];
    }
    if (mode === 1 && count > 1) {
      const inv = 1 / count;
      for (let d = 0; d < dim; d++) out[o + d] *= inv;
    }
  }
}

function scatterAddRows(
  gOut: Float32Array,
  dim: number,
  ids: Int32Array,
  slotOf: Int32Array,
  nBags: number,
  bagLen: number,
  mode: 0 | 1,
  rowGrad: Float32Array,
): void {
  for (let bag = 0; bag < nBags; bag++) {
    const base = bag * bagLen;
    let scale = 1;
    if (mode === 1) {
      let count = 0;
      for (let j = 0; j < bagLen; j++) if (ids[base + j] >= 0) count++;
      if (count === 0) continue;
      scale = 1 / count;
    }
    const g = bag * dim;
    for (let j = 0; j < bagLen; j++) {
      if (ids[base + j] < 0) continue;
      const r = slotOf[base + j] * dim;
      for (let d = 0; d < dim; d++) rowGrad[r + d] += scale * gOut[g + d];
    }
  }
}

function adamRows(
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
): void {
  const c1 = 1 - b1;
  const c2 = 1 - b2;
  const inv1 = 1 / bc1;
  const inv2 = 1 / bc2;
  const decay = lr * weightDecay;
  for (let r = 0; r < nRows; r++) {
    const o = rows[r] * dim;
    const go = r * dim;
    for (let d = 0; d < dim; d++) {
      const g = grad[go + d];
      const mi = b1 * m[o + d] + c1 * g;
      const vi = b2 * v[o + d] + c2 * g * g;
      m[o + d] = mi;
      v[o + d] = vi;
      // Decoupled decay uses the pre-update weight (Loshchilov & Hutter 2019, Algorithm 2).
      const wi = w[o + d];
      w[o + d] = wi - (lr * (mi * inv1)) / (Math.sqrt(vi * inv2) + eps) - decay * wi;
    }
  }
}

function adagradRows(
  w: Float32Array,
  acc: Float32Array,
  grad: Float32Array,
  rows: Int32Array,
  nRows: number,
  dim: number,
  lr: number,
  eps: number,
): void {
  for (let r = 0; r < nRows; r++) {
    const o = rows[r] * dim;
    const go = r * dim;
    for (let d = 0; d < dim; d++) {
      const g = grad[go + d];
      const a = acc[o + d] + g * g;
      acc[o + d] = a;
      w[o + d] -= (lr * g) / (Math.sqrt(a) + eps);
    }
  }
}

function biasAct(y: Float32Array, bias: Float32Array, rows: number, cols: number, relu: boolean): void {
  if (!relu) {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      for (let c = 0; c < cols; c++) y[o + c] += bias[c];
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) {
      // Branchless: (v + |v|)/2 is exactly max(v, 0) (and rounds to float32 on the store as
      // max(float32(v), 0) would), keeps NaN, and is several times faster than a compare on
      // random-sign activations in V8.
      const v = y[o + c] + bias[c];
      y[o + c] = (v + Math.abs(v)) * 0.5;
    }
  }
}

function biasActBackward(
  gOut: Float32Array,
  y: Float32Array,
  rows: number,
  cols: number,
  relu: boolean,
  gZ: Float32Array,
  gBias: Float32Array,
): void {
  if (!relu) {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      for (let c = 0; c < cols; c++) gBias[c] += gOut[o + c];
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) {
      // Branchless step(y): y/(y + 1e-300) is exactly 1 for every positive float32 y (1e-300 is
      // below half an ulp of the smallest float32 denormal in float64) and 0 at y = 0.
      const yi = y[o + c];
      const g = gOut[o + c] * (yi / (yi + 1e-300));
      gZ[o + c] = g;
      gBias[c] += g;
    }
  }
}

function copyBlock(
  src: Float32Array,
  srcOff: number,
  srcStride: number,
  dst: Float32Array,
  dstOff: number,
  dstStride: number,
  rows: number,
  cols: number,
  accumulate: boolean,
): void {
  // Unrolled by 4: V8 does not vectorise, and four independent copies per iteration halve the
  // loop overhead on the 32-wide embedding blocks of a concat (measured 0.064 → 0.032 ms per
  // 1024 × 32 block).
  const c4 = cols - (cols % 4);
  for (let r = 0; r < rows; r++) {
    const s = srcOff + r * srcStride;
    const d = dstOff + r * dstStride;
    let c = 0;
    if (accumulate) {
      // Unrolled too: the data-parallel dense reduction adds runs of ~10⁵ values this way
      // (measured 163 → 124-140 µs per 75,000 adds).
      for (; c < c4; c += 4) {
        const a0 = dst[d + c] + src[s + c];
        const a1 = dst[d + c + 1] + src[s + c + 1];
        const a2 = dst[d + c + 2] + src[s + c + 2];
        const a3 = dst[d + c + 3] + src[s + c + 3];
        dst[d + c] = a0;
        dst[d + c + 1] = a1;
        dst[d + c + 2] = a2;
        dst[d + c + 3] = a3;
      }
      for (; c < cols; c++) dst[d + c] += src[s + c];
      continue;
    }
    for (; c < c4; c += 4) {
      dst[d + c] = src[s + c];
      dst[d + c + 1] = src[s + c + 1];
      dst[d + c + 2] = src[s + c + 2];
      dst[d + c + 3] = src[s + c + 3];
    }
    for (; c < cols; c++) dst[d + c] = src[s + c];
  }
}

export const jsKernels: Kernels = {
  name: 'js',
  sgemm,
  gatherPool,
  scatterAddRows,
  adamRows,
  adagradRows,
  biasAct,
  biasActBackward,
  copyBlock,
};
