import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibration } from '../../src/eval/metrics/calibration.js';
import { logLoss } from '../../src/eval/metrics/logloss.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('logLoss: hand-computed values, clipping and soft labels', () => {
  // −(ln 0.8 + ln 0.9 + ln 0.4) / 3
  close(logLoss([1, 0, 1], [0.8, 0.1, 0.4]), -(Math.log(0.8) + Math.log(0.9) + Math.log(0.4)) / 3);
  // A confident mistake is clipped to eps, not Infinity.
  close(logLoss([1], [0]), -Math.log(1e-7));
  close(logLoss([1], [0], 1e-3), -Math.log(1e-3));
  // Soft target 0.3 against p = 0.3: the binary entropy of 0.3.
  close(logLoss([0.3], [0.3]), -(0.3 * Math.log(0.3) + 0.7 * Math.log(0.7)));
});

test('logLoss: logits, NaN and length mismatch are errors', () => {
  assert.throws(
    () => logLoss([1, 0], [2.3, 0.1]),
    /probabilities\[0\] is 2.3; expected a probability in \[0, 1\] \(were logits passed\?\)/,
  );
  assert.throws(() => logLoss([1, 0], [0.5, Number.NaN]), /probabilities\[1\] is NaN/);
  assert.throws(() => logLoss([1], [0.5, 0.5]), /labels has 1 values but probabilities has 2/);
  assert.throws(() => logLoss([], []), /no rows/);
});

test('calibration: ratio, uniform reliability bins and ECE by hand', () => {
  const y = [0, 1, 0, 1, 1, 0];
  const p = [0.05, 0.15, 0.55, 0.65, 0.95, 0.85];
  const r = calibration(y, p, { bins: 2 });
  close(r.ratio, 3.2 / 3);
  close(r.meanPredicted, 3.2 / 6);
  close(r.observedRate, 0.5);
  // Bin [0, 0.5): p 0.05, 0.15 (mean 0.1), y 0, 1 (rate 0.5). Bin [0.5, 1]: p mean 0.75, rate 0.5.
  assert.equal(r.bins.length, 2);
  assert.equal(r.bins[0]!.count, 2);
  close(r.bins[0]!.meanPredicted, 0.1);
  close(r.bins[0]!.observedRate, 0.5);
  assert.equal(r.bins[1]!.count, 4);
  close(r.bins[1]!.meanPredicted, 0.75);
  close(r.ece, (2 / 6) * 0.4 + (4 / 6) * 0.25);
  // p = 1 falls in the last bin; an empty bin reports NaN means.
  const edge = calibration([1, 0], [1, 0.9], { bins: 4 });
  assert.equal(edge.bins[3]!.count, 2);
  assert.ok(Number.isNaN(edge.bins[0]!.meanPredicted));
});

test('calibration: quantile bins hold equal counts; no positive label is an error', () => {
  const p = Array.from({ length: 100 }, (_, i) => (i + 0.5) / 1000); // crowded near 0
  const y = p.map((_, i) => (i % 10 === 0 ? 1 : 0));
  const r = calibration(y, p, { bins: 4, strategy: 'quantile' });
  assert.deepEqual(
    r.bins.map((b) => b.count),
    [25, 25, 25, 25],
  );
  assert.throws(() => calibration([0, 0], [0.1, 0.2]), /no positive outcome/);
});
