/**
 * Graph mechanics: the arena (no allocation in steady state), stop-gradient, gradient
 * accumulation, error messages naming the op and both shapes, and misuse errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmbeddingTable } from '../../src/engine/embedding.js';
import { Graph } from '../../src/engine/graph.js';
import { jsKernels } from '../../src/engine/kernels/js.js';
import type { Kernels } from '../../src/engine/kernels/types.js';
import { Tensor } from '../../src/engine/tensor.js';
import { param, randomValues, TestRng } from './gradcheck.js';

/** One training-like step: embeddings → MLP with dropout/layerNorm → two towers → losses. */
function step(
  g: Graph,
  p: { W1: Tensor; b1: Tensor; W2: Tensor; gamma: Tensor; beta: Tensor; table: EmbeddingTable },
  ids: Int32Array,
  x: Float32Array,
  labels: Float32Array,
): number {
  const emb = g.embeddingBag(p.table, ids, 8, 2, 'mean');
  const dense = g.input(x, [8, 4]);
  const h = g.relu(g.linear(g.concat([emb, dense]), p.W1, p.b1));
  const hn = g.layerNorm(g.dropout(h, 0.1), p.gamma, p.beta);
  const u = g.l2Normalize(g.linear(hn, p.W2));
  const scores = g.scoreMatrix(u, g.slice(hn, 0, 3));
  const logits = g.rowDot(u, g.slice(hn, 1, 4));
  const loss = g.add(
    g.add(
      g.bceWithLogits(logits, labels),
      g.softmaxCrossEntropy(scores, Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7])),
    ),
    g.klDiv(logits, g.detach(g.sigmoid(logits)), { temperature: 2, binary: true }),
  );
  g.backward(loss);
  return loss.data[0];
}

test('a repeated training step allocates no buffers after the first step', () => {
  const p = {
    W1: param([7, 6], 1),
    b1: param([6], 2),
    W2: param([6, 3], 3),
    gamma: param([6], 4, 0.5, 1.5),
    beta: param([6], 5),
    table: new EmbeddingTable('items', 50, 3),
  };
  const ids = Int32Array.from([1, 2, 3, -1, 4, 4, 9, 49, 0, 1, 7, 7, -1, -1, 30, 31]);
  const x = randomValues(32, 6);
  const labels = Float32Array.from([1, 0, 0, 1, 0, 0, 0, 1]);
  const g = new Graph({ training: true, rng: new TestRng(1) });
  const l1 = step(g, p, ids, x, labels);
  const afterFirst = g.arenaAllocations;
  assert.ok(afterFirst > 10, `expected the first step to allocate, got ${afterFirst}`);
  for (let i = 0; i < 3; i++) {
    g.reset();
    p.table.zeroGrad();
    step(g, p, ids, x, labels);
  }
  assert.equal(g.arenaAllocations, afterFirst, 'steady-state steps allocated arena buffers');
  assert.ok(Number.isFinite(l1));
});

test('parameter gradients accumulate across backward passes until zeroed; a reused tensor sums both paths', () => {
  const w = new Tensor(Float32Array.from([2, 3]), [2], true, 'w');
  const g = new Graph({ training: true });
  // loss = Σ w ⊙ w  → dL/dw = 2w
  g.backward(g.sum(g.mul(w, w)));
  assert.deepEqual(Array.from(w.grad!), [4, 6]);
  const gradBuf = w.grad;
  g.reset();
  g.backward(g.sum(g.mul(w, w)));
  assert.deepEqual(Array.from(w.grad!), [8, 12]);
  assert.equal(w.grad, gradBuf, 'a parameter keeps its gradient buffer');
});

test('detach stops the gradient', () => {
  const a = new Tensor(Float32Array.from([1, 2, 3]), [3], true);
  const b = new Tensor(Float32Array.from([4, 5, 6]), [3], true);
  const g = new Graph({ training: true });
  // loss = Σ a ⊙ detach(b) + Σ detach(a): only a receives gradient, equal to b.
  const loss = g.add(g.sum(g.mul(a, g.detach(b))), g.sum(g.detach(a)));
  g.backward(loss);
  assert.deepEqual(Array.from(a.grad!), [4, 5, 6]);
  assert.equal(b.grad, null);
  assert.equal(g.detach(a).data, a.data, 'detach does not copy');
});

test('shape mismatches throw naming the op and both shapes', () => {
  const g = new Graph({ training: false });
  const a = Tensor.zeros([2, 3]);
  const b = Tensor.zeros([4, 5]);
  const cases: [() => unknown, RegExp][] = [
    [() => g.matmul(a, b), /Error: matmul: shapes \[2, 3\] and \[4, 5\]/],
    [() => g.matmul(a, b, true, false), /Error: matmul: shapes \[2, 3\] and \[4, 5\]/],
    [() => g.linear(a, b), /Error: linear: shapes \[2, 3\] and \[4, 5\]/],
    [() => g.linear(a, Tensor.zeros([3, 5]), Tensor.zeros([4])), /Error: linear: shapes \[3, 5\] and \[4\]/],
    [() => g.add(a, b), /Error: add: shapes \[2, 3\] and \[4, 5\] do not broadcast/],
    [() => g.sub(a, Tensor.zeros([5])), /Error: sub: shapes \[2, 3\] and \[5\]/],
    [() => g.mul(a, Tensor.zeros([2, 2])), /Error: mul: shapes \[2, 3\] and \[2, 2\]/],
    [() => g.rowDot(a, Tensor.zeros([2, 4])), /Error: rowDot: shapes \[2, 3\] and \[2, 4\]/],
    [() => g.scoreMatrix(a, Tensor.zeros([2, 4])), /Error: scoreMatrix: shapes \[2, 3\] and \[2, 4\]/],
    [() => g.concat([a, b]), /Error: concat: shapes \[2, 3\] and \[4, 5\]/],
    [
      () => g.layerNorm(a, Tensor.zeros([4]), Tensor.zeros([3])),
      /Error: layerNorm: shapes \[2, 3\] and \[4\]/,
    ],
    [() => g.mse(a, b), /Error: mse: shapes \[2, 3\] and \[4, 5\]/],
    [() => g.softmaxCrossEntropy(a, b), /Error: softmaxCrossEntropy: shapes \[2, 3\] and \[4, 5\]/],
    [
      () => g.bceWithLogits(Tensor.zeros([3]), Tensor.zeros([4])),
      /Error: bceWithLogits: shapes \[3\] and \[4\]/,
    ],
    [() => g.reshape(a, [5]), /Error: reshape: shapes \[2, 3\] and \[5\]/],
    [() => g.slice(a, 2, 4), /Error: slice: columns \[2, 4\) .* shape \[2, 3\]/],
    [() => g.sum(Tensor.zeros([3]), 1), /Error: sum: axis 1 needs a rank-2 tensor, got shape \[3\]/],
  ];
  for (const [fn, re] of cases) assert.throws(fn, re);
});

