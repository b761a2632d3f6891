import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/rng.js';
import { TopKSelector, topK } from '../../src/engine/topK.js';

/** Reference: full sort by (score desc, index asc). */
function sortedTopK(scores: Float32Array, k: number, exclude?: Uint8Array): number[] {
  const idx = [...scores.keys()].filter((i) => !exclude || exclude[i] === 0);
  idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return idx.slice(0, k);
}

test('topK: hand example, ties broken by lower index', () => {
  const s = Float32Array.from([0.1, 0.9, 0.5, 0.9, 0.3]);
  assert.deepEqual([...topK(s, 3)], [1, 3, 2]);
  assert.deepEqual([...topK(s, 1)], [1]);
  assert.deepEqual([...topK(s, 10)], [1, 3, 2, 4, 0]);
});

test('topK: equals a full sort on random data with many ties, with and without exclusion', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + rng.int(300);
    const k = 1 + rng.int(60);
    // Few distinct values so ties are common.
    const s = Float32Array.from({ length: n }, () => rng.int(12) / 4 - 1);
    assert.deepEqual([...topK(s, k)], sortedTopK(s, k), `n=${n} k=${k}`);
    const ex = Uint8Array.from({ length: n }, () => (rng.nextFloat() < 0.3 ? 1 : 0));
    assert.deepEqual([...topK(s, k, ex)], sortedTopK(s, k, ex), `excluded n=${n} k=${k}`);
  }
});

test('TopKSelector: rows of a matrix by offset, reused across calls, returns fewer when all excluded', () => {
  const rng = new Rng(3);
  const nItems = 50;
  const m = Float32Array.from({ length: 4 * nItems }, () => rng.normal());
  const sel = new TopKSelector(10);
  for (let u = 0; u < 4; u++) {
    const n = sel.select(m, 10, u * nItems, nItems);
    assert.equal(n, 10);
    assert.deepEqual([...sel.indices.slice(0, n)], sortedTopK(m.subarray(u * nItems, (u + 1) * nItems), 10));
    for (let r = 0; r < n; r++) assert.equal(sel.scores[r], m[u * nItems + sel.indices[r]!]);
  }
  const all = new Uint8Array(nItems).fill(1);
  all[5] = 0;
  assert.equal(sel.select(m, 10, 0, nItems, all), 1);
  assert.equal(sel.indices[0], 5);
});

test('topK: rejects NaN scores and bad k', () => {
  assert.throws(() => topK(Float32Array.from([1, Number.NaN, 2]), 2), /index 1 is NaN/);
  assert.throws(() => topK(Float32Array.from([1, 2]), 0), /positive integer/);
  assert.throws(
    () => new TopKSelector(3).select(Float32Array.from([1, 2]), 4),
    /k must be an integer in \[1, 3\]/,
  );
});
