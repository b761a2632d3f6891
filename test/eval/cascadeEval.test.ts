import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateCascadeScores } from '../../src/eval/cascadeEval.js';
import { userItemListsFromPairs } from '../../src/eval/metrics/retrieval.js';

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
