import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/rng.js';
test('same seed gives the same sequence; different seeds differ', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 100 }, () => a.nextU32());
    const sb = Array.from({ length: 100 }, () => b.nextU32());
    const sc = Array.from({ length: 100 }, () => c.nextU32());
    assert.deepEqual(sa, sb);
    assert.notDeepEqual(sa, sc);
    // seeds beyond 2^32 are not truncated into collisions
    assert.notEqual(new Rng(2 ** 32 + 1).nextU32(), new Rng(1).nextU32());
});
test('nextFloat is in [0, 1) with mean ≈ 0.5 and normal() has mean ≈ 0, variance ≈ 1', () => {
    const r = new Rng(7);
    let s = 0;
    for (let i = 0; i < 100_000; i++) {
        const x = r.nextFloat();
        assert.ok(x >= 0 && x < 1);
        s += x;
    }
    assert.ok(Math.abs(s / 100_000 - 0.5) < 0.005);
    let m = 0;
    let m2 = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
        const z = r.normal();
        m += z;
        m2 += z * z;
    }
    m /= n;
    assert.ok(Math.abs(m) < 0.02, `mean ${m}`);
    assert.ok(Math.abs(m2 / n - m * m - 1) < 0.02, `variance ${m2 / n - m * m}`);
});
test('int(n) covers [0, n) uniformly and rejects bad n', () => {
    const r = new Rng(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 50_000; i++)
        counts[r.int(10)]++;
    for (const c of counts)
        assert.ok(Math.abs(c - 5000) < 300, `bucket count ${c}`);
    const big = 2 ** 32;
    for (let i = 0; i < 100; i++) {
        const x = r.int(big);
        assert.ok(Number.isInteger(x) && x >= 0 && x < big);
    }
    assert.throws(() => r.int(0), /integer in \[1, 2\^32\]/);
    assert.throws(() => r.int(2.5), /integer/);
});
test('shuffle is a permutation and deterministic', () => {
    const a = new Rng(3).shuffle(Array.from({ length: 50 }, (_, i) => i));
    const b = new Rng(3).shuffle(Int32Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual([...b], a);
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.notDeepEqual(a, Array.from({ length: 50 }, (_, i) => i));
});
test('fork(label) is independent of consumption and differs per label', () => {
    const r = new Rng(5);
    const f1 = r.fork('dropout').nextU32();
    r.nextU32();
    r.nextU32();
    assert.equal(r.fork('dropout').nextU32(), f1);
    assert.notEqual(r.fork('data').nextU32(), f1);
    assert.notEqual(new Rng(6).fork('dropout').nextU32(), f1);
});
test('getState/setState resumes the exact sequence, including a pending normal deviate', () => {
    const r = new Rng(9);
    r.normal(); // leaves a spare
    const st = r.getState();
    const next = [r.normal(), r.nextU32(), r.normal()];
    const q = new Rng(0);
    q.setState(st);
    assert.deepEqual([q.normal(), q.nextU32(), q.normal()], next);
});
//# sourceMappingURL=rng.test.js.map