/**
 * Gradient checks (finite differences, see gradcheck.ts) for every Graph op, including each
 * broadcast form and each transpose case.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.js';
import { Tensor } from '../../src/engine/tensor.js';
import { gradcheck, param, randomValues, TestRng } from './gradcheck.js';

/** Values with |x| in [0.2, 1): away from relu's kink by more than the finite-difference step. */
function awayFromZero(shape: number[], seed: number): Tensor {
  const t = param(shape, seed, 0.2, 1);
  const signs = randomValues(t.size, seed + 1000);
  for (let i = 0; i < t.size; i++) if (signs[i] < 0) t.data[i] = -t.data[i];
  return t;
}

function nonVacuous(res: { checked: number; maxAbsGrad: number }, expected: number): void {
  assert.equal(res.checked, expected);
  assert.ok(res.maxAbsGrad > 1e-3, `gradient unexpectedly ~0 (max ${res.maxAbsGrad})`);
}

for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    test(`matmul gradient (transA=${transA}, transB=${transB})`, () => {
      const [M, K, N] = [3, 5, 4];
      const a = param(transA ? [K, M] : [M, K], 1);
      const b = param(transB ? [N, K] : [K, N], 2);
      const res = gradcheck(
        (g) => {
          const c = g.matmul(a, b, transA, transB);
          assert.deepEqual(c.shape, [M, N]);
          return c;
        },
        [a, b],
      );
      nonVacuous(res, 2 * M * K + K * N - M * K);
    });
  }
}

test('matmul forward equals a hand computation', () => {
  const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = Tensor.from([1, 0, 0, 1, 1, 1], [3, 2]);
  const c = new Graph({ training: false }).matmul(a, b);
  assert.deepEqual(Array.from(c.data), [4, 5, 10, 11]);
  const ct = new Graph({ training: false }).matmul(a, a, false, true);
  assert.deepEqual(Array.from(ct.data), [14, 32, 32, 77]);
});

test('linear gradient with bias and without', () => {
  const x = param([4, 3], 3);
  const W = param([3, 5], 4);
  const b = param([5], 5);
  nonVacuous(
    gradcheck((g) => g.linear(x, W, b), [x, W, b]),
    12 + 15 + 5,
  );
  nonVacuous(
    gradcheck((g) => g.linear(x, W), [x, W]),
    12 + 15,
  );
});

test("linear with activation 'relu' (fused): gradient with bias and without", () => {
  // Weights away from zero keep every pre-activation away from the ReLU kink by more than the
  // finite-difference step, so the check is not spoiled by a mask flipping.
  const x = awayFromZero([4, 3], 13);
  const W = awayFromZero([3, 5], 14);
  const b = param([5], 15);
  let active = 0;
  nonVacuous(
    gradcheck(
      (g) => {
        const y = g.linear(x, W, b, 'relu');
        active = y.data.filter((v) => v > 0).length;
        return y;
      },
      [x, W, b],
    ),
    12 + 15 + 5,
  );
  assert.ok(active > 0 && active < 20, `want some units on and some off, got ${active} of 20 on`);
  nonVacuous(
    gradcheck((g) => g.linear(x, W, undefined, 'relu'), [x, W]),
    12 + 15,
  );
});

