/**
 * Row sharding (src/engine/rowShard.ts): the ownership arithmetic, and the exchange on 2 and 3
 * local ranks (test/engine/rowShardWorker.ts: lookups of different tables in one round, a rank with
 * no lookups, gradient sums at the owners, assembly on rank 0). Skipped, with the reason, where
 * mpirun or the MPI addon is missing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { localRowOf, ownedRowCount, ownerOf, takeOwnedRows, unpackRanks } from '../../src/engine/rowShard.js';
import { mpirunContexts, mpiSkipReason } from './mpiHarness.js';

const worker = fileURLToPath(new URL('./rowShardWorker.js', import.meta.url));

test('rank id mod N owns row id at local row ⌊id / N⌋; the owned rows partition the table', () => {
  for (const size of [1, 2, 3, 7]) {
    for (const vocab of [1, 2, 5, 11, 100]) {
      let total = 0;
      for (let r = 0; r < size; r++) total += ownedRowCount(vocab, r, size);
      assert.equal(total, vocab, `vocab ${vocab}, ${size} ranks`);
      for (let id = 0; id < vocab; id++) {
        const r = ownerOf(id, size);
        assert.ok(localRowOf(id, size) < ownedRowCount(vocab, r, size));
        assert.equal(localRowOf(id, size) * size + r, id);
      }
    }
  }
  const full = Float32Array.from({ length: 7 * 2 }, (_, i) => i);
  const local = new Float32Array(3 * 2);
  takeOwnedRows(full, local, 7, 2, 1, 3); // rows 1 and 4 (row 7 does not exist)
  assert.deepEqual(Array.from(local), [2, 3, 8, 9, 0, 0]);
});

test('unpackRanks puts the rank-ordered blocks of owned rows back in table order, in place', () => {
  for (const size of [1, 2, 3, 4, 7])
    for (const vocab of [1, 2, 3, 5, 11, 64, 101])
      for (const dim of [1, 3]) {
        const packed: number[] = [];
        for (let s = 0; s < size; s++)
          for (let j = 0; j < ownedRowCount(vocab, s, size); j++)
            for (let d = 0; d < dim; d++) packed.push((j * size + s) * 10 + d);
        const a = Float32Array.from(packed);
        unpackRanks(a, vocab, dim, size);
        assert.deepEqual(
          Array.from(a),
          Array.from({ length: vocab * dim }, (_, i) => Math.floor(i / dim) * 10 + (i % dim)),
          `vocab ${vocab}, dim ${dim}, ${size} ranks`,
        );
      }
});

for (const np of [2, 3]) {
  test(`the exchange on ${np} ranks: rows fetched from the owners, gradients summed there, assembly on rank 0`, (t) => {
    const skip = mpiSkipReason();
    if (skip !== null) return t.skip(skip);
    const { code, out } = mpirunContexts([{ np, argv: [process.execPath, worker, 'exchange'] }], 30_000);
    assert.equal(code, 0, out);
    for (let k = 0; k < np; k++) assert.match(out, new RegExp(`rank ${k}: ok`));
  });
}
