import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ParamStore } from '../../src/engine/nn.js';
import { Adagrad, Adam, AdamW, type Optimizer, SparseAdagrad, SparseAdam } from '../../src/engine/optim.js';
import { denseCut, ParallelTrainer } from '../../src/engine/parallel.js';
import { Rng } from '../../src/engine/rng.js';
import { linearWarmup } from '../../src/engine/schedules.js';
import {
  DSSM_REF_TINY,
  dssmRefColumns,
  dssmRefFactory,
  randomDssmBatches,
} from '../../src/models/dssmRef.js';
import { EXIT_LABEL, exitingDssmFactory } from './parallelFixture.js';

const ROWS = 48;
const batches = randomDssmBatches(DSSM_REF_TINY, ROWS, 6, new Rng(21), 0.3);

type MakeOptimizers = (store: ParamStore) => Record<string, Optimizer>;

const adam: MakeOptimizers = (store) => ({
  dense: new Adam(store.params(), { lr: linearWarmup(0.02, 3) }),
  sparse: new SparseAdam(store.tables(), { lr: 0.02 }),
});
const adagradW: MakeOptimizers = (store) => ({
  dense: new AdamW(store.params(), { lr: 0.01, weightDecay: 0.1 }),
  sparse: new SparseAdagrad(store.tables(), { lr: 0.05, initialAccumulator: 0.1 }),
});
const adagradDense: MakeOptimizers = (store) => ({
  dense: new Adagrad(store.params(), { lr: 0.05 }),
  sparse: new SparseAdam(store.tables(), { lr: 0.02 }),
});

function make(threads: number, makeOptimizers: MakeOptimizers, maxGradNorm?: number) {
  return ParallelTrainer.create({
    factory: dssmRefFactory(DSSM_REF_TINY),
    threads,
    columns: dssmRefColumns(DSSM_REF_TINY),
    maxRows: ROWS,
    makeOptimizers,
    seed: 9,
    ...(maxGradNorm === undefined ? {} : { maxGradNorm }),
  });
}

/** Every parameter, table and optimiser state buffer by name (copies). */
function snapshot(t: ParallelTrainer): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const p of t.model.store.params()) out.set(p.name, Float32Array.from(p.data));
  for (const tb of t.model.store.tables()) out.set(tb.name, Float32Array.from(tb.weight.data));
  for (const [name, o] of Object.entries(t.optimizers))
    for (const [b, s] of Object.entries(o.state().buffers))
      out.set(`${name}:${b}`, Float32Array.from(s.data));
  return out;
}

function assertClose(a: Map<string, Float32Array>, b: Map<string, Float32Array>, tol: number): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(x[i]! - y[i]!);
      // lazy semantics: a value that one run never touched is bit-identical in the other
      if (x[i] === 0 || y[i] === 0) assert.ok(d <= tol, `${name}[${i}]: ${x[i]} vs ${y[i]}`);
      assert.ok(d <= tol * Math.max(1, Math.abs(x[i]!)), `${name}[${i}]: ${x[i]} vs ${y[i]}`);
    }
  }
}

async function trainSnapshot(threads: number, mk: MakeOptimizers, steps: number, clip?: number) {
  const t = await make(threads, mk, clip);
  try {
    const init = snapshot(t);
    for (let s = 0; s < steps; s++) t.step(batches[s % batches.length]!);
    return { init, after: snapshot(t), steps: Object.values(t.optimizers).map((o) => o.state().step) };
  } finally {
    await t.close();
  }
}

test('denseCut tiles a run into aligned, ordered parts for any rank count', () => {
  for (const total of [0, 7, 16, 100, 140_160]) {
    for (const N of [1, 2, 3, 4]) {
      const cuts = Array.from({ length: N + 1 }, (_, q) => denseCut(total, N, q));
      assert.equal(cuts[0], 0);
      assert.equal(cuts[N], total);
      for (let q = 0; q < N; q++) {
        assert.ok(cuts[q]! <= cuts[q + 1]!, `total ${total}, N ${N}: ${cuts}`);
        if (q > 0) assert.equal(cuts[q]! % 16, 0);
      }
    }
  }
  assert.deepEqual(
    [0, 1, 2].map((q) => denseCut(140_160, 2, q)),
    [0, 70_080, 140_160],
  );
});