test("linear(x, W, b, 'relu') gives relu(linear(x, W, b))'s values and gradients, NaN kept", () => {
  const x = param([6, 4], 21);
  const W = param([4, 7], 22);
  const b = param([7], 23);
  const seed = randomValues(6 * 7, 24);
  const run = (fused: boolean) => {
    for (const t of [x, W, b]) t.grad = null;
    const g = new Graph({ training: true });
    const y = fused ? g.linear(x, W, b, 'relu') : g.relu(g.linear(x, W, b));
    g.backward(y, seed);
    return { y: Array.from(y.data), grads: [x, W, b].map((t) => Array.from(t.grad!)) };
  };
  const fused = run(true);
  const plain = run(false);
  // Same float32 operations up to the order of the bias add (before or after the product).
  for (let i = 0; i < fused.y.length; i++) assert.ok(Math.abs(fused.y[i]! - plain.y[i]!) <= 1e-6);
  assert.ok(fused.y.some((v) => v === 0) && fused.y.some((v) => v > 0));
  fused.grads.forEach((gf, j) => {
    for (let i = 0; i < gf.length; i++)
      assert.ok(Math.abs(gf[i]! - plain.grads[j]![i]!) <= 1e-5, `grad ${j}[${i}]`);
  });
  x.data[0] = Number.NaN;
  const y = new Graph({ training: false }).linear(x, W, b, 'relu');
  assert.ok(Number.isNaN(y.data[0]), 'a NaN input must reach the output, not be zeroed by the ReLU');
  x.data[0] = 0.5;
  assert.throws(
    () => new Graph({ training: false }).linear(x, W, b, 'gelu' as 'relu'),
    /linear: unknown activation 'gelu'/,
  );
});

const broadcasts: [string, number[]][] = [
  ['same shape', [3, 4]],
  ['row [D]', [4]],
  ['row [1, D]', [1, 4]],
  ['column [B]', [3]],
  ['column [B, 1]', [3, 1]],
  ['scalar [1]', [1]],
];
for (const op of ['add', 'sub', 'mul'] as const) {
  for (const [label, bShape] of broadcasts) {
    test(`${op} gradient, b ${label}`, () => {
      const a = param([3, 4], 6);
      const b = param(bShape, 7);
      const res = gradcheck((g) => g[op](a, b), [a, b]);
      nonVacuous(res, a.size + b.size);
    });
  }
}

test('add broadcasts a row over rows and a column over columns (forward values)', () => {
  const g = new Graph({ training: false });
  const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(Array.from(g.add(a, Tensor.from([10, 20, 30], [3])).data), [11, 22, 33, 14, 25, 36]);
  assert.deepEqual(Array.from(g.add(a, Tensor.from([10, 20], [2])).data), [11, 12, 13, 24, 25, 26]);
  assert.deepEqual(Array.from(g.sub(a, Tensor.from([1], [1])).data), [0, 1, 2, 3, 4, 5]);
});

test('mul of a [B] vector with itself and rank-1 elementwise ops', () => {
  const a = param([6], 8);
  nonVacuous(
    gradcheck((g) => g.mul(a, a), [a]),
    6,
  );
});

test('scale gradient', () => {
  const a = param([2, 3], 9);
  nonVacuous(
    gradcheck((g) => g.scale(a, -2.5), [a]),
    6,
  );
});

test('relu gradient (inputs away from the kink)', () => {
  const a = awayFromZero([4, 5], 10);
  nonVacuous(
    gradcheck((g) => g.relu(a), [a]),
    20,
  );
});

for (const op of ['sigmoid', 'tanh', 'exp', 'softplus', 'logSigmoid'] as const) {
  test(`${op} gradient`, () => {
    const a = param([3, 4], 11, -3, 3);
    nonVacuous(
      gradcheck((g) => g[op](a), [a]),
      12,
    );
  });
}

test('softplus and logSigmoid are finite and accurate at extreme inputs', () => {
  const g = new Graph({ training: false });
  const x = Tensor.from([-80, -20, 0, 20, 80], [5]);
  const sp = g.softplus(x).data;
  const ls = g.logSigmoid(x).data;
  const expectSp = [Math.exp(-80), Math.log1p(Math.exp(-20)), Math.LN2, 20 + Math.log1p(Math.exp(-20)), 80];
  for (let i = 0; i < 5; i++) {
    assert.ok(
      Math.abs(sp[i] - expectSp[i]) <= 1e-6 * Math.abs(expectSp[i]),
      `softplus(${x.data[i]}) = ${sp[i]}`,
    );
    assert.ok(
      Math.abs(ls[i] + expectSp[4 - i]) <= 1e-6 * Math.abs(expectSp[4 - i]),
      `logSigmoid(${x.data[i]}) = ${ls[i]}`,
    );
  }
});

