import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHECKPOINT_FORMAT, kdrecVersion, loadCheckpoint, modelSignature, saveCheckpoint, } from '../../src/engine/checkpoint.js';
import { Adam, SparseAdam } from '../../src/engine/optim.js';
import { ParallelTrainer } from '../../src/engine/parallel.js';
import { Rng } from '../../src/engine/rng.js';
import { readSafetensors, writeSafetensors } from '../../src/engine/safetensors.js';
import { DSSM_REF_TINY, DssmRef, dssmRefColumns, dssmRefFactory, randomDssmBatches, } from '../../src/models/dssmRef.js';
const dir = mkdtempSync(join(tmpdir(), 'kdrec-ckpt-'));
const makeOptimizers = (store) => ({
    dense: new Adam(store.params(), { lr: 0.01 }),
    sparse: new SparseAdam(store.tables(), { lr: 0.01 }),
});
async function trainer(cfg = DSSM_REF_TINY) {
    return ParallelTrainer.create({
        factory: dssmRefFactory(cfg),
        threads: 1,
        columns: dssmRefColumns(cfg),
        maxRows: 32,
        makeOptimizers,
        seed: 5,
    });
}
const batches = randomDssmBatches(DSSM_REF_TINY, 32, 12, new Rng(4), 0.3);
test('checkpoint holds params, tables, optimiser state and metadata under documented names', async () => {
    const t = await trainer();
    for (let s = 0; s < 3; s++)
        t.step(batches[s]);
    const path = join(dir, 'a.safetensors');
    saveCheckpoint(path, {
        store: t.model.store,
        optimizers: t.optimizers,
        step: 3,
        metadata: { run: 'unit' },
    });
    const f = readSafetensors(path);
    assert.equal(f.metadata['format'], CHECKPOINT_FORMAT);
    assert.equal(f.metadata['step'], '3');
    assert.equal(f.metadata['run'], 'unit');
    assert.equal(f.metadata['kdrec_version'], kdrecVersion());
    assert.notEqual(kdrecVersion(), 'unknown');
    assert.equal(f.metadata['model_signature'], modelSignature(t.model.store));
    assert.deepEqual(f.tensors['param/user_tower.0.W'].shape, [32, 16]);
    assert.deepEqual(f.tensors['table/emb.item_id'].shape, [300, 8]);
    assert.deepEqual(f.tensors['opt/sparse/m/emb.item_id'].shape, [300, 8]);
    assert.deepEqual(f.tensors['opt/dense/v/item_tower.1.b'].shape, [8]);
    assert.deepEqual([...f.tensors['opt/dense/step'].data], [3n]);
    assert.equal(f.tensors['opt/dense/step'].dtype, 'I64');
    assert.deepEqual([...f.tensors['param/user_tower.0.W'].data], [...t.model.store.get('user_tower.0.W').data]);
    await t.close();
});
test('resume: k steps, save, load into a fresh model, N−k steps ≡ N steps straight (bit-identical)', async () => {
    const N = 12;
    const k = 5;
    const straight = await trainer();
    const a = batches.map((b) => straight.step(b));
    assert.equal(a.length, N);
    const first = await trainer();
    for (let s = 0; s < k; s++)
        first.step(batches[s]);
    const path = join(dir, 'resume.safetensors');
    const dataRng = new Rng(77);
    dataRng.nextU32();
    saveCheckpoint(path, {
        store: first.model.store,
        optimizers: first.optimizers,
        step: k,
        rngs: { data: dataRng },
    });
    // A fresh model with a different seed: everything must come from the checkpoint.
    const fresh = await trainer({ ...DSSM_REF_TINY, seed: 999 });
    const restoredRng = new Rng(0);
    const { step } = loadCheckpoint(path, fresh.model.store, fresh.optimizers, { data: restoredRng });
    assert.equal(step, k);
    assert.equal(restoredRng.nextU32(), dataRng.nextU32());
    const b = [...batches.slice(0, k).map(() => Number.NaN)];
    for (let s = k; s < N; s++)
        b.push(fresh.step(batches[s]));
    for (let s = k; s < N; s++)
        assert.equal(Object.is(a[s], b[s]), true, `step ${s}: ${a[s]} vs ${b[s]}`);
    for (const p of straight.model.store.params()) {
        assert.deepEqual(fresh.model.store.get(p.name), p, `parameter ${p.name}`);
    }
    await Promise.all([straight.close(), first.close(), fresh.close()]);
});
test('a checkpoint that does not match the model is refused, naming the tensor and both shapes', () => {
    const small = new DssmRef(DSSM_REF_TINY);
    const path = join(dir, 'small.safetensors');
    saveCheckpoint(path, { store: small.store, optimizers: makeOptimizers(small.store), step: 0 });
    const wider = new DssmRef({ ...DSSM_REF_TINY, tower: [24, 8] });
    assert.throws(() => loadCheckpoint(path, wider.store, makeOptimizers(wider.store)), /tensor 'param\/user_tower\.0\.W' is F32 \[32,16\] in the checkpoint but F32 \[32,24\] in the model/);
    const bigVocab = new DssmRef({ ...DSSM_REF_TINY, itemVocabs: [301, 16, 32] });
    assert.throws(() => loadCheckpoint(path, bigVocab.store), /tensor 'table\/emb\.item_id' is F32 \[300,8\] in the checkpoint but F32 \[301,8\]/);
    // model without optimisers: the checkpoint's optimiser state is unexpected
    assert.throws(() => loadCheckpoint(path, new DssmRef(DSSM_REF_TINY).store), /unexpected tensor 'opt\/dense\/m\/user_tower\.0\.W'/);
    // ... unless only the weights are wanted
    const weights = new DssmRef({ ...DSSM_REF_TINY, seed: 42 });
    assert.equal(loadCheckpoint(path, weights.store, {}, {}, { weightsOnly: true }).step, 0);
    assert.deepEqual(weights.store.get('emb.brand'), small.store.get('emb.brand'));
    const moreFields = new DssmRef({ ...DSSM_REF_TINY, itemVocabs: [300, 16, 32, 5] });
    assert.throws(() => loadCheckpoint(path, moreFields.store, makeOptimizers(moreFields.store)), /tensor 'param\/item_tower\.0\.W' is F32 \[24,16\] in the checkpoint but F32 \[32,16\] in the model/);
    const extra = new DssmRef(DSSM_REF_TINY);
    assert.throws(() => loadCheckpoint(path, extra.store, { ...makeOptimizers(extra.store), other: new Adam([], { lr: 1 }) }), /checkpoint has no tensor 'opt\/other\/step'/);
    // a refused load changes nothing
    const before = [...wider.store.get('user_tower.0.b').data];
    assert.throws(() => loadCheckpoint(path, wider.store, makeOptimizers(wider.store)));
    assert.deepEqual([...wider.store.get('user_tower.0.b').data], before);
    const plain = join(dir, 'plain.safetensors');
    writeSafetensors(plain, { w: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
    assert.throws(() => loadCheckpoint(plain, small.store), /plain\.safetensors: not a kdrec checkpoint/);
});
//# sourceMappingURL=checkpoint.test.js.map