import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/rng.js';
import { auc } from '../../src/eval/metrics/auc.js';
import { gauc } from '../../src/eval/metrics/gauc.js';

/** Σ over (positive, negative) pairs of [s_p > s_n] + ½[s_p = s_n], divided by the pair count. */
function bruteAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  let num = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) num += 1;
      else if (scores[i] === scores[j]) num += 0.5;
    }
  }
  return num / pairs;
}

test('auc: hand-computed values', () => {
  // Perfect and inverted rankings.
  assert.equal(auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
  assert.equal(auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]), 0);
  // Pairs (p, n): (0.4 vs 0.1) 1, (0.4 vs 0.35) 1, (0.4 vs 0.8) 0, (0.7 vs all three) 1+1+0 → 4/6.
  assert.equal(auc([0, 1, 0, 1, 0], [0.1, 0.4, 0.35, 0.7, 0.8]), 4 / 6);
  // All scores tied: every pair counts half.
  assert.equal(auc([0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.5);
  // One tie: positives {0.5, 0.9}, negatives {0.5, 0.2}: pairs 0.5, 1, 1, 1 → 3.5/4.
  assert.equal(auc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.2]), 3.5 / 4);
});

test('auc: equals the brute-force pairwise count on random data with ties', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 50; trial++) {
    const n = 2 + rng.int(400);
    const labels = Int32Array.from({ length: n }, () => (rng.nextFloat() < 0.3 ? 1 : 0));
    labels[0] = 1;
    labels[1] = 0;
    const scores = Float32Array.from({ length: n }, (_, i) => rng.int(20) / 20 + 0.1 * labels[i]!);
    const got = auc(labels, scores);
    assert.ok(
      Math.abs(got - bruteAuc(labels, scores)) < 1e-12,
      `trial ${trial}: ${got} vs ${bruteAuc(labels, scores)}`,
    );
  }
});

test('auc: single class, non-binary labels, NaN scores and length mismatch are errors', () => {
  assert.throws(() => auc([1, 1], [0.1, 0.2]), /2 positive and 0 negative/);
  assert.throws(() => auc([0, 2], [0.1, 0.2]), /labels\[1\] is 2; expected 0 or 1/);
  assert.throws(() => auc([0, 1], [0.1, Number.NaN]), /scores\[1\] is NaN/);
  assert.throws(() => auc([0, 1, 1], [0.1, 0.2]), /labels has 3 values but scores has 2/);
});

test('gauc: impression-weighted mean of per-user AUC, single-class users skipped', () => {
  // user 7: 3 rows, AUC 1 (pos 0.9 over negs 0.1, 0.2)
  // user 3: 4 rows, pairs: pos {0.6, 0.2} vs neg {0.4, 0.3}: 1, 1, 0, 0 → 0.5
  // user 5: 2 rows, only negatives → skipped
  const users = [7, 3, 5, 7, 3, 3, 7, 5, 3];
  const labels = [1, 1, 0, 0, 0, 1, 0, 0, 0];
  const scores = [0.9, 0.6, 0.5, 0.1, 0.4, 0.2, 0.2, 0.3, 0.3];
  const r = gauc(users, labels, scores);
  assert.equal(r.usersUsed, 2);
  assert.equal(r.usersSkipped, 1);
  assert.equal(r.impressionsUsed, 7);
  assert.ok(Math.abs(r.gauc - (3 * 1 + 4 * 0.5) / 7) < 1e-12);
  // Matches the brute force per user on random data.
  const rng = new Rng(5);
  const n = 600;
  const u = Int32Array.from({ length: n }, () => rng.int(40));
  const y = Int32Array.from({ length: n }, () => (rng.nextFloat() < 0.4 ? 1 : 0));
  const s = Float32Array.from({ length: n }, () => rng.int(10));
  let num = 0;
  let den = 0;
  for (let user = 0; user < 40; user++) {
    const rows = [...u.keys()].filter((i) => u[i] === user);
    const yl = rows.map((i) => y[i]!);
    if (!yl.includes(0) || !yl.includes(1)) continue;
    num +=
      rows.length *
      bruteAuc(
        yl,
        rows.map((i) => s[i]!),
      );
    den += rows.length;
  }
  assert.ok(Math.abs(gauc(u, y, s).gauc - num / den) < 1e-12);
  assert.throws(() => gauc([1, 1, 2], [1, 1, 0], [0.1, 0.2, 0.3]), /none of the 2 users/);
});
