import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constant, cosine, linearDecay, linearWarmup, lrAt, stepDecay } from '../../src/engine/schedules.js';
const close = (a, b) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
test('constant and lrAt', () => {
    assert.equal(constant(0.1)(0), 0.1);
    assert.equal(constant(0.1)(1e6), 0.1);
    assert.equal(lrAt(0.5, 10), 0.5);
    assert.equal(lrAt(linearDecay(1, 10), 5), 0.5);
});
test('linear warm-up: first step base/W, step W−1 reaches base, then the following schedule', () => {
    const s = linearWarmup(1, 4, linearDecay(1, 10));
    close(s(0), 0.25);
    close(s(2), 0.75);
    close(s(3), 1);
    close(s(4), 1); // linearDecay starts at its step 0
    close(s(9), 0.5);
    close(s(14), 0);
    close(linearWarmup(2, 3)(100), 2);
    assert.throws(() => linearWarmup(1, 0), /warmupSteps must be an integer ≥ 1/);
});
test('linear decay and cosine hit their end values at totalSteps and stay', () => {
    const d = linearDecay(1, 10, 0.1);
    close(d(0), 1);
    close(d(10), 0.1);
    close(d(20), 0.1);
    const c = cosine(1, 100, 0);
    close(c(0), 1);
    close(c(50), 0.5);
    close(c(100), 0);
    close(c(1000), 0);
    assert.ok(c(25) > 0.85 && c(25) < 0.86);
});
test('step decay multiplies by gamma at each boundary', () => {
    const s = stepDecay(1, 10, 0.5);
    close(s(9), 1);
    close(s(10), 0.5);
    close(s(19), 0.5);
    close(s(20), 0.25);
    assert.throws(() => stepDecay(1, 0, 0.5), /stepSize/);
});
//# sourceMappingURL=schedules.test.js.map