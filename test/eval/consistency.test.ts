import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/rng.js';
import {
  consistencyMetrics,
  kendallTau,
  overlapAtK,
  spearman,
  teacherMassCaptured,
} from '../../src/eval/metrics/consistency.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

/** O(n²) tau-b: (C − D) / sqrt((n0 − n1)(n0 − n2)). */
function bruteTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let c = 0;
  let d = 0;
  let tx = 0;
  let ty = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const sx = Math.sign(x[i]! - x[j]!);
      const sy = Math.sign(y[i]! - y[j]!);
      if (sx === 0) tx++;
      if (sy === 0) ty++;
      if (sx * sy > 0) c++;
      else if (sx * sy < 0) d++;
    }
  }
  const n0 = (n * (n - 1)) / 2;
  return (c - d) / Math.sqrt((n0 - tx) * (n0 - ty));
}

test('kendallTau: hand-computed values', () => {
  close(kendallTau([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  close(kendallTau([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  // One swapped pair of 6: (5 − 1) / 6.
  close(kendallTau([1, 2, 3, 4], [1, 3, 2, 4]), 4 / 6);
  // With ties: x = [1, 1, 2], y = [1, 2, 3]: pairs (0,1) x-tie, (0,2) C, (1,2) C → 2 / sqrt(2 · 3).
  close(kendallTau([1, 1, 2], [1, 2, 3]), 2 / Math.sqrt(6));
  assert.ok(Number.isNaN(kendallTau([1, 1, 1], [1, 2, 3])));
});

test('kendallTau: O(n log n) version equals the O(n²) count on random data with ties', () => {
  const rng = new Rng(17);
  for (let trial = 0; trial < 60; trial++) {
    const n = 2 + rng.int(250);
    const x = Float64Array.from({ length: n }, () => rng.int(8));
    const y = Float64Array.from({ length: n }, (_, i) => (rng.nextFloat() < 0.5 ? x[i]! : rng.int(8)));
    const want = bruteTauB(x, y);
    const got = kendallTau(x, y);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got));
    else close(got, want, 1e-12);
  }
});

test('spearman: hand-computed values with ties', () => {
  close(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.8207826816681233); // ranks y: 1, 2, 3.5, 5, 3.5
  close(spearman([3, 1, 2], [30, 10, 20]), 1);
  close(spearman([1, 2, 3], [3, 2, 1]), -1);
  assert.ok(Number.isNaN(spearman([1, 2, 3], [5, 5, 5])));
});

test('overlapAtK and teacherMassCaptured: hand-computed values', () => {
  const t = Float32Array.from([5, 4, 3, 2, 1]);
  const s = Float32Array.from([1, 4, 5, 3, 2]); // student top-2: [2, 1]; teacher top-2: [0, 1]
  close(overlapAtK(t, s, 2), 0.5);
  close(overlapAtK(t, s, 5), 1);
  close(overlapAtK(t, t, 3), 1);
  // Probabilities mode: teacher mass [0.4, 0.3, 0.2, 0.1, 0] of total 1; student's top 2 = items 2, 1 → 0.5.
  const p = Float32Array.from([0.4, 0.3, 0.2, 0.1, 0]);
  close(teacherMassCaptured(p, s, 2, { teacher: 'probabilities' }), 0.5, 1e-6);
  // Softmax mode with logits ln(p'): mass of items 2, 1 = (e^3 + e^4) / Σ e^v.
  const z = Math.exp(5) + Math.exp(4) + Math.exp(3) + Math.exp(2) + Math.exp(1);
  close(teacherMassCaptured(t, s, 2), (Math.exp(3) + Math.exp(4)) / z);
  // Temperature 2 flattens the distribution.
  const z2 = [5, 4, 3, 2, 1].reduce((a, v) => a + Math.exp(v / 2), 0);
  close(teacherMassCaptured(t, s, 2, { temperature: 2 }), (Math.exp(1.5) + Math.exp(2)) / z2);
  assert.throws(
    () => teacherMassCaptured(Float32Array.from([-1, 2]), s.subarray(0, 2), 1, { teacher: 'probabilities' }),
    /index 0 is -1/,
  );
});

test('consistencyMetrics: averages over lists; the teacher against itself is perfect', () => {
  const rng = new Rng(2);
  const nLists = 20;
  const len = 40;
  const t = Float32Array.from({ length: nLists * len }, () => rng.normal());
  const self = consistencyMetrics({ teacherScores: t, studentScores: t, listLength: len, ks: [5, 10] });
  assert.equal(self.lists, nLists);
  close(self.metrics['overlap@5']!, 1);
  close(self.metrics['kendallTau']!, 1);
  close(self.metrics['spearman']!, 1);
  assert.deepEqual(
    self.overlapAtK.map((o) => o.k),
    [5, 10],
  );
  // A noisy student: every aggregate equals the mean of the per-list values.
  const s = Float32Array.from(t, (v) => v + rng.normal());
  const r = consistencyMetrics({ teacherScores: t, studentScores: s, listLength: len, ks: [5] });
  let ov = 0;
  let tau = 0;
  let mass = 0;
  for (let q = 0; q < nLists; q++) {
    const tq = t.subarray(q * len, (q + 1) * len);
    const sq = s.subarray(q * len, (q + 1) * len);
    ov += overlapAtK(tq, sq, 5);
    tau += kendallTau(tq, sq);
    mass += teacherMassCaptured(tq, sq, 5);
  }
  close(r.metrics['overlap@5']!, ov / nLists);
  close(r.metrics['kendallTau']!, tau / nLists);
  close(r.metrics['teacherMass@5']!, mass / nLists);
  assert.ok(r.metrics['kendallTau']! > 0.3 && r.metrics['kendallTau']! < 0.95);
  // Variable-length lists by offsets, and a constant list is left out of tau/rho and counted.
  const v = consistencyMetrics({
    teacherScores: Float32Array.from([1, 2, 3, 7, 7]),
    studentScores: Float32Array.from([1, 3, 2, 1, 2]),
    offsets: Int32Array.from([0, 3, 5]),
    ks: [1],
  });
  assert.equal(v.listsWithoutCorrelation, 1);
  close(v.metrics['kendallTau']!, 1 / 3);
  assert.throws(
    () => consistencyMetrics({ teacherScores: t, studentScores: t, listLength: 7, ks: [1] }),
    /does not divide/,
  );
});
