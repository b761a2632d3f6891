import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ColumnarDataset } from '../../src/data/batch.js';
import { MemorySource, shardRows } from '../../src/data/stream.js';
import { Rng } from '../../src/engine/rng.js';
import { interleavedStream, rankStream } from '../../src/train/trainStream.js';

function source(n: number, unitRows: number): MemorySource {
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  return new MemorySource(
    new ColumnarDataset({ size: n, cat: { id: ids }, seq: {}, num: {}, labels: {}, extra: {} }),
    'mem',
    unitRows,
  );
}

test('the interleaved stream is the concatenation of the ranks’ batches, step by step, with empty tails', async () => {
  const src = source(1000, 64); // 16 units: shards of 6, 5 and 5 units for 3 ranks
  const shuffle = { rng: new Rng(4), bufferRows: 150 };
  const N = 3;
  const inter = interleavedStream(src, { batchSize: 48, shuffle, ways: N });
  const ranks = Array.from({ length: N }, (_, r) =>
    rankStream(src, { batchSize: 48, shuffle, mpi: { rank: r, size: N, allgather: (a) => a } }),
  );
  // Every rank agrees on the epoch's length: the longest shard's batches of 16 rows.
  const longest = Math.max(...[0, 1, 2].map((i) => shardRows(src, { index: i, count: N })));
  assert.equal(inter.stepsPerEpoch, Math.ceil(longest / 16));
  for (const r of ranks) assert.equal(r.stepsPerEpoch, inter.stepsPerEpoch);
  assert.equal(ranks[0]!.batchRows, 16);
  for (const epoch of [0, 1]) {
    inter.open(epoch);
    for (const r of ranks) r.open(epoch);
    const seen: number[] = [];
    let empties = 0;
    for (let s = 0; s < inter.stepsPerEpoch; s++) {
      const g = await inter.next();
      const parts: number[] = [];
      for (const r of ranks) {
        const b = await r.next();
        assert.ok(b !== null);
        if (b.size === 0) empties++;
        parts.push(...b.cat.id!);
      }
      assert.deepEqual([...g!.cat.id!], parts, `epoch ${epoch} step ${s}`);
      seen.push(...parts);
    }
    assert.equal(await inter.next(), null, 'the epoch ends after stepsPerEpoch steps');
    for (const r of ranks) assert.equal(await r.next(), null);
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    assert.ok(empties > 0, 'shorter shards contribute empty batches at the end');
  }
  assert.throws(() => interleavedStream(src, { batchSize: 50, shuffle, ways: 3 }), /multiple of the 3 ranks/);
});
