/**
 * The TypeScript kernel provider against naive float64 references on random inputs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsKernels } from '../../src/engine/kernels/js.js';

/** Deterministic uniform values in [−1, 1) (xorshift32), so failures reproduce. */
function randomArray(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

function refGemm(
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
): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = transA ? A[k * M + i] : A[i * K + k];
        const b = transB ? B[j * K + k] : B[k * N + j];
        s += a * b;
      }
      out[i * N + j] = alpha * s + (beta === 0 ? 0 : beta * C[i * N + j]);
    }
  }
  return out;
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) {
      assert.fail(`${what}: index ${i}: got ${a}, expected ${e}`);
    }
  }
}

const sizes: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [4, 4, 4],
  [9, 3, 17],
  [33, 65, 31],
  [2, 1, 8],
];

for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    test(`sgemm matches float64 reference (transA=${transA}, transB=${transB})`, () => {
      let seed = 7;
      for (const [M, N, K] of sizes) {
        for (const [alpha, beta] of [
          [1, 0],
          [0.5, 1],
          [-2, 0.25],
        ] as const) {
          const A = randomArray(M * K, seed++);
          const B = randomArray(K * N, seed++);
          const C = randomArray(M * N, seed++);
          if (beta === 0) C.fill(Number.NaN); // beta 0 must ignore C entirely
          const expected = refGemm(transA, transB, M, N, K, alpha, A, B, beta, C);
          jsKernels.sgemm(transA, transB, M, N, K, alpha, A, B, beta, C);
          assertClose(C, expected, 1e-5, `${M}x${N}x${K} alpha=${alpha} beta=${beta}`);
        }
      }
    });
  }
}

test('sgemm with K = 0 scales C by beta, and ignores NaN when beta = 0', () => {
  const C = new Float32Array([1, 2, Number.NaN, 4]);
  jsKernels.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), new Float32Array(0), 0, C);
  assert.deepEqual(Array.from(C), [0, 0, 0, 0]);
  const D = new Float32Array([1, 2, 3, 4]);
  jsKernels.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), new Float32Array(0), 2, D);
  assert.deepEqual(Array.from(D), [2, 4, 6, 8]);
});

test('gatherPool sums and means bags, skipping padding; an all-padding bag is zero', () => {
  const dim = 3;
  const vocab = 6;
  const table = randomArray(vocab * dim, 3);
  const ids = new Int32Array([0, 2, -1, 5, 5, 5, -1, -1, -1, 1, -1, 4]);
  const nBags = 4;
  const bagLen = 3;
  for (const mode of [0, 1] as const) {
    const out = new Float32Array(nBags * dim).fill(Number.NaN);
    jsKernels.gatherPool(table, dim, ids, nBags, bagLen, mode, out);
    const expected = new Float64Array(nBags * dim);
    for (let b = 0; b < nBags; b++) {
      let count = 0;
      for (let j = 0; j < bagLen; j++) {
        const id = ids[b * bagLen + j];
        if (id < 0) continue;
        count++;
        for (let d = 0; d < dim; d++) expected[b * dim + d] += table[id * dim + d];
      }
      if (mode === 1 && count > 0) for (let d = 0; d < dim; d++) expected[b * dim + d] /= count;
    }
    assertClose(out, expected, 1e-6, `mode ${mode}`);
    assert.deepEqual(Array.from(out.subarray(2 * dim, 3 * dim)), [0, 0, 0]);
  }
});

test('scatterAddRows accumulates scaled bag gradients into compact rows', () => {
  const dim = 2;
  const ids = new Int32Array([3, 3, -1, 7, 3, 1]);
  const slotOf = new Int32Array([0, 0, -1, 1, 0, 2]);
  const gOut = new Float32Array([1, 2, 10, 20]);
  for (const mode of [0, 1] as const) {
    const rowGrad = new Float32Array(3 * dim).fill(0.5);
    jsKernels.scatterAddRows(gOut, dim, ids, slotOf, 2, 3, mode, rowGrad);
    // bag 0 = [3, 3, pad] (count 2), bag 1 = [7, 3, 1] (count 3)
    const s0 = mode === 1 ? 1 / 2 : 1;
    const s1 = mode === 1 ? 1 / 3 : 1;
    const expected = [
      0.5 + 2 * s0 * 1 + s1 * 10,
      0.5 + 2 * s0 * 2 + s1 * 20,
      0.5 + s1 * 10,
      0.5 + s1 * 20,
      0.5 + s1 * 10,
      0.5 + s1 * 20,
    ];
    assertClose(rowGrad, expected, 1e-6, `mode ${mode}`);
  }
});

