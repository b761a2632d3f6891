import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ColumnarDataset, type Columns } from '../../src/data/batch.js';
import {
  type BatchSource,
  MemorySource,
  type OpenOptions,
  parseShard,
  planEpoch,
  readAll,
  shardRows,
} from '../../src/data/stream.js';
import { Rng } from '../../src/engine/rng.js';

/** Row i carries i in every column, so a batch row says which dataset row it is. */
function make(n: number): ColumnarDataset {
  const c: Columns = {
    size: n,
    cat: { id: Int32Array.from({ length: n }, (_, i) => i) },
    seq: { hist: { ids: Int32Array.from({ length: n * 3 }, (_, i) => Math.floor(i / 3)), maxLen: 3 } },
    num: { x: Float32Array.from({ length: n }, (_, i) => i) },
    labels: { y: Float32Array.from({ length: n }, (_, i) => i % 2) },
    extra: {},
    sampleId: Float64Array.from({ length: n }, (_, i) => i),
  };
  return new ColumnarDataset(c);
}

/** Every row id the reader yields, checking each batch's columns agree row by row. */
async function drain(src: BatchSource, opts: OpenOptions): Promise<{ ids: number[]; sizes: number[] }> {
  const ids: number[] = [];
  const sizes: number[] = [];
  const r = src.open(opts);
  for await (const b of r) {
    sizes.push(b.size);
    for (let i = 0; i < b.size; i++) {
      const id = b.cat.id![i]!;
      assert.equal(b.num.x![i], id);
      assert.equal(b.sampleId![i], id);
      assert.deepEqual([...b.seq.hist!.ids.subarray(i * 3, i * 3 + 3)], [id, id, id]);
      ids.push(id);
    }
  }
  await r.close();
  return { ids, sizes };
}

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('file order: batches in row order, whole batches inside a unit are views', async () => {
  const ds = make(50);
  const src = new MemorySource(ds, 'mem', 20);
  assert.deepEqual(
    src.units.map((u) => u.rows),
    [20, 20, 10],
  );
  const { ids, sizes } = await drain(src, { batchSize: 8 });
  assert.deepEqual(ids, range(50));
  assert.deepEqual(sizes, [8, 8, 8, 8, 8, 8, 2]);
  const r = src.open({ batchSize: 10 });
  const b = (await r.next()).value!;
  assert.equal(b.cat.id!.buffer, ds.columns.cat.id!.buffer, 'a batch inside one unit is a view');
  assert.deepEqual((await drain(src, { batchSize: 8, dropLast: true })).sizes, [8, 8, 8, 8, 8, 8]);
});

test('a buffer holding the whole dataset is the full shuffle of ColumnarDataset.batches', async () => {
  const ds = make(103);
  const rng = new Rng(7).fork('data');
  for (const epoch of [0, 1]) {
    const want: number[] = [];
    for (const b of ds.batches({ batchSize: 16, rng: rng.fork(`epoch-${epoch}`) })) want.push(...b.cat.id!);
    const got = await drain(new MemorySource(ds, 'mem', 10), {
      batchSize: 16,
      epoch,
      shuffle: { rng, bufferRows: Number.POSITIVE_INFINITY },
    });
    assert.deepEqual(got.ids, want);
  }
});

test('windowed shuffle: every row once per epoch, full batches across windows, seeded and epoch-dependent', async () => {
  const ds = make(1000);
  const src = new MemorySource(ds, 'mem', 64);
  const rng = new Rng(3);
  const opts = (epoch: number): OpenOptions => ({ batchSize: 48, epoch, shuffle: { rng, bufferRows: 200 } });
  const e0 = await drain(src, opts(0));
  assert.deepEqual(sorted(e0.ids), range(1000));
  assert.ok(
    e0.sizes.slice(0, -1).every((s) => s === 48),
    'only the last batch may be short',
  );
  assert.equal(
    e0.sizes.reduce((a, b) => a + b, 0),
    1000,
  );
  assert.deepEqual((await drain(src, opts(0))).ids, e0.ids, 'same seed and epoch, same order');
  const e1 = await drain(src, opts(1));
  assert.notDeepEqual(e1.ids, e0.ids, 'another epoch, another order');
  assert.notDeepEqual(e0.ids, range(1000), 'rows are permuted');
  // Windows of at least 200 rows out of 64-row units: 4 units each, the last one what is left.
  const plan = planEpoch(src.units, opts(0));
  assert.deepEqual(
    plan.windows.map((w) => w.units.length),
    [4, 4, 4, 4],
  );
  // Rows mix across units inside a window: the first batch draws from several units.
  const unitsOfFirst = new Set(e0.ids.slice(0, 48).map((i) => Math.floor(i / 64)));
  assert.ok(unitsOfFirst.size >= 3, `first batch draws from ${unitsOfFirst.size} units`);
});

