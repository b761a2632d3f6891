/**
 * Sparse embedding tables and the embeddingBag op: gradients against finite differences (sum and
 * mean pooling, padding, repeated ids, several lookups of one table), compact-gradient
 * bookkeeping, and bad-id errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmbeddingTable } from '../../src/engine/embedding.js';
import { Graph } from '../../src/engine/graph.js';
import { gradcheck, param, randomValues } from './gradcheck.js';

function table(name: string, vocab: number, dim: number, seed: number): EmbeddingTable {
  return new EmbeddingTable(name, vocab, dim, (w) => w.set(randomValues(w.length, seed)));
}

for (const mode of ['sum', 'mean'] as const) {
  test(`embeddingBag ${mode} gradient with padding and repeated ids`, () => {
    const t = table('items', 9, 3, 1);
    // bags of 4: repeated id 2 within a bag, an all-padding bag, id 2 again across bags
    const ids = Int32Array.from([2, 2, 5, -1, -1, -1, -1, -1, 0, 2, 8, 7]);
    const w = param([3, 3], 2); // a non-trivial consumer so each bag gets a different gradient
    const res = gradcheck((g) => g.mul(g.embeddingBag(t, ids, 3, 4, mode), w), [w], { tables: [t] });
    assert.equal(res.checked, 9 + 27);
    const sg = t.sparseGrad();
    assert.equal(sg.nRows, 5, 'one compact row per distinct id (2, 5, 0, 8, 7)');
    assert.deepEqual(Array.from(sg.rows.subarray(0, sg.nRows)).sort(), [0, 2, 5, 7, 8]);
  });
}

test('embeddingBag forward: an all-padding bag is zeros, mean divides by the non-padding count', () => {
  const t = new EmbeddingTable('t', 4, 2, (w) => w.set([1, 2, 3, 4, 5, 6, 7, 8]));
  const g = new Graph({ training: false });
  const ids = Int32Array.from([0, 1, -1, -1, 3, 3]);
  assert.deepEqual(Array.from(g.embeddingBag(t, ids, 3, 2, 'sum').data), [4, 6, 0, 0, 14, 16]);
  assert.deepEqual(Array.from(g.embeddingBag(t, ids, 3, 2, 'mean').data), [2, 3, 0, 0, 7, 8]);
});

test('several lookups of one table in a step accumulate into one sparse gradient', () => {
  const t = table('shared', 12, 4, 3);
  const user = Int32Array.from([1, 4, 4, 11]);
  const history = Int32Array.from([4, 5, -1, 1, 1, 1, 6, -1, -1, 11, 0, 2]);
  const res = gradcheck(
    (g) => g.rowDot(g.embeddingBag(t, user, 4, 1, 'sum'), g.embeddingBag(t, history, 4, 3, 'mean')),
    [],
    { tables: [t] },
  );
  assert.equal(res.checked, 48);
  assert.ok(res.maxAbsGrad > 1e-3);
  const sg = t.sparseGrad();
  assert.equal(sg.nRows, new Set([1, 4, 11, 5, 6, 0, 2]).size);
});

test('zeroGrad clears only the touched rows and the next step starts a fresh compact gradient', () => {
  const t = table('z', 20, 2, 4);
  const g = new Graph({ training: true });
  g.backward(g.sum(g.embeddingBag(t, Int32Array.from([3, 7, 3]), 3, 1, 'sum')));
  let sg = t.sparseGrad();
  assert.equal(sg.nRows, 2);
  assert.deepEqual(Array.from(sg.grad.subarray(0, 4)), [2, 2, 1, 1]);
  t.zeroGrad();
  assert.equal(t.sparseGrad().nRows, 0);
  g.reset();
  g.backward(g.sum(g.embeddingBag(t, Int32Array.from([7, 19]), 2, 1, 'sum')));
  sg = t.sparseGrad();
  assert.equal(sg.nRows, 2);
  assert.deepEqual(Array.from(sg.rows.subarray(0, 2)), [7, 19]);
  assert.deepEqual(Array.from(sg.grad.subarray(0, 4)), [1, 1, 1, 1]);
});

test('the compact gradient grows past its initial capacity without losing rows', () => {
  const vocab = 5000;
  const t = new EmbeddingTable('big', vocab, 2, (w) => w.fill(0.5));
  const ids = new Int32Array(3000);
  for (let i = 0; i < ids.length; i++) ids[i] = (i * 7) % vocab; // 3000 distinct ids
  const g = new Graph({ training: true });
  const weights = g.input(randomValues(6000, 5), [3000, 2]);
  g.backward(g.sum(g.mul(g.embeddingBag(t, ids, 3000, 1, 'sum'), weights)));
  const sg = t.sparseGrad();
  assert.equal(sg.nRows, 3000);
  for (let r = 0; r < sg.nRows; r++) {
    const pos = ids.indexOf(sg.rows[r]);
    assert.equal(sg.grad[r * 2], weights.data[pos * 2]);
    assert.equal(sg.grad[r * 2 + 1], weights.data[pos * 2 + 1]);
  }
});

test('a frozen table (trainable = false) records no gradient', () => {
  const t = table('teacher', 5, 2, 6);
  t.trainable = false;
  const g = new Graph({ training: true });
  const e = g.embeddingBag(t, Int32Array.from([1, 2]), 2, 1, 'sum');
  assert.equal(e.requiresGrad, false);
  assert.equal(g.tapeLength, 0);
});

test('bad ids and shapes are reported with the table name and position', () => {
  const t = table('category', 10, 2, 7);
  const g = new Graph({ training: false });
  assert.throws(
    () => g.embeddingBag(t, Int32Array.from([1, 10, 3]), 3, 1, 'sum'),
    /embeddingBag: table 'category' has vocab 10, but ids\[1\] = 10/,
  );
  assert.throws(
    () => g.embeddingBag(t, Int32Array.from([1, 2, 3]), 2, 2, 'sum'),
    /embeddingBag: table 'category': ids has 3 values, expected nBags × bagLen = 2 × 2 = 4/,
  );
  assert.throws(
    () => new EmbeddingTable('x', 0, 4),
    /EmbeddingTable 'x': vocab must be a positive integer, got 0/,
  );
});

test('the default initialiser is small, deterministic per name, and differs between names', () => {
  const a = new EmbeddingTable('user_id', 100, 8);
  const b = new EmbeddingTable('user_id', 100, 8);
  const c = new EmbeddingTable('item_id', 100, 8);
  assert.deepEqual(a.weight.data, b.weight.data);
  assert.notDeepEqual(a.weight.data, c.weight.data);
  let maxAbs = 0;
  let sum = 0;
  for (const v of a.weight.data) {
    maxAbs = Math.max(maxAbs, Math.abs(v));
    sum += v;
  }
  assert.ok(maxAbs <= 0.01 && maxAbs > 0.005);
  assert.ok(Math.abs(sum / a.weight.size) < 0.002);
  assert.equal(a.weight.requiresGrad, false);
});

test('a partitioned gradient holds, in part p, exactly the ids with id mod P = p, with the same rows', () => {
  const ids = Int32Array.from([7, 3, 3, 10, 0, 5, 8, 1, 10, 4]);
  const w = param([5, 4], 9);
  const backward = (t: EmbeddingTable) => {
    const g = new Graph({ training: true });
    g.backward(g.sum(g.mul(g.embeddingBag(t, ids, 5, 2, 'sum'), w)));
  };
  const single = table('t', 11, 4, 4);
  backward(single);
  const want = new Map<number, number[]>();
  const sg = single.sparseGrad();
  for (let r = 0; r < sg.nRows; r++) want.set(sg.rows[r]!, Array.from(sg.grad.subarray(r * 4, r * 4 + 4)));

  const P = 3;
  const cap = Math.ceil(11 / P);
  const parted = table('t', 11, 4, 4);
  parted.partitionGrad(P, new Int32Array(cap * P), new Float32Array(cap * P * 4), new Int32Array(P));
  assert.throws(
    () => parted.sparseGrad(),
    /split in 3 parts \(data-parallel training\); read it with sparseGradPart/,
  );
  for (let round = 0; round < 2; round++) {
    // The second round checks that zeroGrad cleared every part (the ids would land in new slots otherwise).
    backward(parted);
    const seen = new Set<number>();
    for (let p = 0; p < P; p++) {
      const part = parted.sparseGradPart(p);
      for (let r = 0; r < part.nRows; r++) {
        const id = part.rows[r]!;
        assert.equal(id % P, p, `id ${id} in part ${p}`);
        assert.deepEqual(Array.from(part.grad.subarray(r * 4, r * 4 + 4)), want.get(id), `row of id ${id}`);
        seen.add(id);
      }
    }
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [...want.keys()].sort((a, b) => a - b),
    );
    parted.zeroGrad();
  }
  parted.unpartitionGrad();
  backward(parted);
  assert.equal(parted.sparseGrad().nRows, want.size);
  assert.throws(() => parted.sparseGradPart(0), /no gradient part 0/);
});
