import assert from 'node:assert/strict';
import { test } from 'node:test';
import { userItemListsFromPairs } from '../../src/eval/metrics/retrieval.js';
import { expectedEvents, groundTruthUtility } from '../../src/eval/metrics/utility.js';
const close = (a, b, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);
test('expectedEvents: sum of true probabilities over the list, with position examination', () => {
    const p = Float32Array.from([0.1, 0.5, 0.2, 0.05]);
    close(expectedEvents(Int32Array.from([1, 2, 0]), p, 2), 0.7);
    close(expectedEvents(Int32Array.from([1, 2, 0]), p, 3, [1, 0.5, 0.25]), 0.5 + 0.1 + 0.025);
    assert.throws(() => expectedEvents(Int32Array.from([0]), Float32Array.from([1.5]), 1), /item 0 is 1.5/);
});
test('groundTruthUtility: model top-K vs oracle, per event, with exclusion', () => {
    // 2 users × 4 items. Model scores prefer items 0, 1; truth prefers 2, 3 for user 0.
    const scores = Float32Array.from([0.9, 0.8, 0.1, 0.2, 0.1, 0.9, 0.8, 0.2]);
    const click = Float32Array.from([0.1, 0.2, 0.6, 0.5, 0.3, 0.4, 0.2, 0.1]);
    const dwell = Float32Array.from(click, (v) => v / 2);
    const r = groundTruthUtility({
        nUsers: 2,
        nItems: 4,
        scores,
        truth: [
            { name: 'trueClicks', probabilities: click },
            { name: 'trueDwell', probabilities: (u, out) => out.set(dwell.subarray(u * 4, u * 4 + 4)) },
        ],
        ks: [1, 2],
    });
    // user 0 top-2 by model: [0, 1] → 0.1, 0.3; user 1: [1, 2] → 0.4, 0.6.
    close(r.metrics['trueClicks@1'], (0.1 + 0.4) / 2);
    close(r.metrics['trueClicks@2'], (0.3 + 0.6) / 2);
    close(r.metrics['trueDwell@2'], (0.3 + 0.6) / 4);
    // Oracle: user 0 [2, 3] → 0.6, 1.1; user 1 [1, 0] → 0.4, 0.7.
    close(r.oracle['trueClicks@1'], (0.6 + 0.4) / 2);
    close(r.oracle['trueClicks@2'], (1.1 + 0.7) / 2);
    // Excluding user 0's item 0 moves the model to [1, 3].
    const ex = groundTruthUtility({
        nUsers: 2,
        nItems: 4,
        scores,
        truth: [{ name: 'trueClicks', probabilities: click }],
        ks: [2],
        exclude: userItemListsFromPairs(2, Int32Array.from([0]), Int32Array.from([0])),
    });
    close(ex.metrics['trueClicks@2'], (0.7 + 0.6) / 2);
    assert.throws(() => groundTruthUtility({
        nUsers: 2,
        nItems: 4,
        scores,
        truth: [{ name: 'x', probabilities: click }],
        ks: [2],
        examination: [1],
    }), /examination has 1 positions; need at least 2/);
});
//# sourceMappingURL=utility.test.js.map