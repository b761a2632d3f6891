import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { userItemListsFromPairs } from '../../src/eval/metrics/retrieval.js';
import { type CascadeStages, runCascade } from '../../src/serve/cascade.js';
import { evaluateCascadeScores } from '../../src/serve/cascadeEval.js';

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

describe('cascade evaluation', () => {
  const Q = 2;
  const C = 10;
  // The ranker likes high rows; the ground truth agrees with the ranker.
  const rank = Float32Array.from({ length: Q * C }, (_, i) => i % C);
  const truthClicks = Float32Array.from(rank, (s) => s / 10);
  const none = userItemListsFromPairs(Q, new Int32Array(0), new Int32Array(0));
  const relevant = userItemListsFromPairs(Q, Int32Array.of(0, 1), Int32Array.of(9, 0));

  test('a recall model that agrees with the ranker loses nothing', () => {
    const r = evaluateCascadeScores({
      nUsers: Q,
      nItems: C,
      recall: rank,
      prerank: rank,
      rank,
      relevant,
      exclude: none,
      truth: { clicks: truthClicks, dwell: truthClicks },
      sizes: { n: 4, m: 3, k: 2 },
    });
    assert.deepEqual(r.survival, { recall: 1, prerank: 1, final: 1 });
    assert.ok(Math.abs(r.variants.full['trueClicks@2']! - 1.7) < 1e-6);
    assert.deepEqual(r.variants.full, r.rankerAlone);
    // User 0's test click (item 9) is found, user 1's (item 0) is not.
    assert.equal(r.variants.recall['Recall@2'], 0.5);
  });

  test('a recall model that disagrees loses the ranker items before the ranker sees them', () => {
    const reversed = Float32Array.from(rank, (s) => -s);
    const r = evaluateCascadeScores({
      nUsers: Q,
      nItems: C,
      recall: reversed,
      prerank: null,
      rank,
      relevant,
      exclude: userItemListsFromPairs(Q, Int32Array.of(0), Int32Array.of(0)),
      truth: { clicks: truthClicks, dwell: truthClicks },
      sizes: { n: 4, m: 3, k: 2 },
    });
    assert.equal(r.survival.recall, 0);
    assert.equal(r.survival.final, 0);
    // User 0 cannot see item 0 (excluded): recall gives items 1, 2 → 0.3; user 1 gives 0, 1 → 0.1.
    assert.ok(Math.abs(r.variants.recall['trueClicks@2']! - 0.2) < 1e-6);
    // Without a pre-ranker M keeps recall's first 3 (user 0: 1, 2, 3; user 1: 0, 1, 2) and the
    // ranker picks its best 2 of those: 0.3 + 0.2 and 0.2 + 0.1.
    assert.ok(Math.abs(r.variants.full['trueClicks@2']! - 0.4) < 1e-6);
    assert.ok(r.rankerAlone['trueClicks@2']! > r.variants.full['trueClicks@2']!);
  });
});
