/**
 * One rank of the row-sharding exchange test (test/engine/rowShard.test.ts starts it as
 * `mpirun -np N node dist/test/engine/rowShardWorker.js exchange`). Two row-sharded tables of
 * different widths; rank 0 looks up both (with duplicates and padding), rank 1 only the second one
 * (so the ranks ask for different tables in the same round), ranks ≥ 2 look up nothing (an empty
 * batch: drain() only). A third table as wide as the first shares its gradient exchange. Checks the fetched rows, the gradient sums at the owners (rank order), the
 * assembly on rank 0, and prints "rank R: ok". A failed check is an uncaught error → MPI_Abort.
 *
 * With no argument (node --test running every file) it does nothing.
 */
import assert from 'node:assert/strict';
import { EmbeddingTable } from '../../src/engine/embedding.js';
import { Graph } from '../../src/engine/graph.js';
import { initMpi } from '../../src/engine/mpi.js';
import { ownedRowCount, RowShardExchange } from '../../src/engine/rowShard.js';

const value = (id: number, d: number) => id * 10 + d;

if (process.argv[2] === 'exchange') {
  const mpi = initMpi();
  const { rank, size } = mpi;
  const fill = (dim: number) => (w: Float32Array) => {
    for (let i = 0; i < w.length; i++) w[i] = value(Math.floor(i / dim), i % dim);
  };
  const a = new EmbeddingTable('a', 11, 3, fill(3));
  const b = new EmbeddingTable('b', 5, 2, fill(2));
  // As wide as `a`: their gradients travel in one exchange (ids of c offset by a's vocab).
  const c = new EmbeddingTable('c', 4, 3, fill(3));
  const ex = new RowShardExchange(mpi, [a, b, c]);
  assert.equal(ex.shards[0]!.owned, ownedRowCount(11, rank, size));
  for (const sh of ex.shards)
    for (let j = 0; j < sh.owned; j++)
      for (let d = 0; d < sh.table.dim; d++)
        assert.equal(sh.local.weight.data[j * sh.table.dim + d], value(j * size + rank, d));
  // From here on the forward reads the fetched rows only: poison rank 0's full tables (so a row
  // read from them shows up) and drop the others' (as the trainer does).
  a.weight.data.fill(Number.NaN);
  b.weight.data.fill(Number.NaN);
  for (const sh of ex.shards) sh.release();
  assert.equal(ex.shards[0]!.holdsFullTable, rank === 0);

  const g = new Graph({ training: true });
  ex.begin();
  if (rank === 0) {
    // Bags of 2: [0,1], [2,10], [3,3], [-1,7] (padding), every id of `a` at least once later.
    const ids = Int32Array.of(0, 1, 2, 10, 3, 3, -1, 7);
    const out = g.embeddingBag(a, ids, 4, 2, 'sum');
    const want = [[0, 1], [2, 10], [3, 3], [7]];
    want.forEach((bag, i) => {
      for (let d = 0; d < 3; d++)
        assert.equal(
          out.data[i * 3 + d],
          bag.reduce((s, id) => s + value(id, d), 0),
          `bag ${i} dim ${d}`,
        );
    });
    const outB = g.embeddingBag(b, Int32Array.of(4, 1), 2, 1, 'mean');
    assert.deepEqual(Array.from(outB.data), [value(4, 0), value(4, 1), value(1, 0), value(1, 1)]);
    // A second lookup of `a` in the same step: only new ids travel (the rest are cached).
    const again = g.embeddingBag(a, Int32Array.of(3, 9), 2, 1, 'sum');
    assert.deepEqual(Array.from(again.data), [
      value(3, 0),
      value(3, 1),
      value(3, 2),
      value(9, 0),
      value(9, 1),
      value(9, 2),
    ]);
  } else if (rank === 1) {
    const outB = g.embeddingBag(b, Int32Array.of(0, 4), 1, 2, 'sum');
    assert.deepEqual(Array.from(outB.data), [value(0, 0) + value(4, 0), value(0, 1) + value(4, 1)]);
  }
  ex.drain();
  assert.equal(ex.shards[0]!.cacheRows, rank === 0 ? 7 : 0, 'distinct ids of a fetched once');
  // Rank 0 asked in 3 rounds, rank 1 in 1: 3 rounds with a request and the final empty one.
  assert.equal(ex.stats.rounds, 4);

  // Gradients: rank r contributes (r + 1)·(id + 1) to every element of rows r, r + 1 (mod vocab).
  for (const t of [a, b, c]) {
    const rows = Int32Array.of(rank % t.vocab, (rank + 1) % t.vocab);
    const slots = new Int32Array(2);
    const grad = t.assignSlots(rows, rows[0] === rows[1] ? 1 : 2, slots);
    for (let i = 0; i < (rows[0] === rows[1] ? 1 : 2); i++)
      for (let d = 0; d < t.dim; d++) grad[slots[i]! * t.dim + d]! += (rank + 1) * (rows[i]! + 1);
  }
  ex.pushGrads();
  ex.shards.forEach((sh) => {
    const t = sh.table;
    assert.equal(t.sparseGrad().nRows, 0, 'the model table gradient is cleared');
    const sg = sh.local.sparseGrad();
    const got = new Map<number, number>();
    for (let i = 0; i < sg.nRows; i++) got.set(sg.rows[i]! * size + rank, sg.grad[i * t.dim]!);
    const want = new Map<number, number>();
    for (let r = 0; r < size; r++)
      for (const id of new Set([r % t.vocab, (r + 1) % t.vocab]))
        if (id % size === rank) want.set(id, (want.get(id) ?? 0) + (r + 1) * (id + 1));
    assert.deepEqual([...got].sort(), [...want].sort(), `gradients at the owner of '${t.name}'`);
  });

  // Owners change their rows; gatherWeights assembles them on rank 0.
  for (const sh of ex.shards)
    for (let i = 0; i < sh.owned * sh.table.dim; i++) sh.local.weight.data[i]! += 1000;
  ex.gatherWeights();
  if (rank === 0)
    for (const t of [a, b, c])
      for (let i = 0; i < t.weight.size; i++)
        assert.equal(
          t.weight.data[i],
          value(Math.floor(i / t.dim), i % t.dim) + 1000,
          `assembled '${t.name}'[${i}]`,
        );
  ex.close();
  process.stdout.write(`rank ${rank}: ok\n`);
  mpi.finalize();
}
