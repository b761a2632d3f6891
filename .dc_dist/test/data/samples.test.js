import assert from 'node:assert/strict';
import { test } from 'node:test';
import { privilegedColumns } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { AliasSampler, exposureSamples, itemPositiveCounts, recallSamples } from '../../src/data/samples.js';
import { Rng } from '../../src/engine/rng.js';
import { tempDir, writeSimFixture } from './fixtures.js';
test('alias sampler draws each item with its probability', () => {
    const w = [1, 0, 3, 6];
    const s = new AliasSampler(w);
    assert.deepEqual([...s.probs], [0.1, 0, 0.3, 0.6]);
    const rng = new Rng(1);
    const counts = [0, 0, 0, 0];
    const N = 40000;
    for (let i = 0; i < N; i++)
        counts[s.sample(rng)]++;
    assert.equal(counts[1], 0, 'zero weight is never drawn');
    for (const i of [0, 2, 3])
        assert.ok(Math.abs(counts[i] / N - s.probs[i]) < 0.01, `item ${i}: ${counts[i] / N}`);
    assert.throws(() => new AliasSampler([0, 0]), /all weights are zero/);
    assert.throws(() => new AliasSampler([1, Number.NaN]), /weight 1 is NaN/);
});
test('recall samples: each positive then N negatives from the catalogue, with sampling probabilities', async () => {
    const dir = tempDir('recall');
    writeSimFixture(dir, 80, 2);
    const ds = await loadDataset(`sim:${dir}`);
    const train = exposureSamples(ds, 'train');
    assert.equal(train, ds.splits.train);
    const nPos = train.columns.labels.click.reduce((a, x) => a + x, 0);
    const N = 4;
    const rs = recallSamples(ds, { negatives: N, sampler: 'uniform', rng: new Rng(3) });
    const c = rs.columns;
    assert.equal(rs.size, nPos * (1 + N));
    const src = train.columns;
    const posRows = [...Array(src.size).keys()].filter((i) => src.labels.click[i] > 0);
    for (let g = 0; g < nPos; g++) {
        const p = g * (1 + N);
        const r = posRows[g];
        assert.equal(c.labels.click[p], 1);
        assert.equal(c.itemKey[p], src.itemKey[r]);
        for (let j = 0; j <= N; j++) {
            const o = p + j;
            assert.equal(c.requestId[o], g);
            assert.equal(c.userKey[o], src.userKey[r], 'negatives keep the positive user');
            assert.equal(c.ts[o], src.ts[r], 'and its time');
            assert.equal(c.cat.user_id[o], src.cat.user_id[r]);
            assert.equal(c.cat.hour[o], src.cat.hour[r], 'and its context');
            // Item fields come from the catalogue row of the sampled item.
            assert.equal(c.cat.category[o], ds.items.columns.cat.category[c.itemKey[o]]);
            assert.ok(Math.abs(c.extra.sampleProb[o] - 1 / ds.items.size) < 1e-7, 'uniform q = 1/nItems');
            if (j > 0) {
                assert.equal(c.labels.click[o], 0);
                assert.equal(c.labels.long_dwell[o], 0);
                assert.notEqual(c.itemKey[o], c.itemKey[p], 'a negative is never the positive item');
            }
        }
    }
    // Privileged counts of negatives are recomputed for (user, negative item, time), leak-free.
    const re = privilegedColumns(ds, c.userKey, c.itemKey, c.ts);
    for (let i = 0; i < rs.size; i++) {
        if (c.labels.click[i])
            continue;
        assert.equal(c.num.user_category_clicks[i], re.user_category_clicks[i]);
        assert.equal(c.num.user_shop_clicks[i], re.user_shop_clicks[i]);
    }
    // Same seed ⇒ same samples.
    const again = recallSamples(ds, { negatives: N, sampler: 'uniform', rng: new Rng(3) });
    assert.deepEqual([...again.columns.itemKey], [...c.itemKey]);
});
test('popularity^alpha negatives record q(item) and in-batch probabilities', async () => {
    const dir = tempDir('recallpop');
    writeSimFixture(dir, 80, 4);
    const ds = await loadDataset(`sim:${dir}`);
    const counts = itemPositiveCounts(ds);
    const alpha = 0.5;
    const rs = recallSamples(ds, { negatives: 3, sampler: 'popularity', alpha, rng: new Rng(9) });
    const c = rs.columns;
    let z = 0;
    for (const x of counts)
        z += (x + 1) ** alpha;
    let total = 0;
    for (const x of counts)
        total += x;
    for (let i = 0; i < rs.size; i++) {
        const k = c.itemKey[i];
        assert.ok(Math.abs(c.extra.sampleProb[i] - (counts[k] + 1) ** alpha / z) < 1e-6);
        assert.ok(Math.abs(c.extra.inBatchProb[i] - (counts[k] + 1) / (total + ds.items.size)) < 1e-6);
    }
    assert.throws(() => recallSamples(ds, { negatives: -1, sampler: 'uniform', rng: new Rng(1) }), /negatives must be an integer >= 0/);
    assert.throws(() => recallSamples(ds, { negatives: 1, sampler: 'uniform', rng: new Rng(1), positiveLabel: 'nope' }), /label 'nope' not in dataset/);
});
test('recall samples feed in-batch negatives without duplicate items', async () => {
    const dir = tempDir('inbatch');
    writeSimFixture(dir, 120, 6);
    const ds = await loadDataset(`sim:${dir}`);
    const pos = recallSamples(ds, { negatives: 0, sampler: 'uniform', rng: new Rng(1) });
    let rows = 0;
    for (const b of pos.batches({ batchSize: 4, rng: new Rng(2), uniqueItems: true })) {
        assert.equal(new Set(b.itemKey).size, b.size);
        rows += b.size;
    }
    assert.equal(rows, pos.size);
});
//# sourceMappingURL=samples.test.js.map