import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CascadeStages, runCascade } from '../../src/serve/cascade.js';

/** 100 items; recall prefers low rows, the pre-ranker high rows, the ranker rows with a high (row mod 5). */
const stages: CascadeStages = {
  recall: (n) => {
    const keys = Int32Array.from({ length: n }, (_, i) => i);
    return { keys, scores: Float32Array.from(keys, (i) => -i) };
  },
  prerank: (rows) => Float32Array.from(rows, (i) => i),
  rank: (rows) => Float32Array.from(rows, (i) => i % 5),
};

describe('cascade', () => {
  test('each stage truncates to its size and only sees what the previous stage kept', () => {
    const r = runCascade(stages, { n: 20, m: 8, k: 3 });
    assert.deepEqual(
      [...r.recalled],
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.deepEqual([...r.preranked], [19, 18, 17, 16, 15, 14, 13, 12]);
    // Ranker scores 19→4, 14→4, 18→3: ties keep the pre-rank order.
    assert.deepEqual([...r.items], [19, 14, 18]);
    assert.deepEqual([...r.rankScores], [4, 4, 3]);
    assert.deepEqual([...r.prerankScores], [19, 14, 18]);
    assert.deepEqual([...r.recallScores], [-19, -14, -18]);
  });

  test('missing stages keep the previous order', () => {
    const r = runCascade({ recall: stages.recall }, { n: 10, m: 5, k: 2 });
    assert.deepEqual([...r.items], [0, 1]);
    assert.ok(Number.isNaN(r.prerankScores[0]!) && Number.isNaN(r.rankScores[0]!));
  });

  test('the re-rank hook reorders the final list; a non-permutation is refused', () => {
    const r = runCascade(stages, {
      n: 20,
      m: 8,
      k: 3,
      rerank: (items) => Array.from(items, (_, i) => items.length - 1 - i),
    });
    assert.deepEqual([...r.items], [18, 14, 19]);
    assert.deepEqual([...r.rankScores], [3, 4, 4]);
    assert.throws(
      () => runCascade(stages, { n: 20, m: 8, k: 3, rerank: () => [0, 0, 1] }),
      /permutation of 0\.\.2/,
    );
    assert.throws(() => runCascade(stages, { n: 5, m: 8, k: 3 }), /1 <= k <= m <= n/);
  });
});