test('shards: disjoint, together every row exactly once, shuffled or not', async () => {
  const ds = make(777);
  const src = new MemorySource(ds, 'mem', 50);
  for (const count of [1, 2, 3, 7]) {
    for (const shuffle of [undefined, { rng: new Rng(5), bufferRows: 120 }]) {
      const all: number[] = [];
      let rows = 0;
      for (let index = 0; index < count; index++) {
        const shard = { index, count };
        const got = await drain(src, { batchSize: 32, shard, ...(shuffle ? { shuffle } : {}) });
        assert.equal(got.ids.length, shardRows(src, shard));
        rows += shardRows(src, shard);
        all.push(...got.ids);
        // A shard is whole units: unit k of shard k mod n.
        for (const id of got.ids) assert.equal(Math.floor(id / 50) % count, index);
      }
      assert.equal(rows, 777);
      assert.deepEqual(sorted(all), range(777), `count ${count}, shuffle ${shuffle !== undefined}`);
    }
  }
});

test('resume: a reader started at any position yields exactly the rest of the epoch', async () => {
  const ds = make(500);
  const src = new MemorySource(ds, 'mem', 30);
  for (const bufferRows of [100, Number.POSITIVE_INFINITY]) {
    const opts: OpenOptions = {
      batchSize: 24,
      epoch: 2,
      shard: { index: 1, count: 2 },
      shuffle: { rng: new Rng(11), bufferRows },
    };
    const full = (await drain(src, opts)).ids;
    for (const stopAfter of [0, 1, 3, 5, 9, 10]) {
      const r = src.open(opts);
      const head: number[] = [];
      for (let k = 0; k < stopAfter; k++) {
        const b = await r.next();
        if (b.done) break;
        head.push(...b.value.cat.id!);
      }
      const pos = r.position();
      await r.close();
      // The position survives JSON (it goes into a checkpoint's metadata).
      const start = JSON.parse(JSON.stringify(pos));
      const tail = (await drain(src, { ...opts, start })).ids;
      assert.deepEqual([...head, ...tail], full, `buffer ${bufferRows}, stop after ${stopAfter} batches`);
    }
  }
});

test('a position of another epoch or outside the plan is refused', () => {
  const src = new MemorySource(make(100), 'mem', 10);
  const shuffle = { rng: new Rng(1), bufferRows: 30 };
  assert.throws(
    () => src.open({ batchSize: 8, epoch: 1, shuffle, start: { epoch: 0, window: 0, offset: 0 } }),
    /position of epoch 0 cannot start epoch 1/,
  );
  assert.throws(
    () => src.open({ batchSize: 8, shuffle, start: { epoch: 0, window: 9, offset: 0 } }),
    /window 9 is outside the epoch's 4 windows/,
  );
  assert.throws(
    () => src.open({ batchSize: 8, shuffle, start: { epoch: 0, window: 1, offset: 31 } }),
    /offset 31 is outside window 1/,
  );
});

test('readAll and parseShard', async () => {
  const ds = make(45);
  const src = new MemorySource(ds, 'mem', 10);
  const all = await readAll(src, { index: 1, count: 2 }, 7);
  assert.deepEqual(
    [...all.cat.id!],
    [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39],
  );
  assert.deepEqual(parseShard('2/5'), { index: 2, count: 5 });
  assert.throws(() => parseShard('5/5'), /0 <= i < n/);
  assert.throws(() => parseShard('1-2'), /must look like i\/n/);
});
