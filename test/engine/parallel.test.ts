import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint, saveCheckpoint } from '../../src/engine/checkpoint.js';
import type { ParamStore } from '../../src/engine/nn.js';
import { Adam, SparseAdam } from '../../src/engine/optim.js';
import { type ColumnBatch, ParallelTrainer, shardRange } from '../../src/engine/parallel.js';
import { Rng } from '../../src/engine/rng.js';
import {
  DSSM_REF_TINY,
  type DssmRefConfig,
  dssmRefColumns,
  dssmRefFactory,
} from '../../src/models/dssmRef.js';
import { auxDssmColumns, auxDssmFactory } from './parallelFixture.js';

/** Labels with a learnable signal: positive iff user_f1 and category agree mod 4. */
function signalBatches(cfg: DssmRefConfig, rows: number, n: number, seed: number): ColumnBatch[] {
  const rng = new Rng(seed);
  const out: ColumnBatch[] = [];
  for (let b = 0; b < n; b++) {
    const cols: Record<string, Int32Array | Float32Array> = {};
    const names = ['user_id', 'user_f1', 'user_f2', 'user_f3', 'item_id', 'category', 'brand'];
    const vocabs = [...cfg.userVocabs, ...cfg.itemVocabs];
    names.forEach((f, i) => {
      cols[f] = Int32Array.from({ length: rows }, () => rng.int(vocabs[i]!));
    });
    const u = cols['user_f1'] as Int32Array;
    const c = cols['category'] as Int32Array;
    cols['label'] = Float32Array.from({ length: rows }, (_, r) => (u[r]! % 4 === c[r]! % 4 ? 1 : 0));
    out.push({ rows, cols });
  }
  return out;
}

const makeOptimizers = (store: ParamStore) => ({
  dense: new Adam(store.params(), { lr: 0.01 }),
  sparse: new SparseAdam(store.tables(), { lr: 0.01 }),
});

/** The losses of `steps` steps over `batches` (in turn) on dssm-ref-tiny. */
async function run(
  threads: number,
  steps: number,
  batches = signalBatches(DSSM_REF_TINY, 64, 8, 11),
): Promise<number[]> {
  const trainer = await ParallelTrainer.create({
    factory: dssmRefFactory(DSSM_REF_TINY),
    threads,
    columns: dssmRefColumns(DSSM_REF_TINY),
    maxRows: 64,
    makeOptimizers,
    seed: 3,
  });
  try {
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) losses.push(trainer.step(batches[s % batches.length]!));
    return losses;
  } finally {
    await trainer.close();
  }
}

test('shardRange splits rows contiguously, remainder to the first shards', () => {
  assert.deepEqual(
    [0, 1, 2].map((r) => shardRange(10, 3, r)),
    [
      [0, 4],
      [4, 7],
      [7, 10],
    ],
  );
  assert.deepEqual(shardRange(1024, 2, 1), [512, 1024]);
});

test('2 workers train dssm-ref-tiny: loss falls, and two runs are bit-identical', async () => {
  const a = await run(2, 60);
  const b = await run(2, 60);
  assert.deepEqual(a, b);
  const first = (a[0]! + a[1]! + a[2]!) / 3;
  const last = (a[57]! + a[58]! + a[59]!) / 3;
  assert.ok(last < 0.8 * first, `loss ${first} → ${last}`);
});

test('1 and 2 threads follow the same trajectory up to float rounding', async () => {
  const one = await run(1, 10);
  const two = await run(2, 10);
  for (let i = 0; i < 10; i++)
    assert.ok(Math.abs(one[i]! - two[i]!) < 1e-4, `step ${i}: ${one[i]} vs ${two[i]}`);
});

test('a batch with fewer rows than threads is taken by rank 0 alone, on the same trajectory', async () => {
  // 3 threads; the second batch has 1 row, the fourth 2 (fewer than the ranks), the others 64.
  const full = signalBatches(DSSM_REF_TINY, 64, 6, 11);
  const batches = full.map((b, i) => {
    const rows = i === 1 ? 1 : i === 3 ? 2 : 64;
    const cols: ColumnBatch['cols'] = {};
    for (const [k, v] of Object.entries(b.cols)) cols[k] = v.subarray(0, rows);
    return { rows, cols };
  });
  const one = await run(1, batches.length, batches);
  const three = await run(3, batches.length, batches);
  for (let i = 0; i < one.length; i++)
    assert.ok(Math.abs(one[i]! - three[i]!) < 1e-4, `step ${i}: ${one[i]} vs ${three[i]}`);
});

