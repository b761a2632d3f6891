import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lambdaAt, studentLossWeights, validateLambdaSchedule, warmupEndStep, } from '../../src/distill/lambdaSchedule.js';
test('step schedule: 0 until step k, then the fixed value', () => {
    const s = { kind: 'step', value: 0.7, startStep: 100 };
    assert.equal(lambdaAt(s, 0), 0);
    assert.equal(lambdaAt(s, 99), 0);
    assert.equal(lambdaAt(s, 100), 0.7);
    assert.equal(lambdaAt(s, 101), 0.7);
    assert.equal(lambdaAt(s, 1e6), 0.7);
    assert.equal(warmupEndStep(s), 100);
});
test('linear ramp: 0 at k1, value at k2, exact midpoint', () => {
    const s = { kind: 'linear', value: 2, startStep: 10, endStep: 30 };
    assert.equal(lambdaAt(s, 0), 0);
    assert.equal(lambdaAt(s, 10), 0);
    assert.equal(lambdaAt(s, 11), 0.1);
    assert.equal(lambdaAt(s, 20), 1);
    assert.equal(lambdaAt(s, 29), 1.9);
    assert.equal(lambdaAt(s, 30), 2);
    assert.equal(lambdaAt(s, 31), 2);
    assert.equal(warmupEndStep(s), 30);
});
test('constant schedule and its warm-up end', () => {
    const s = { kind: 'constant', value: 0.3 };
    assert.equal(lambdaAt(s, 0), 0.3);
    assert.equal(lambdaAt(s, 5000), 0.3);
    assert.equal(warmupEndStep(s), 0);
});
test('both student objectives', () => {
    assert.deepEqual(studentLossWeights('hard_plus_kd', 0), { hard: 1, kd: 0 });
    assert.deepEqual(studentLossWeights('hard_plus_kd', 3), { hard: 1, kd: 3 });
    assert.deepEqual(studentLossWeights('convex', 0.25), { hard: 0.75, kd: 0.25 });
    assert.deepEqual(studentLossWeights('convex', 0), { hard: 1, kd: 0 });
    assert.throws(() => studentLossWeights('convex', 1.5), /convex' needs lambda <= 1/);
});
test('invalid schedules are refused', () => {
    assert.throws(() => validateLambdaSchedule({ kind: 'linear', value: 1, startStep: 5, endStep: 5 }), /endStep/);
    assert.throws(() => validateLambdaSchedule({ kind: 'step', value: -1, startStep: 5 }), /value/);
    assert.throws(() => validateLambdaSchedule({ kind: 'step', value: 1, startStep: 1.5 }), /startStep/);
});
//# sourceMappingURL=lambdaSchedule.test.js.map