test('adamRows updates only the listed rows, matching a float64 reference (with decoupled decay)', () => {
  const dim = 3;
  const vocab = 5;
  const rows = new Int32Array([4, 1, 0]);
  const grad = randomArray(3 * dim, 11);
  const w = randomArray(vocab * dim, 12);
  const m = randomArray(vocab * dim, 13).map((x) => x * 0.1);
  const v = randomArray(vocab * dim, 14).map((x) => Math.abs(x) * 0.01);
  const [lr, b1, b2, eps, wd, t] = [0.01, 0.9, 0.999, 1e-8, 0.1, 3];
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  const ew = Float64Array.from(w);
  const em = Float64Array.from(m);
  const ev = Float64Array.from(v);
  for (let r = 0; r < rows.length; r++) {
    for (let d = 0; d < dim; d++) {
      const i = rows[r] * dim + d;
      const g = grad[r * dim + d];
      em[i] = b1 * em[i] + (1 - b1) * g;
      ev[i] = b2 * ev[i] + (1 - b2) * g * g;
      ew[i] = ew[i] - (lr * (em[i] / bc1)) / (Math.sqrt(ev[i] / bc2) + eps) - lr * wd * ew[i];
    }
  }
  const untouchedBefore = Array.from(w.subarray(2 * dim, 4 * dim));
  jsKernels.adamRows(w, m, v, grad, rows, rows.length, dim, lr, b1, b2, eps, bc1, bc2, wd);
  assertClose(w, ew, 1e-5, 'w');
  assertClose(m, em, 1e-6, 'm');
  assertClose(v, ev, 1e-6, 'v');
  assert.deepEqual(Array.from(w.subarray(2 * dim, 4 * dim)), untouchedBefore);
});

test('adagradRows matches a float64 reference and respects nRows', () => {
  const dim = 4;
  const vocab = 6;
  const rows = new Int32Array([2, 5, 0]);
  const grad = randomArray(3 * dim, 21);
  const w = randomArray(vocab * dim, 22);
  const acc = randomArray(vocab * dim, 23).map(Math.abs);
  const ew = Float64Array.from(w);
  const ea = Float64Array.from(acc);
  const nRows = 2; // the third listed row must be ignored
  for (let r = 0; r < nRows; r++) {
    for (let d = 0; d < dim; d++) {
      const i = rows[r] * dim + d;
      const g = grad[r * dim + d];
      ea[i] += g * g;
      ew[i] -= (0.05 * g) / (Math.sqrt(ea[i]) + 1e-10);
    }
  }
  jsKernels.adagradRows(w, acc, grad, rows, nRows, dim, 0.05, 1e-10);
  assertClose(w, ew, 1e-5, 'w');
  assertClose(acc, ea, 1e-5, 'acc');
});

test('biasAct adds the bias per column and applies the ReLU in place, keeping NaN', () => {
  const [rows, cols] = [5, 7];
  const y0 = randomArray(rows * cols, 31);
  const bias = randomArray(cols, 32);
  y0[3] = Number.NaN;
  const lin = y0.slice();
  jsKernels.biasAct(lin, bias, rows, cols, false);
  const rel = y0.slice();
  jsKernels.biasAct(rel, bias, rows, cols, true);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const want = Math.fround(y0[i]! + bias[c]!);
      if (i === 3) {
        assert.ok(Number.isNaN(lin[i]) && Number.isNaN(rel[i]), 'NaN must stay NaN');
        continue;
      }
      assert.equal(lin[i], want);
      assert.equal(rel[i], Math.max(want, 0));
    }
  }
});

test('biasActBackward masks the gradient by y > 0 and adds its column sums to the bias gradient', () => {
  const [rows, cols] = [6, 5];
  const gOut = randomArray(rows * cols, 41);
  const y = randomArray(rows * cols, 42).map((v) => Math.max(v, 0));
  const gb0 = randomArray(cols, 43);
  const gZ = new Float32Array(rows * cols).fill(Number.NaN);
  const gb = gb0.slice();
  jsKernels.biasActBackward(gOut, y, rows, cols, true, gZ, gb);
  const gbLin = gb0.slice();
  jsKernels.biasActBackward(gOut, gOut, rows, cols, false, gOut, gbLin);
  for (let c = 0; c < cols; c++) {
    let sum = 0;
    let sumLin = 0;
    for (let r = 0; r < rows; r++) {
      const i = r * cols + c;
      // === rather than Object.is: a masked negative gradient is −0.
      assert.ok(gZ[i] === (y[i]! > 0 ? gOut[i] : 0), `gZ[${i}] = ${gZ[i]}`);
      sum += gZ[i]!;
      sumLin += gOut[i]!;
    }
    assert.ok(Math.abs(gb[c]! - (gb0[c]! + sum)) < 1e-5, `gBias[${c}] (relu)`);
    assert.ok(Math.abs(gbLin[c]! - (gb0[c]! + sumLin)) < 1e-5, `gBias[${c}] (identity)`);
  }
});

test('copyBlock copies and accumulates a strided block, leaving everything else untouched', () => {
  // src 3 rows of stride 5, block of 3 columns at offset 1; dst stride 4, block at offset 1.
  const src = Float32Array.from({ length: 15 }, (_, i) => i + 1);
  const dst = new Float32Array(12).fill(-1);
  jsKernels.copyBlock(src, 1, 5, dst, 1, 4, 3, 3, false);
  assert.deepEqual(Array.from(dst), [-1, 2, 3, 4, -1, 7, 8, 9, -1, 12, 13, 14]);
  jsKernels.copyBlock(src, 1, 5, dst, 1, 4, 3, 3, true);
  assert.deepEqual(Array.from(dst), [-1, 4, 6, 8, -1, 14, 16, 18, -1, 24, 26, 28]);
  // Widths not a multiple of the unroll factor.
  const wide = Float32Array.from({ length: 14 }, (_, i) => i);
  const out = new Float32Array(14);
  jsKernels.copyBlock(wide, 0, 7, out, 0, 7, 2, 7, false);
  assert.deepEqual(out, wide);
});
