import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WindowCounter } from '../../src/data/windowFeatures.js';
import { Rng } from '../../src/engine/rng.js';
const W = 100;
test('window [t − W, t): the same-second event and the sample itself are invisible', () => {
    // One user, one key; events at 0, 50, 99, 100 and a sample at t = 100.
    const c = new WindowCounter(Int32Array.from([0, 0, 0, 0]), Int32Array.from([3, 3, 3, 3]), Float64Array.from([0, 50, 99, 100]), 5, W);
    // Window [0, 100): 0, 50, 99 — NOT the event at 100 (same second as the sample).
    assert.equal(c.count(0, 3, 100), 3);
    // A one-event leak (counting the event at t) would give 4.
    assert.notEqual(c.count(0, 3, 100), 4);
    assert.equal(c.count(0, 3, 101), 3, 'at 101 the window is [1, 101): 50, 99, 100');
    assert.equal(c.count(0, 3, 50), 1, 'at 50 only the event at 0');
    assert.equal(c.count(0, 3, 0), 0);
    assert.equal(c.count(0, 2, 100), 0, 'other key');
    assert.equal(c.count(1, 3, 100), 0, 'other user');
    assert.equal(c.countList(0, Int32Array.from([3, -1, 2]), 100), 3);
});
test('only included events count (e.g. clicks)', () => {
    const c = new WindowCounter(Int32Array.from([0, 0, 0]), Int32Array.from([1, 1, 1]), Float64Array.from([1, 2, 3]), 2, W, Float32Array.from([1, 0, 1]));
    assert.equal(c.count(0, 1, 10), 2);
    assert.equal(c.events, 2);
});
test('matches a brute-force strict-inequality count on random data', () => {
    const rng = new Rng(11);
    const n = 3000;
    const users = Int32Array.from({ length: n }, () => rng.int(20));
    const keys = Int32Array.from({ length: n }, () => rng.int(4));
    const ts = Float64Array.from({ length: n }, () => rng.int(2000)); // many same-second collisions
    const inc = Float32Array.from({ length: n }, () => (rng.nextFloat() < 0.3 ? 1 : 0));
    const c = new WindowCounter(users, keys, ts, 4, W, inc);
    for (let q = 0; q < 400; q++) {
        const u = rng.int(20);
        const k = rng.int(4);
        const t = rng.int(2100);
        let brute = 0;
        for (let i = 0; i < n; i++)
            if (users[i] === u && keys[i] === k && inc[i] > 0 && ts[i] >= t - W && ts[i] < t)
                brute++;
        assert.equal(c.count(u, k, t), brute, `user ${u} key ${k} t ${t}`);
    }
});
test('invalid inputs are refused', () => {
    assert.throws(() => new WindowCounter(new Int32Array(1), new Int32Array(1), new Float64Array(1), 1, 0), /window length must be > 0/);
    assert.throws(() => new WindowCounter(new Int32Array(2), new Int32Array(1), new Float64Array(1), 1), /equal lengths/);
    assert.throws(() => new WindowCounter(new Int32Array(1), Int32Array.from([5]), new Float64Array(1), 2), /key 5 >= keySpace 2/);
});
//# sourceMappingURL=windowFeatures.test.js.map