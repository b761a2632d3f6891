/**
 * The shipped re-rankers keep their business rule (at most m items per category in the top K;
 * one item per shop ahead of any shop's second item), keep teacher order otherwise, and always
 * return a permutation; a plug-in that does not is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRerankOption } from '../../src/cli/commands/teacherRank.js';
import { applyReranker, dedupReranker, diversityReranker, satisfiedTopK } from '../../src/distill/rerank.js';
import { Rng } from '../../src/engine/rng.js';

test('diversity: at most m per category in the top K, teacher order kept otherwise', () => {
  // items 0..7 in teacher order; categories: 0 0 0 1 0 1 2 2
  const categoryOf = Int32Array.of(0, 0, 0, 1, 0, 1, 2, 2);
  const items = Int32Array.of(0, 1, 2, 3, 4, 5, 6, 7);
  const scores = Float32Array.of(8, 7, 6, 5, 4, 3, 2, 1);
  const out = applyReranker(diversityReranker(categoryOf, 2, 4), items, scores);
  // top 4: 0, 1 (cat 0 full), 3 (cat 1), 5 (cat 1 full); then deferred 2, 4 in teacher order, then 6, 7.
  assert.deepEqual([...out.items], [0, 1, 3, 5, 2, 4, 6, 7]);
  assert.deepEqual([...out.scores], [8, 7, 5, 3, 6, 4, 2, 1], 'scores travel with their items');
  assert.equal(satisfiedTopK(out.items, categoryOf, 2, 4), 4);
  assert.equal(satisfiedTopK(items, categoryOf, 2, 4), 2, 'the teacher order breaks the rule at position 3');
});

test('diversity on random lists: the rule holds whenever enough categories exist', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 200; trial++) {
    const n = 30;
    const nCat = 3 + rng.int(6);
    const categoryOf = Int32Array.from({ length: n }, () => rng.int(nCat));
    const items = Int32Array.from({ length: n }, (_, i) => i);
    const m = 1 + rng.int(3);
    const K = 1 + rng.int(15);
    const out = applyReranker(diversityReranker(categoryOf, m, K), items, new Float32Array(n)).items;
    // Feasible top K: Σ_c min(count_c, m) >= K.
    const counts = new Map<number, number>();
    for (const c of categoryOf) counts.set(c, (counts.get(c) ?? 0) + 1);
    let capacity = 0;
    for (const v of counts.values()) capacity += Math.min(v, m);
    assert.equal(satisfiedTopK(out, categoryOf, m, K), Math.min(K, capacity), `trial ${trial}`);
    // Within the kept top-K items, teacher order is preserved.
    const top = [...out.subarray(0, Math.min(K, capacity))];
    assert.deepEqual(
      top,
      [...top].sort((a, b) => a - b),
    );
  }
});

test('dedup by shop: first item of each shop first, duplicates demoted in order', () => {
  const shopOf = Int32Array.of(5, 5, 7, 5, 9, 7);
  const items = Int32Array.of(0, 1, 2, 3, 4, 5);
  const out = applyReranker(dedupReranker(shopOf), items, new Float32Array(6)).items;
  assert.deepEqual([...out], [0, 2, 4, 1, 3, 5]);
  const shops = [...out.subarray(0, 3)].map((i) => shopOf[i]);
  assert.equal(new Set(shops).size, 3, 'the first-of-shop prefix has distinct shops');
});

test('a re-ranker that does not return a permutation is refused', () => {
  const items = Int32Array.of(4, 5, 6);
  const scores = new Float32Array(3);
  assert.throws(() => applyReranker(() => Int32Array.of(0, 0, 1), items, scores), /not a permutation/);
  assert.throws(
    () => applyReranker(() => Int32Array.of(0, 1), items, scores),
    /returned 2 positions for a list of 3/,
  );
  assert.throws(() => diversityReranker(new Int32Array(3), 0, 2), /maxPerCategory must be an integer >= 1/);
});

test('the --rerank option of `kdrec teacher rank` parses both rules and names a bad one', () => {
  assert.deepEqual(parseRerankOption('diversity:category:2:10'), {
    kind: 'diversity',
    field: 'category',
    maxPerCategory: 2,
    topK: 10,
  });
  assert.deepEqual(parseRerankOption('dedup:shop'), { kind: 'dedup', field: 'shop' });
  assert.throws(
    () => parseRerankOption('diversity:category:0:10'),
    /--rerank \(M\): expected an integer >= 1, got '0'/,
  );
  assert.throws(() => parseRerankOption('shuffle'), /must be diversity:FIELD:M:K .* or dedup:FIELD/);
});
