import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel, TableRegistry } from '../../src/models/index.js';
import { ctcvrLogit } from '../../src/models/mmoeEsmm.js';
import { tinyBatch, tinySchema, tinyWorld } from './tinyWorld.js';

function sig(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}
/** log σ(x) in float64. */
function logSig(x: number): number {
  return -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
}
/** logit(σ(a)σ(b)) in float64 via the same identity 1 − p = σ(−a) + σ(a)σ(−b), but evaluated directly. */
function refLogit(a: number, b: number): number {
  const logP = logSig(a) + logSig(b);
  const x = logSig(-a);
  const y = logSig(a) + logSig(-b);
  const m = Math.max(x, y);
  return logP - (m + Math.log(Math.exp(x - m) + Math.exp(y - m)));
}

const GRID = [-100, -40, -17, -5, -1, -0.1, 0, 1e-3, 0.1, 1, 5, 17, 40, 100];

test('σ(ctcvr logit) equals σ(ctr)·σ(cvr) to 1e-6 across a wide range, extreme logits included', () => {
  const a: number[] = [];
  const b: number[] = [];
  for (const x of GRID)
    for (const y of GRID) {
      a.push(x);
      b.push(y);
    }
  const g = new Graph({ training: false });
  const A = g.input(Float32Array.from(a), [a.length]);
  const Bt = g.input(Float32Array.from(b), [b.length]);
  const out = ctcvrLogit(g, A, Bt).data;
  for (let i = 0; i < a.length; i++) {
    const l = out[i]!;
    assert.ok(Number.isFinite(l), `ctcvr(${a[i]}, ${b[i]}) = ${l}`);
    const p = sig(a[i]!) * sig(b[i]!);
    assert.ok(Math.abs(sig(l) - p) <= 1e-6, `σ(ctcvr(${a[i]}, ${b[i]})) = ${sig(l)}, product ${p}`);
    // In log space too, where the probabilities themselves underflow: the logit matches float64.
    const r = refLogit(a[i]!, b[i]!);
    assert.ok(
      Math.abs(l - r) <= 1e-5 * Math.max(1, Math.abs(r)),
      `ctcvr(${a[i]}, ${b[i]}) = ${l}, float64 ${r}`,
    );
  }
  // Spot values: both certain → logit ≈ 100 − log 2 (1 − p ≈ 2e^−100); one impossible → ≈ its logit.
  const at = (x: number, y: number) => out[GRID.indexOf(x) * GRID.length + GRID.indexOf(y)]!;
  assert.ok(Math.abs(at(100, 100) - (100 - Math.LN2)) < 1e-4);
  assert.ok(Math.abs(at(-100, 100) - -100) < 1e-4);
});

test('ctcvr logit gradients match finite differences, also at the kinks of the relu-built pieces', () => {
  const pts: [number, number][] = [
    [0, 0],
    [0, 3],
    [-2, 0],
    [0.3, -1.2],
    [4, 2],
    [-6, 0.5],
    [30, -30],
    [-50, 60],
  ];
  for (const [a0, b0] of pts) {
    const g = new Graph({ training: true });
    const a = g.input(Float32Array.of(a0), [1]);
    const b = g.input(Float32Array.of(b0), [1]);
    a.requiresGrad = true;
    b.requiresGrad = true;
    const l = ctcvrLogit(g, a, b);
    g.backward(g.sum(l));
    // d logit(σaσb)/da = (1 − σa) / (1 − p) ... compare against central differences in float64.
    const h = 1e-4;
    const da = (refLogit(a0 + h, b0) - refLogit(a0 - h, b0)) / (2 * h);
    const db = (refLogit(a0, b0 + h) - refLogit(a0, b0 - h)) / (2 * h);
    assert.ok(
      Math.abs(a.grad![0]! - da) < 1e-3 * Math.max(1, Math.abs(da)),
      `d/da at (${a0}, ${b0}): ${a.grad![0]} vs ${da}`,
    );
    assert.ok(
      Math.abs(b.grad![0]! - db) < 1e-3 * Math.max(1, Math.abs(db)),
      `d/db at (${a0}, ${b0}): ${b.grad![0]} vs ${db}`,
    );
  }
});

test('MMoE+ESMM: the model output satisfies the product identity; loss is on ctr and ctcvr only', () => {
  const m = createModel(
    { type: 'mmoe-esmm', ctcvrLabel: 'conversion', experts: 3 },
    tinySchema(),
    new TableRegistry(),
    new Rng(4),
  );
  const g = new Graph({ training: true, rng: new Rng(5) });
  const batch = tinyBatch(tinyWorld(), new Rng(6), 32);
  const out = m.forward(g, batch);
  const { ctr, cvr, ctcvr } = out.logits;
  for (let i = 0; i < 32; i++) {
    assert.ok(Math.abs(sig(ctcvr!.data[i]!) - sig(ctr!.data[i]!) * sig(cvr!.data[i]!)) < 1e-6);
  }
  assert.deepEqual(out.hidden!['gate.ctr']!.shape, [32, 3]);
  const loss = m.hardLoss(g, out, batch);
  assert.deepEqual(Object.keys(loss.terms).sort(), ['hard.ctcvr', 'hard.ctr']);
  assert.ok(
    Math.abs(loss.total.data[0]! - loss.terms['hard.ctr']!.data[0]! - loss.terms['hard.ctcvr']!.data[0]!) <
      1e-6,
  );
  // The CTCVR target is click AND conversion.
  const g2 = new Graph({ training: false });
  const o2 = m.forward(g2, batch);
  let ref = 0;
  for (let i = 0; i < 32; i++) {
    const z = batch.labels.click![i]! * batch.labels.conversion![i]!;
    const x = o2.logits.ctcvr!.data[i]!;
    ref += Math.max(x, 0) - x * z + Math.log1p(Math.exp(-Math.abs(x)));
  }
  assert.ok(Math.abs(m.hardLoss(g2, o2, batch).terms['hard.ctcvr']!.data[0]! - ref / 32) < 1e-5);
  // The CVR tower learns only through the product: it still receives gradient.
  g.backward(loss.total);
  const cvrTower = m.store.params().filter((p) => p.name.startsWith('model.tower.cvr'));
  assert.ok(cvrTower.length > 0 && cvrTower.every((p) => p.grad!.some((x) => x !== 0)));
});
