import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmbeddingTable } from '../../src/engine/embedding.js';
import { Adagrad, Adam, AdamW, clipGradNorm, SparseAdagrad, SparseAdam } from '../../src/engine/optim.js';
import { linearWarmup } from '../../src/engine/schedules.js';
import { Tensor } from '../../src/engine/tensor.js';
const near = (a, b, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
function param(values, name = 'w') {
    return Tensor.from(values, [values.length], true, name);
}
function setGrad(p, g) {
    p.ensureGrad().set(g);
}
/** Writes a compact sparse gradient for `ids` (one row each) into a table, as the graph would. */
function setSparseGrad(t, ids, rows) {
    const idArr = Int32Array.from(ids);
    const slot = new Int32Array(ids.length);
    const grad = t.assignSlots(idArr, ids.length, slot);
    ids.forEach((_, i) => {
        for (let d = 0; d < t.dim; d++)
            grad[slot[i] * t.dim + d] += rows[i][d];
    });
}
// Expected values computed by hand in float64 from Kingma & Ba, Algorithm 1 (lr 0.1, β 0.9/0.999,
// ε 1e-8, w0 = 1, g1 = 0.5, g2 = −1).
test('Adam: steps 1 and 2 match hand-computed values; grads are cleared', () => {
    const w = param([1, 1]);
    const opt = new Adam([w], { lr: 0.1 });
    setGrad(w, [0.5, 0]);
    opt.step();
    near(w.data[0], 0.900000002);
    assert.equal(w.data[1], 1); // zero gradient: m = v = 0, no movement
    assert.deepEqual([...w.grad], [0, 0]);
    setGrad(w, [-1, 0]);
    opt.step();
    near(w.data[0], 0.9366103542405654);
    const st = opt.state();
    assert.equal(st.step, 2);
    near(st.buffers['m/w'].data[0], -0.055);
    near(st.buffers['v/w'].data[0], 0.00124975);
});
test('AdamW applies decoupled weight decay to the pre-update weight', () => {
    const w = param([1]);
    const opt = new AdamW([w], { lr: 0.1, weightDecay: 0.1 });
    setGrad(w, [0.5]);
    opt.step();
    near(w.data[0], 0.890000002);
    setGrad(w, [-1]);
    opt.step();
    near(w.data[0], 0.9177103542205653);
});
test('Adagrad: two hand-computed steps', () => {
    const w = param([1]);
    const opt = new Adagrad([w], { lr: 0.1 });
    setGrad(w, [0.5]);
    opt.step();
    near(w.data[0], 0.9);
    setGrad(w, [-1]);
    opt.step();
    near(w.data[0], 0.9894427191119917);
    near(opt.state().buffers['acc/w'].data[0], 1.25);
});
test('a parameter without a gradient this step is not updated', () => {
    const a = param([1], 'a');
    const b = param([1], 'b');
    const opt = new Adam([a, b], { lr: 0.1 });
    setGrad(a, [1]);
    opt.step();
    assert.notEqual(a.data[0], 1);
    assert.equal(b.data[0], 1);
});
test('learning rate follows the schedule by step', () => {
    const w = param([0]);
    const opt = new Adagrad([w], { lr: linearWarmup(1, 4) });
    assert.equal(opt.currentLr(), 0.25);
    setGrad(w, [1]);
    opt.step();
    near(w.data[0], -0.25);
    assert.equal(opt.currentLr(), 0.5);
});
test('lazy SparseAdam updates only touched rows; untouched rows and their moments stay unchanged', () => {
    const t = new EmbeddingTable('emb', 4, 2, (w) => w.fill(1));
    const opt = new SparseAdam([t], { lr: 0.1 });
    setSparseGrad(t, [1, 3], [
        [0.5, 0.5],
        [0.5, -0.5],
    ]);
    opt.step();
    const w = t.weight.data;
    near(w[2], 0.900000002);
    near(w[7], 1.099999998);
    assert.deepEqual([w[0], w[1], w[4], w[5]], [1, 1, 1, 1]);
    assert.equal(t.sparseGrad().nRows, 0, 'sparse grad cleared after step');
    const { m, v } = { m: opt.state().buffers['m/emb'].data, v: opt.state().buffers['v/emb'].data };
    const m3 = [...m.subarray(6, 8)];
    const v3 = [...v.subarray(6, 8)];
    // step 2 touches only row 1: row 3's moments must not decay (dense Adam would multiply by β)
    setSparseGrad(t, [1], [[-1, 0]]);
    opt.step();
    assert.deepEqual([...m.subarray(6, 8)], m3);
    assert.deepEqual([...v.subarray(6, 8)], v3);
    near(w[7], 1.099999998);
    near(w[2], 0.9366103542405654); // same as dense Adam step 2 (global step count)
    assert.deepEqual([w[0], w[1], w[4], w[5]], [1, 1, 1, 1]);
});
test('SparseAdagrad updates only touched rows', () => {
    const t = new EmbeddingTable('emb', 3, 1, (w) => w.fill(1));
    const opt = new SparseAdagrad([t], { lr: 0.1 });
    setSparseGrad(t, [2], [[0.5]]);
    opt.step();
    setSparseGrad(t, [2], [[-1]]);
    opt.step();
    near(t.weight.data[2], 0.9894427191119917);
    assert.deepEqual([t.weight.data[0], t.weight.data[1]], [1, 1]);
    assert.deepEqual([...opt.state().buffers['acc/emb'].data], [0, 0, 1.25]);
});
test('clipGradNorm scales dense and sparse gradients to maxNorm and returns the pre-clip norm', () => {
    const w = param([0, 0]);
    setGrad(w, [3, 0]);
    const t = new EmbeddingTable('emb', 5, 1, (x) => x.fill(0));
    setSparseGrad(t, [4], [[4]]);
    const norm = clipGradNorm([w], [t], 1);
    near(norm, 5);
    near(w.grad[0], 0.6, 1e-6);
    near(t.sparseGrad().grad[0], 0.8, 1e-6);
    // below the threshold nothing changes
    setGrad(w, [0.1, 0]);
    t.zeroGrad();
    assert.equal(clipGradNorm([w], [t], 1), 0.10000000149011612);
    assert.equal(w.grad[0], Math.fround(0.1));
    setGrad(w, [Number.NaN, 0]);
    assert.throws(() => clipGradNorm([w], [t], 1), /gradient of 'w' is not finite/);
});
test('bad hyper-parameters are refused by name', () => {
    assert.throws(() => new Adam([], { lr: 0.1, beta1: 1 }), /Adam: beta1 must be in \[0, 1\)/);
    assert.throws(() => new SparseAdagrad([], { lr: 0.1, eps: 0 }), /SparseAdagrad: eps must be > 0/);
    assert.throws(() => new Adam([], { lr: 0.1 }).setStepCount(-1), /step count must be an integer ≥ 0/);
});
//# sourceMappingURL=optim.test.js.map