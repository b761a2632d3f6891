/**
 * Losses: gradient checks against finite differences, values against hand-computed references,
 * the distillation contract (the teacher side of klDiv gets no gradient) and numerical stability.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.js';
import { Tensor } from '../../src/engine/tensor.js';
import { gradcheck, param, randomValues } from './gradcheck.js';
const close = (a, b, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `got ${a}, expected ${b}`);
function nonVacuous(res, expected) {
    assert.equal(res.checked, expected);
    assert.ok(res.maxAbsGrad > 1e-3, `gradient unexpectedly ~0 (max ${res.maxAbsGrad})`);
}
test('bceWithLogits gradient with soft targets and per-row weights', () => {
    const x = param([6], 1, -3, 3);
    const z = randomValues(6, 2, 0, 1);
    const w = randomValues(6, 3, 0.2, 2);
    nonVacuous(gradcheck((g) => g.bceWithLogits(x, z, w), [x]), 6);
    const x2 = param([5, 1], 4, -3, 3);
    const zt = new Tensor(randomValues(5, 5, 0, 1), [5, 1]);
    nonVacuous(gradcheck((g) => g.bceWithLogits(x2, zt), [x2]), 5);
});
test('bceWithLogits value equals −z·log σ(x) − (1−z)·log(1−σ(x)), weights divide by B', () => {
    const x = [0.3, -1.2, 2];
    const z = [1, 0.25, 0];
    const w = [2, 1, 0.5];
    let expected = 0;
    for (let i = 0; i < 3; i++) {
        const p = 1 / (1 + Math.exp(-x[i]));
        expected += w[i] * (-z[i] * Math.log(p) - (1 - z[i]) * Math.log(1 - p));
    }
    expected /= 3;
    const g = new Graph({ training: false });
    const loss = g.bceWithLogits(Tensor.from(x, [3]), Float32Array.from(z), Float32Array.from(w));
    assert.deepEqual(loss.shape, [1]);
    close(loss.data[0], expected);
});
test('bceWithLogits at logits ±100 gives a finite loss and finite gradients', () => {
    const x = new Tensor(Float32Array.from([100, -100, 100, -100]), [4], true);
    const g = new Graph({ training: true });
    const loss = g.bceWithLogits(x, Float32Array.from([1, 0, 0, 1]));
    assert.ok(Graph.isFinite(loss));
    close(loss.data[0], (0 + 0 + 100 + 100) / 4);
    g.backward(loss);
    assert.ok(Graph.isFinite(new Tensor(x.grad, [4])));
    // dℓ/dx = (σ(x) − z)/B: ≈ 0 for the confident correct rows, ±1/4 for the confident wrong ones.
    for (const [i, e] of [0, 0, 0.25, -0.25].entries())
        close(x.grad[i], e, 1e-6);
});
test('bceWithLogits rejects targets outside [0, 1] naming the row', () => {
    const g = new Graph({ training: false });
    assert.throws(() => g.bceWithLogits(Tensor.zeros([3]), Float32Array.from([0, 1.5, 1])), /bceWithLogits: target\[1\] = 1\.5, expected a probability in \[0, 1\]/);
    assert.throws(() => g.bceWithLogits(Tensor.zeros([3]), Float32Array.from([0, 1])), /bceWithLogits: shapes \[3\] and \[2\]/);
});
test('softmaxCrossEntropy gradient with class-index targets', () => {
    const x = param([4, 5], 6, -2, 2);
    const idx = Int32Array.from([0, 4, 2, 2]);
    nonVacuous(gradcheck((g) => g.softmaxCrossEntropy(x, idx), [x]), 20);
});
test('softmaxCrossEntropy gradient with probability targets and weights', () => {
    const x = param([3, 4], 7, -2, 2);
    const raw = randomValues(12, 8, 0.1, 1);
    for (let r = 0; r < 3; r++) {
        let s = 0;
        for (let c = 0; c < 4; c++)
            s += raw[r * 4 + c];
        for (let c = 0; c < 4; c++)
            raw[r * 4 + c] /= s;
    }
    const t = new Tensor(raw, [3, 4]);
    const w = Float32Array.from([1, 0.5, 2]);
    nonVacuous(gradcheck((g) => g.softmaxCrossEntropy(x, t, w), [x]), 12);
});
test('softmaxCrossEntropy value with indices equals one-hot probabilities; bad index is named', () => {
    const x = Tensor.from([1, 2, 3, 0, 0, 5], [2, 3]);
    const g = new Graph({ training: false });
    const a = g.softmaxCrossEntropy(x, Int32Array.from([2, 0])).data[0];
    const b = g.softmaxCrossEntropy(x, Tensor.from([0, 0, 1, 1, 0, 0], [2, 3])).data[0];
    const lse0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    const lse1 = Math.log(2 + Math.exp(5));
    close(a, (lse0 - 3 + lse1) / 2);
    close(b, a);
    assert.throws(() => g.softmaxCrossEntropy(x, Int32Array.from([3, 0])), /softmaxCrossEntropy: target\[0\] = 3, expected a class index in \[0, 3\)/);
});
for (const T of [1, 3]) {
    test(`klDiv binary gradient at temperature ${T}, teacher gets no gradient`, () => {
        const s = param([6], 9, -3, 3);
        const t = param([6], 10, -3, 3); // requires grad, but is the teacher: must stay untouched
        const w = randomValues(6, 11, 0.5, 1.5);
        nonVacuous(gradcheck((g) => g.klDiv(s, t, { temperature: T, binary: true }, w), [s]), 6);
        assert.equal(t.grad, null, 'teacher logits received a gradient');
    });
    test(`klDiv softmax gradient at temperature ${T}, teacher gets no gradient`, () => {
        const s = param([3, 5], 12, -3, 3);
        const t = param([3, 5], 13, -3, 3);
        nonVacuous(gradcheck((g) => g.klDiv(s, t, { temperature: T, binary: false }), [s]), 15);
        assert.equal(t.grad, null, 'teacher logits received a gradient');
    });
}
test('klDiv values: zero for equal logits, T² scaling, binary equals the two-column softmax form', () => {
    const g = new Graph({ training: false });
    const s = Tensor.from([0.5, -1, 2], [3]);
    const t = Tensor.from([1.5, 0, -0.5], [3]);
    assert.ok(Math.abs(g.klDiv(s, s, { temperature: 2, binary: true }).data[0]) < 1e-7);
    const scaled = g.klDiv(s, t, { temperature: 2, binary: true }).data[0];
    const unscaled = g.klDiv(s, t, { temperature: 2, binary: true, t2Scale: false }).data[0];
    close(scaled, 4 * unscaled);
    // [1 − σ(x), σ(x)] = softmax([0, x]): the binary form must equal the softmax form on [0, x].
    const s2 = Tensor.from([0, 0.5, 0, -1, 0, 2], [3, 2]);
    const t2 = Tensor.from([0, 1.5, 0, 0, 0, -0.5], [3, 2]);
    close(g.klDiv(s2, t2, { temperature: 2, binary: false, t2Scale: false }).data[0], unscaled);
    // Direct reference for one row: KL(p‖q) with p = σ(1.5/2).
    const p = 1 / (1 + Math.exp(-0.75));
    const q = 1 / (1 + Math.exp(-0.25));
    const row0 = p * Math.log(p / q) + (1 - p) * Math.log((1 - p) / (1 - q));
    const only0 = g.klDiv(Tensor.from([0.5], [1]), Tensor.from([1.5], [1]), {
        temperature: 2,
        binary: true,
        t2Scale: false,
    });
    close(only0.data[0], row0);
});
test('klDiv stays finite at extreme logits and rejects a bad temperature', () => {
    const g = new Graph({ training: true });
    const s = new Tensor(Float32Array.from([100, -100, 80]), [3], true);
    const t = Tensor.from([-100, 100, 80], [3]);
    const loss = g.klDiv(s, t, { temperature: 1, binary: true });
    assert.ok(Graph.isFinite(loss) && loss.data[0] > 0);
    g.backward(loss);
    assert.ok(Graph.isFinite(new Tensor(s.grad, [3])));
    assert.throws(() => g.klDiv(s, t, { temperature: 0, binary: true }), /klDiv: temperature must be/);
    assert.throws(() => g.klDiv(Tensor.zeros([2, 3]), Tensor.zeros([2, 4]), { temperature: 1, binary: false }), /klDiv: shapes \[2, 3\] and \[2, 4\]/);
});
test('mse gradient for both sides, with and without weights', () => {
    const a = param([4, 3], 14);
    const b = param([4, 3], 15);
    nonVacuous(gradcheck((g) => g.mse(a, b), [a, b]), 24);
    const w = Float32Array.from([1, 2, 0, 0.5]);
    nonVacuous(gradcheck((g) => g.mse(a, b, w), [a, b]), 24);
    const g = new Graph({ training: false });
    close(g.mse(Tensor.from([1, 2, 3, 4], [2, 2]), Tensor.from([0, 0, 0, 0], [2, 2])).data[0], 30 / 4);
});
test('losses reject weights of the wrong length', () => {
    const g = new Graph({ training: false });
    assert.throws(() => g.mse(Tensor.zeros([3]), Tensor.zeros([3]), new Float32Array(2)), /mse: weights have 2 values for 3 rows/);
});
//# sourceMappingURL=graphLosses.test.js.map