test('misuse is reported: double backward, non-scalar loss, dropout without rng, bad p', () => {
  const w = new Tensor(Float32Array.from([1, 2]), [2], true);
  const g = new Graph({ training: true });
  const y = g.scale(w, 2);
  assert.throws(() => g.backward(y), /backward: output \[2\] is not a scalar loss/);
  g.backward(y, Float32Array.from([1, 1]));
  assert.throws(() => g.backward(y, Float32Array.from([1, 1])), /already run/);
  assert.throws(
    () => new Graph({ training: true }).backward(g.input(new Float32Array(1), [1])),
    /does not depend on any tensor/,
  );
  assert.throws(() => g.dropout(w, 0.5), /dropout: the Graph was created with training: true but no rng/);
  assert.throws(() => g.dropout(w, 1), /dropout: p must be in \[0, 1\), got 1/);
});

test('Graph.isFinite detects NaN and ±Infinity', () => {
  assert.equal(Graph.isFinite(Tensor.from([1, 2, 3], [3])), true);
  assert.equal(Graph.isFinite(Tensor.from([1, Number.NaN], [2])), false);
  assert.equal(Graph.isFinite(Tensor.from([Number.NEGATIVE_INFINITY], [1])), false);
});

test('ops on constants record nothing on the tape', () => {
  const g = new Graph({ training: true });
  const a = g.input(randomValues(6, 1), [2, 3]);
  g.relu(g.matmul(a, a, false, true));
  assert.equal(g.tapeLength, 0);
});

test('matmul, linear, scoreMatrix and embeddingBag go through the kernel seam given to the Graph', () => {
  const calls = { sgemm: 0, gatherPool: 0, scatterAddRows: 0 };
  const counting: Kernels = {
    ...jsKernels,
    name: 'counting',
    sgemm: (...args) => {
      calls.sgemm++;
      jsKernels.sgemm(...args);
    },
    gatherPool: (...args) => {
      calls.gatherPool++;
      jsKernels.gatherPool(...args);
    },
    scatterAddRows: (...args) => {
      calls.scatterAddRows++;
      jsKernels.scatterAddRows(...args);
    },
  };
  const g = new Graph({ training: true, kernels: counting });
  const t = new EmbeddingTable('seam', 10, 4);
  const W = param([4, 4], 1);
  const e = g.embeddingBag(t, Int32Array.from([1, 2, 3]), 3, 1, 'sum');
  const h = g.linear(e, W);
  const s = g.scoreMatrix(h, g.matmul(e, W));
  g.backward(g.sum(s));
  assert.deepEqual(calls, { sgemm: 3 + 2 + 2 + 2, gatherPool: 1, scatterAddRows: 1 });
});

test('a column given as [B, 1] broadcasts over columns even when B equals D', () => {
  const g = new Graph({ training: false });
  const a = Tensor.from([1, 2, 3, 4], [2, 2]);
  assert.deepEqual(Array.from(g.mul(a, Tensor.from([10, 100], [2, 1])).data), [10, 20, 300, 400]);
  assert.deepEqual(
    Array.from(g.mul(a, Tensor.from([10, 100], [2])).data),
    [10, 200, 30, 400],
    '[D] is a row',
  );
});

test('reset() detaches graph outputs from their recycled gradient buffers', () => {
  const w = new Tensor(Float32Array.from([1, 2]), [2], true);
  const g = new Graph({ training: true });
  const h = g.scale(w, 3);
  g.backward(g.sum(h));
  assert.deepEqual(Array.from(h.grad!), [1, 1]);
  g.reset();
  assert.equal(h.grad, null, 'a stale output must not keep a buffer the arena will hand out again');
  assert.deepEqual(Array.from(w.grad!), [3, 3], 'parameter gradients survive reset');
});

test('a Graph with grad: false records no tape even for parameters', () => {
  const W = param([3, 2], 1);
  const t = new EmbeddingTable('frozen-forward', 4, 3);
  const g = new Graph({ training: false, grad: false });
  const y = g.sum(g.reshape(g.linear(g.embeddingBag(t, Int32Array.from([0, 3]), 2, 1, 'sum'), W), [4]));
  assert.equal(y.requiresGrad, false);
  assert.equal(g.tapeLength, 0);
  assert.throws(() => g.backward(y), /does not depend on any tensor that requires grad/);
});