test('a bad batch is refused by column, and a worker error reaches rank 0 naming the worker and step', async () => {
  const trainer = await ParallelTrainer.create({
    factory: dssmRefFactory(DSSM_REF_TINY),
    threads: 2,
    columns: dssmRefColumns(DSSM_REF_TINY),
    maxRows: 16,
    makeOptimizers,
    seed: 3,
  });
  try {
    const [good] = signalBatches(DSSM_REF_TINY, 16, 1, 1);
    assert.throws(
      () => trainer.step({ rows: 16, cols: { ...good!.cols, label: new Int32Array(16) } }),
      /column 'label' must be a Float32Array, got Int32Array/,
    );
    assert.throws(
      () => trainer.step({ rows: 16, cols: { ...good!.cols, brand: new Int32Array(15) } }),
      /column 'brand' has 15 values, expected rows × width = 16 × 1/,
    );
    trainer.step(good!);
    // an out-of-vocabulary id in the second half of the batch is seen by worker 1 only
    const brand = Int32Array.from(good!.cols['brand'] as Int32Array);
    brand[12] = 10_000;
    assert.throws(
      () => trainer.step({ rows: 16, cols: { ...good!.cols, brand } }),
      /worker 1 failed at step 2: embeddingBag: table 'emb\.brand' has vocab 32, but ids\[4\] = 10000/,
    );
  } finally {
    await trainer.close();
  }
});

test('a checkpoint loads into shared parameters: a resumed 2-thread run with dropout continues bit-identically', async () => {
  const make = (seed: number) =>
    ParallelTrainer.create({
      factory: dssmRefFactory({ ...DSSM_REF_TINY, seed, dropout: 0.2 }),
      threads: 2,
      columns: dssmRefColumns(DSSM_REF_TINY),
      maxRows: 64,
      makeOptimizers,
      seed: 3,
    });
  const batches = signalBatches(DSSM_REF_TINY, 64, 6, 11);
  const a = await make(1);
  const b = await make(2);
  try {
    for (let s = 0; s < 3; s++) a.step(batches[s]!);
    const path = join(mkdtempSync(join(tmpdir(), 'kdrec-par-')), 'ckpt.safetensors');
    saveCheckpoint(path, { store: a.model.store, optimizers: a.optimizers, step: 3 });
    b.setStepCount(loadCheckpoint(path, b.model.store, b.optimizers).step);
    for (let s = 3; s < 6; s++) assert.equal(b.step(batches[s]!), a.step(batches[s]!), `step ${s}`);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('Float64 columns reach the workers; aux values combine over shards like the loss; loss sees the step', async () => {
  for (const threads of [1, 2, 3]) {
    const trainer = await ParallelTrainer.create({
      factory: auxDssmFactory(DSSM_REF_TINY),
      threads,
      columns: auxDssmColumns(DSSM_REF_TINY),
      maxRows: 64,
      makeOptimizers,
      seed: 3,
    });
    try {
      trainer.setStepCount(40);
      const batches = signalBatches(DSSM_REF_TINY, 61, 2, 5);
      for (const [s, b] of batches.entries()) {
        // Timestamps beyond 2^24 (float32 would round them) and different per row.
        const ts = Float64Array.from({ length: b.rows }, (_, i) => 1.7e9 + i * 1.25 + s);
        const want = ts.reduce((a, v) => a + v, 0) / b.rows;
        trainer.step({ rows: b.rows, cols: { ...b.cols, ts } });
        const aux = trainer.lastAux();
        assert.equal(aux.length, 2);
        assert.ok(Math.abs(aux[0]! - want) < 1e-3, `threads ${threads}: mean ts ${aux[0]} vs ${want}`);
        assert.equal(aux[1], 41 + s, `threads ${threads}: step seen by the loss`);
      }
    } finally {
      await trainer.close();
    }
  }
});