test('log gradient (positive inputs)', () => {
  const a = param([3, 4], 12, 0.5, 3);
  nonVacuous(
    gradcheck((g) => g.log(a), [a]),
    12,
  );
});

for (const op of ['softmax', 'logSoftmax'] as const) {
  test(`${op} gradient over the last axis (rank 2 and rank 1)`, () => {
    const a = param([3, 5], 13, -2, 2);
    nonVacuous(
      gradcheck((g) => g[op](a), [a]),
      15,
    );
    const v = param([4], 14, -2, 2);
    nonVacuous(
      gradcheck((g) => g[op](v), [v]),
      4,
    );
  });
}

test('softmax and logSoftmax stay finite for logits of 1000 and agree', () => {
  const g = new Graph({ training: false });
  const a = Tensor.from([1000, 999, -1000, 0], [1, 4]);
  const p = g.softmax(a);
  const lp = g.logSoftmax(a);
  assert.ok(Graph.isFinite(p) && Graph.isFinite(lp));
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(Math.exp(lp.data[i]) - p.data[i]) < 1e-6);
  assert.ok(Math.abs(p.data[0] - 1 / (1 + Math.exp(-1))) < 1e-6);
});

for (const op of ['sum', 'mean'] as const) {
  for (const axis of [undefined, 0, 1] as const) {
    test(`${op} gradient, axis ${axis ?? 'all'}`, () => {
      const a = param([3, 4], 15);
      const res = gradcheck((g) => g[op](a, axis), [a]);
      nonVacuous(res, 12);
    });
  }
  test(`${op} of a rank-1 tensor over axis 0 and all`, () => {
    const a = param([5], 16);
    nonVacuous(
      gradcheck((g) => g[op](a, 0), [a]),
      5,
    );
    nonVacuous(
      gradcheck((g) => g[op](a), [a]),
      5,
    );
  });
}

test('concat gradient, including a rank-1 column', () => {
  const a = param([3, 2], 17);
  const b = param([3], 18);
  const c = param([3, 4], 19);
  const res = gradcheck(
    (g) => {
      const out = g.concat([a, b, c]);
      assert.deepEqual(out.shape, [3, 7]);
      return out;
    },
    [a, b, c],
  );
  nonVacuous(res, 6 + 3 + 12);
});

test('slice gradient (untouched columns get zero)', () => {
  const a = param([3, 6], 20);
  const res = gradcheck((g) => g.slice(a, 2, 5), [a]);
  nonVacuous(res, 18);
  const grad = a.grad!;
  for (let r = 0; r < 3; r++) {
    for (const d of [0, 1, 5]) assert.equal(grad[r * 6 + d], 0);
  }
});

test('rowDot gradient', () => {
  const a = param([4, 3], 21);
  const b = param([4, 3], 22);
  nonVacuous(
    gradcheck((g) => g.rowDot(a, b), [a, b]),
    24,
  );
});

test('scoreMatrix gradient with B ≠ N', () => {
  const u = param([3, 4], 23);
  const v = param([5, 4], 24);
  const res = gradcheck(
    (g) => {
      const s = g.scoreMatrix(u, v);
      assert.deepEqual(s.shape, [3, 5]);
      return s;
    },
    [u, v],
  );
  nonVacuous(res, 12 + 20);
});

test('l2Normalize gradient and unit norms', () => {
  const a = param([3, 4], 25);
  nonVacuous(
    gradcheck((g) => g.l2Normalize(a), [a]),
    12,
  );
  const y = new Graph({ training: false }).l2Normalize(a);
  for (let r = 0; r < 3; r++) {
    let s = 0;
    for (let d = 0; d < 4; d++) s += y.data[r * 4 + d] ** 2;
    assert.ok(Math.abs(s - 1) < 1e-5);
  }
  const zero = new Graph({ training: false }).l2Normalize(Tensor.zeros([1, 3]));
  assert.deepEqual(Array.from(zero.data), [0, 0, 0]);
});