for (const [name, mk] of [
  ['Adam (warm-up schedule) + lazy SparseAdam', adam],
  ['AdamW + SparseAdagrad', adagradW],
  ['Adagrad + SparseAdam', adagradDense],
] as const) {
  test(`sharded update = single-thread update, 2 and 3 threads: ${name}`, async () => {
    const one = await trainSnapshot(1, mk, 4);
    for (const threads of [2, 3]) {
      const many = await trainSnapshot(threads, mk, 4);
      assert.deepEqual(many.init.get('emb.user_id'), one.init.get('emb.user_id'));
      assertClose(many.after, one.after, 2e-5);
      assert.deepEqual(many.steps, one.steps);
    }
    // the runs really trained, and lazily: some table rows moved, rows never touched did not
    const w0 = one.init.get('emb.item_id')!;
    const w1 = one.after.get('emb.item_id')!;
    const dim = DSSM_REF_TINY.dim;
    const touched = new Set<number>();
    for (let s = 0; s < 4; s++) for (const id of batches[s]!.cols['item_id'] as Int32Array) touched.add(id);
    let moved = 0;
    for (let row = 0; row < DSSM_REF_TINY.itemVocabs[0]!; row++) {
      const same = w0.subarray(row * dim, (row + 1) * dim).every((v, d) => v === w1[row * dim + d]);
      if (touched.has(row)) moved += same ? 0 : 1;
      else assert.ok(same, `untouched row ${row} changed`);
    }
    assert.ok(moved > 0.9 * touched.size, `${moved} of ${touched.size} touched rows moved`);
  });
}

test('gradient clipping by global norm: 2 threads match 1 thread, and clipping is active', async () => {
  const one = await trainSnapshot(1, adam, 3, 0.05);
  const two = await trainSnapshot(2, adam, 3, 0.05);
  assertClose(two.after, one.after, 2e-5);
  const unclipped = await trainSnapshot(1, adam, 3);
  const a = unclipped.after.get('user_tower.0.W')!;
  const b = one.after.get('user_tower.0.W')!;
  assert.ok(
    a.some((v, i) => Math.abs(v - b[i]!) > 1e-6),
    'clipping at 0.05 changed nothing: the test does not exercise it',
  );
});

test('a NaN loss stops the step with its number, changes nothing, and the trainer goes on', async () => {
  const t = await make(2, adam);
  try {
    t.step(batches[0]!);
    const w = t.model.store.params()[0]!;
    const saved = w.data[0]!;
    w.data[0] = Number.NaN;
    const before = snapshot(t);
    assert.throws(
      () => t.step(batches[1]!),
      /training step 2: loss is NaN \(NaN or Inf\); stopping before the update/,
    );
    const after = snapshot(t);
    for (const [name, x] of before) assert.deepEqual(after.get(name), x, name);
    assert.deepEqual(
      Object.values(t.optimizers).map((o) => o.state().step),
      [1, 1],
      'a skipped update does not count as an optimiser step',
    );
    w.data[0] = saved;
    assert.ok(Number.isFinite(t.step(batches[2]!)));
    assert.deepEqual(
      Object.values(t.optimizers).map((o) => o.state().step),
      [2, 2],
    );
  } finally {
    await t.close();
  }
});

test("rank 0's own error is thrown after the workers finish, nothing changes, and the trainer goes on", async () => {
  const t = await make(2, adam);
  try {
    t.step(batches[0]!);
    const before = snapshot(t);
    const brand = Int32Array.from(batches[1]!.cols['brand'] as Int32Array);
    brand[3] = 999; // shard 0 (rows 0..23) belongs to rank 0
    assert.throws(
      () => t.step({ rows: ROWS, cols: { ...batches[1]!.cols, brand } }),
      /embeddingBag: table 'emb\.brand' has vocab 32, but ids\[3\] = 999/,
    );
    const after = snapshot(t);
    for (const [name, x] of before) assert.deepEqual(after.get(name), x, name);
    assert.ok(Number.isFinite(t.step(batches[2]!)));
  } finally {
    await t.close();
  }
});

test('an optimiser without data-parallel support is refused by name', async () => {
  const plain: MakeOptimizers = (store) => {
    const inner = new Adam(store.params(), { lr: 0.01 });
    return {
      custom: {
        step: () => inner.step(),
        currentLr: () => inner.currentLr(),
        state: () => inner.state(),
        setStepCount: (s: number) => inner.setStepCount(s),
      },
    };
  };
  await assert.rejects(make(2, plain), /optimiser 'custom' does not support data-parallel training/);
  const single = await make(1, plain);
  await single.close();
});

test('a worker thread that exits mid-step is reported at once, and the trainer refuses to go on', async () => {
  const t = await ParallelTrainer.create({
    factory: exitingDssmFactory(DSSM_REF_TINY),
    threads: 2,
    columns: dssmRefColumns(DSSM_REF_TINY),
    maxRows: ROWS,
    makeOptimizers: adam,
    seed: 9,
  });
  try {
    t.step(batches[0]!);
    const before = snapshot(t);
    const label = Float32Array.from(batches[1]!.cols['label'] as Float32Array);
    label[ROWS / 2] = EXIT_LABEL; // the first row of worker 1's shard
    const started = Date.now();
    assert.throws(
      () => t.step({ rows: ROWS, cols: { ...batches[1]!.cols, label } }),
      /parallel: worker 1 failed at step 2: worker thread exited \(code 3\)/,
    );
    assert.ok(Date.now() - started < 5000, 'rank 0 waited for a barrier timeout');
    const after = snapshot(t);
    for (const [name, x] of before) assert.deepEqual(after.get(name), x, name);
    assert.throws(() => t.step(batches[2]!), /trainer cannot continue: worker 1 has stopped/);
  } finally {
    await t.close();
  }
});
