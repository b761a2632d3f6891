import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ColumnarDataset } from '../../src/data/batch.js';
import { Rng } from '../../src/engine/rng.js';
function make(n, items) {
    const c = {
        size: n,
        cat: { user_id: Int32Array.from({ length: n }, (_, i) => i) },
        seq: { hist: { ids: Int32Array.from({ length: n * 2 }, (_, i) => (i % 2 ? -1 : i >> 1)), maxLen: 2 } },
        num: { x: Float32Array.from({ length: n }, (_, i) => i / 2) },
        labels: { click: Float32Array.from({ length: n }, (_, i) => i % 2) },
        extra: {},
        itemKey: Int32Array.from({ length: n }, (_, i) => i % items),
        ts: Float64Array.from({ length: n }, (_, i) => 1000 + i),
    };
    return new ColumnarDataset(c);
}
test('contiguous batches are views of the columns, not copies', () => {
    const ds = make(10, 10);
    const b = ds.slice(2, 6);
    assert.equal(b.size, 4);
    assert.equal(b.cat.user_id.buffer, ds.columns.cat.user_id.buffer);
    assert.deepEqual([...b.cat.user_id], [2, 3, 4, 5]);
    assert.deepEqual([...b.seq.hist.ids], [2, -1, 3, -1, 4, -1, 5, -1]);
    const sizes = [...ds.batches({ batchSize: 4 })].map((x) => x.size);
    assert.deepEqual(sizes, [4, 4, 2]);
    assert.deepEqual([...ds.batches({ batchSize: 4, dropLast: true })].map((x) => x.size), [4, 4]);
});
test('shuffled batches: every row once per epoch, same seed same order, buffers reused, rows consistent', () => {
    const ds = make(103, 103);
    const epoch = (seed) => {
        const seen = [];
        let firstBuf = null;
        for (const b of ds.batches({ batchSize: 16, rng: new Rng(seed) })) {
            firstBuf ??= b.cat.user_id.buffer;
            assert.equal(b.cat.user_id.buffer, firstBuf, 'batch buffers are reused');
            for (let i = 0; i < b.size; i++) {
                const r = b.cat.user_id[i];
                // Every column of a gathered row comes from the same source row.
                assert.equal(b.num.x[i], r / 2);
                assert.equal(b.labels.click[i], r % 2);
                assert.equal(b.ts[i], 1000 + r);
                assert.equal(b.seq.hist.ids[i * 2], r);
                assert.equal(b.seq.hist.ids[i * 2 + 1], -1);
                seen.push(r);
            }
        }
        return seen;
    };
    const a = epoch(7);
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 103 }, (_, i) => i));
    assert.deepEqual(epoch(7), a);
    assert.notDeepEqual(epoch(8), a);
});
test('uniqueItems: no item twice in a batch (in-batch negatives), no row lost', () => {
    const ds = make(200, 7); // only 7 distinct items: heavy duplication
    const it = ds.batches({ batchSize: 5, rng: new Rng(3), uniqueItems: true });
    const rows = [];
    for (const b of it) {
        const items = [...b.itemKey];
        assert.equal(new Set(items).size, items.length, `duplicate item in batch ${items}`);
        rows.push(...b.cat.user_id);
    }
    assert.equal(rows.length, 200);
    assert.equal(new Set(rows).size, 200);
    assert.ok(it.dupDeferred > 0);
});
test('select copies rows; column length mismatches are refused', () => {
    const ds = make(5, 5);
    const s = ds.select(Int32Array.from([4, 0]));
    assert.deepEqual([...s.columns.cat.user_id], [4, 0]);
    assert.throws(() => ds.select(Int32Array.from([5])), /row 5 outside dataset of 5 rows/);
    assert.throws(() => new ColumnarDataset({ size: 3, cat: { a: new Int32Array(2) }, seq: {}, num: {}, labels: {}, extra: {} }, 'bad'), /bad: column lengths disagree with size 3:\n {2}cat\.a: length 2, expected 3/);
    assert.throws(() => ds.setExtra('t', new Float32Array(4)), /4 values for 5 rows/);
});
//# sourceMappingURL=batch.test.js.map