test('layerNorm gradient for x, gamma and beta', () => {
  const x = param([3, 5], 26, -2, 2);
  const gamma = param([5], 27, 0.5, 1.5);
  const beta = param([5], 28);
  nonVacuous(
    gradcheck((g) => g.layerNorm(x, gamma, beta), [x, gamma, beta]),
    15 + 5 + 5,
  );
});

test('reshape gradient', () => {
  const a = param([6], 29);
  const w = param([2, 3], 30);
  nonVacuous(
    gradcheck((g) => g.mul(g.reshape(a, [2, 3]), w), [a, w]),
    12,
  );
});

test('dropout gradient with a fixed seed, and its statistics', () => {
  const a = param([8, 8], 31);
  nonVacuous(
    gradcheck((g) => g.dropout(a, 0.3), [a], { rngSeed: 5 }),
    64,
  );
  const big = Tensor.from(new Float32Array(20000).fill(1), [100, 200]);
  const y = new Graph({ training: true, rng: new TestRng(3) }).dropout(big, 0.25);
  let zeros = 0;
  for (const v of y.data) {
    if (v === 0) zeros++;
    else assert.ok(Math.abs(v - 1 / 0.75) < 1e-6);
  }
  assert.ok(Math.abs(zeros / 20000 - 0.25) < 0.02, `dropped fraction ${zeros / 20000}`);
  const again = new Graph({ training: true, rng: new TestRng(3) }).dropout(big, 0.25);
  assert.deepEqual(again.data, y.data, 'same seed, same mask');
  assert.equal(new Graph({ training: false }).dropout(big, 0.25), big, 'identity in eval mode');
});

test('a chain of ops (MLP-like) has a correct gradient', () => {
  const x = param([4, 3], 32);
  const W1 = param([3, 6], 33);
  const b1 = param([6], 34);
  const W2 = param([6, 2], 35);
  const res = gradcheck((g) => g.tanh(g.linear(g.sigmoid(g.linear(x, W1, b1)), W2)), [x, W1, b1, W2]);
  nonVacuous(res, 12 + 18 + 6 + 12);
});

test('relu propagates NaN instead of hiding it', () => {
  const y = new Graph({ training: false }).relu(Tensor.from([Number.NaN, -1, 2], [3]));
  assert.ok(Number.isNaN(y.data[0]));
  assert.deepEqual(Array.from(y.data.subarray(1)), [0, 2]);
});

test('gradients through intermediates shared by several consumers (fresh and accumulating paths)', () => {
  const x = param([4, 3], 40);
  const W = param([3, 3], 41);
  const res = gradcheck(
    (g) => {
      // h and e are graph outputs consumed by several ops: the first consumer to run backward writes
      // a fresh gradient buffer, the others must accumulate into it.
      const h = g.tanh(x);
      const e = g.sigmoid(g.matmul(h, W));
      const r1 = g.relu(g.sub(h, g.scale(e, 0.5)));
      const parts = g.concat([h, e, g.relu(h)]);
      const l = g.linear(h, W);
      const s = g.scoreMatrix(h, e);
      const m = g.matmul(e, h, true, false);
      return g.concat([
        g.sum(parts, 1),
        g.rowDot(h, e),
        g.sum(g.mul(l, e), 1),
        g.sum(s, 1),
        g.sum(r1, 1),
        g.sum(g.linear(g.relu(g.linear(h, W)), W), 1),
        g.sum(g.matmul(h, m), 1),
      ]);
    },
    [x, W],
  );
  assert.equal(res.checked, 12 + 9);
  assert.ok(res.maxAbsGrad > 1e-3);
});

test('gradient when one intermediate is both operands (Gram matrices, self-concat)', () => {
  const x = param([3, 4], 42);
  const res = gradcheck(
    (g) => {
      const h = g.tanh(x);
      return g.concat([g.scoreMatrix(h, h), g.matmul(h, h, false, true), g.concat([h, h]), g.rowDot(h, h)]);
    },
    [x],
  );
  assert.equal(res.checked, 12);
  assert.ok(res.maxAbsGrad > 1e-3);
});
