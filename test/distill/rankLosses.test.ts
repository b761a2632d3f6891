/**
 * Every rank-distillation loss on small hand-computed lists: value AND gradient against formulas
 * evaluated independently in float64 here, plus the K boundary of top-K labelling and the pair
 * sampler's guarantee that no pair inverts the list order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listwiseLoss, rankPositionTarget, teacherSoftmaxTarget } from '../../src/distill/listwise.js';
import { pairwiseLoss, samplePairs } from '../../src/distill/pairwise.js';
import {
  hybridWeights,
  positionWeights,
  rankDiscrepancyWeights,
  rdLoss,
} from '../../src/distill/rankingDistillation.js';
import { topKLabelLoss, topKLayout } from '../../src/distill/topKLabels.js';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import { Tensor } from '../../src/engine/tensor.js';

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const softplus = (x: number) => Math.log1p(Math.exp(x));

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)),
      `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`,
    );
  }
}

/** Runs `loss(g, s)` on a leaf tensor of student scores and returns value and ∂loss/∂s. */
function valueAndGrad(values: number[], shape: number[], loss: (g: Graph, s: Tensor) => Tensor) {
  const s = new Tensor(Float32Array.from(values), shape, true, 's');
  const g = new Graph({ training: true });
  const l = loss(g, s);
  g.backward(l);
  return { value: l.data[0]!, grad: s.grad ?? new Float32Array(values.length) };
}

test('top-K labelling is exact at the K boundary and counts hard and easy negatives', () => {
  const lay = topKLayout({ k: 3, easyPerHard: 0.5, hardNegatives: 2 }, 6, 2);
  // ranks 1..3 positive; rank 4 (column 3) is the first negative.
  assert.deepEqual([...lay.target], [1, 1, 1, 0, 0, 0, 0, 0]);
  assert.equal(lay.target[2], 1, 'rank K is a positive');
  assert.equal(lay.target[3], 0, 'rank K+1 is a negative');
  // hard negatives: ranks 4 and 5; rank 6 unused; one easy negative (0.5 × 2), the second easy unused.
  assert.deepEqual([...lay.used], [1, 1, 1, 1, 1, 0, 1, 0]);
  assert.equal(lay.hard, 2);
  assert.equal(lay.easy, 1);
  const all = topKLayout({ k: 1, easyPerHard: 0 }, 4, 0);
  assert.deepEqual([...all.target], [1, 0, 0, 0]);
  assert.deepEqual([...all.used], [1, 1, 1, 1]);
  assert.throws(() => topKLayout({ k: 4, easyPerHard: 0 }, 4, 0), /k must be an integer in \[1, 3\]/);
  assert.throws(
    () => topKLayout({ k: 1, easyPerHard: 2 }, 4, 3),
    /needs 6 easy negatives per list, but the lists carry 3/,
  );
});

test('topk_bce: mean BCE over used cells, gradient (σ(s) − y)/|used|', () => {
  const lay = topKLayout({ k: 1, easyPerHard: 1, hardNegatives: 1 }, 3, 1);
  // used columns per list: 0 (pos), 1 (hard), 3 (easy); column 2 unused.
  const s = [0.5, -0.2, 3.0, 1.0, -1.0, 0.3, -7.0, 0.0];
  const { value, grad } = valueAndGrad(s, [2, 4], (g, x) => topKLabelLoss(g, x, lay));
  const y = [1, 0, 0, 0];
  const used = [1, 1, 0, 1];
  let sum = 0;
  const eg: number[] = [];
  for (let i = 0; i < 8; i++) {
    const c = i % 4;
    const bce = -(y[c]! * Math.log(sig(s[i]!)) + (1 - y[c]!) * Math.log(1 - sig(s[i]!)));
    sum += used[c]! * bce;
    eg.push((used[c]! * (sig(s[i]!) - y[c]!)) / 6);
  }
  close([value], [sum / 6], 'value');
  close(grad, eg, 'grad');
});

test('BPR: mean softplus(−(s_i − s_j)) over pairs; teacher ties are masked', () => {
  const s = [1.0, 0.5, -1.0];
  const pairs = { hi: Int32Array.of(0, 0, 1), lo: Int32Array.of(1, 2, 2) };
  const t = Float32Array.of(3, 2, 1);
  const { value, grad } = valueAndGrad(s, [1, 3], (g, x) =>
    pairwiseLoss(g, x, pairs, t, { kind: 'bpr', margin: 0 }),
  );
  const d = [s[0]! - s[1]!, s[0]! - s[2]!, s[1]! - s[2]!];
  close([value], [(softplus(-d[0]!) + softplus(-d[1]!) + softplus(-d[2]!)) / 3], 'value');
  // ∂/∂d softplus(−d) = −σ(−d); s_i gets +∂, s_j gets −∂.
  const gd = d.map((x) => -sig(-x) / 3);
  close(grad, [gd[0]! + gd[1]!, -gd[0]! + gd[2]!, -gd[1]! - gd[2]!], 'grad');

  // Tie between positions 0 and 1: that pair carries no order and is dropped from the mean.
  const tied = Float32Array.of(2, 2, 1);
  const r = valueAndGrad(s, [1, 3], (g, x) => pairwiseLoss(g, x, pairs, tied, { kind: 'bpr', margin: 0 }));
  close([r.value], [(softplus(-d[1]!) + softplus(-d[2]!)) / 2], 'tied value');
  // No overflow for a huge inverted margin: softplus(1000) = 1000, not Infinity.
  const big = valueAndGrad([-500, 500], [1, 2], (g, x) =>
    pairwiseLoss(g, x, { hi: Int32Array.of(0), lo: Int32Array.of(1) }, Float32Array.of(1, 0), {
      kind: 'bpr',
      margin: 0,
    }),
  );
  close([big.value], [1000], 'stable value');
  close(big.grad, [-1, 1], 'stable grad');
});

test('hinge: max(0, m − (s_i − s_j)); satisfied pairs give no gradient', () => {
  const pairs = { hi: Int32Array.of(0, 1), lo: Int32Array.of(1, 2) };
  const t = Float32Array.of(3, 2, 1, 3, 2, 1);
  // list 0: d = 0.5 (violates m = 1 by 0.5), d = 2 (satisfied); list 1: d = −1 (loss 2), d = 0.25 (0.75).
  const s = [2, 1.5, -0.5, 0, 1, 0.75];
  const { value, grad } = valueAndGrad(s, [2, 3], (g, x) =>
    pairwiseLoss(g, x, pairs, t, { kind: 'hinge', margin: 1 }),
  );
  close([value], [(0.5 + 0 + 2 + 0.75) / 4], 'value');
  close(grad, [-0.25, 0.25, 0, -0.25, 0.25 - 0.25, 0.25], 'grad');
});

test('listwise (teacher target): T²·CE(softmax(t/T), softmax(s/T)), gradient T·(p − q)/L', () => {
  const T = 2;
  const s = [1, 0, -1, 0.5, 0.5, 2];
  const t = Float32Array.of(2, 1, 0, -1, 3, 0);
  const q = teacherSoftmaxTarget(t, 2, 3, T);
  const sm = (v: number[]) => {
    const m = Math.max(...v);
    const e = v.map((x) => Math.exp(x - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / z);
  };
  close(q, [...sm([1, 0.5, 0]), ...sm([-0.5, 1.5, 0])], 'target');
  const { value, grad } = valueAndGrad(s, [2, 3], (g, x) => listwiseLoss(g, x, q, T, true));
  const p = [...sm(s.slice(0, 3).map((x) => x / T)), ...sm(s.slice(3).map((x) => x / T))];
  let ce = 0;
  for (let i = 0; i < 6; i++) ce -= q[i]! * Math.log(p[i]!);
  close([value], [(T * T * ce) / 2], 'value');
  close(
    grad,
    p.map((pi, i) => (T * (pi - q[i]!)) / 2),
    'grad',
  );
});

test("listwise (rank target): EasyRec's log1p(C) − log(rank), normalised", () => {
  const q = rankPositionTarget(1, 3, 512);
  const y = [Math.log(513), Math.log(513) - Math.log(2), Math.log(513) - Math.log(3)];
  const z = y[0]! + y[1]! + y[2]!;
  close(
    q,
    y.map((v) => v / z),
    'target',
  );
  // Clip: ranks beyond C get log1p(C) − log(C) (EasyRec clips positions to [1, C]).
  const clipped = rankPositionTarget(1, 4, 2);
  const yc = [Math.log(3), Math.log(3) - Math.log(2), Math.log(3) - Math.log(2), Math.log(3) - Math.log(2)];
  const zc = yc.reduce((a, b) => a + b, 0);
  close(
    clipped,
    yc.map((v) => v / zc),
    'clipped target',
  );
  const s = [0.2, -0.1, 0.4];
  const { value, grad } = valueAndGrad(s, [1, 3], (g, x) => listwiseLoss(g, x, q, 1, true));
  const m = Math.max(...s);
  const e = s.map((x) => Math.exp(x - m));
  const ze = e.reduce((a, b) => a + b, 0);
  const p = e.map((x) => x / ze);
  close([value], [-(q[0]! * Math.log(p[0]!) + q[1]! * Math.log(p[1]!) + q[2]! * Math.log(p[2]!))], 'value');
  close(
    grad,
    p.map((pi, i) => pi - q[i]!),
    'grad',
  );
});

test('RD: position weights ∝ exp(−r/λ); loss −Σ w log σ(s) averaged over lists', () => {
  const w = positionWeights(3, 1);
  const raw = [Math.exp(-1), Math.exp(-2), Math.exp(-3)];
  const z = raw[0]! + raw[1]! + raw[2]!;
  close(
    w,
    raw.map((v) => v / z),
    'weights',
  );
  // lists of 4, k = 3: the 4th column takes no part.
  const s = [0.3, -0.2, 1.5, 9, -1, 0, 0.7, -9];
  const { value, grad } = valueAndGrad(s, [2, 4], (g, x) => rdLoss(g, x, 3, w));
  let sum = 0;
  const eg: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = i % 4;
    const wr = r < 3 ? w[r]! : 0;
    sum -= wr * Math.log(sig(s[i]!));
    eg.push((-wr * (1 - sig(s[i]!))) / 2);
  }
  close([value], [sum / 2], 'value');
  close(grad, eg, 'grad');
});

test('RD dynamic weight: tanh(μ(r̂ − r)) clipped at 0, hybrid with position weights', () => {
  // Student scores of one list in teacher order; k = 3, μ = 0.5.
  const s = Float32Array.of(0.1, 0.9, 0.5, 0.2);
  const wb = rankDiscrepancyWeights(s, 1, 4, 3, 0.5);
  // teacher rank 0: student ranks it last (3 above) → tanh(1.5); rank 1: student's best → 0;
  // rank 2: student ranks it 1 → tanh(0.5·(1 − 2)) < 0 → 0.
  close(wb, [Math.tanh(1.5), 0, 0], 'discrepancy');
  const wa = positionWeights(3, 2);
  close(hybridWeights(wa, wb, false), [wa[0]! * Math.tanh(1.5), 0, 0], 'hybrid');
  close(hybridWeights(wa, wb, true), [1, 0, 0], 'renormalised');
});

test('sampled pairs never invert the order, and rank-gap sampling favours wide gaps', () => {
  const N = 12;
  // A teacher-sorted list (descending scores, with a tie at positions 4 and 5).
  const t = Float32Array.from({ length: N }, (_, i) => (i === 5 ? 12 - 4 : 12 - i));
  const gaps: Record<string, number> = {};
  for (const sampling of ['uniform', 'rank-gap'] as const) {
    const p = samplePairs(N, 5000, sampling, new Rng(3));
    let gap = 0;
    for (let i = 0; i < p.hi.length; i++) {
      assert.ok(
        p.hi[i]! < p.lo[i]! && p.hi[i]! >= 0 && p.lo[i]! < N,
        `${sampling}: pair ${p.hi[i]}, ${p.lo[i]}`,
      );
      assert.ok(
        t[p.hi[i]!]! >= t[p.lo[i]!]!,
        `${sampling}: pair (${p.hi[i]}, ${p.lo[i]}) inverts the teacher order`,
      );
      gap += p.lo[i]! - p.hi[i]!;
    }
    gaps[sampling] = gap / p.hi.length;
  }
  // Uniform over pairs: E[gap] = (N + 1)/3 ≈ 4.33; ∝ gap: E[gap] = Σ d²(N−d) / Σ d(N−d) = 1716/286 = 6 for N = 12.
  assert.ok(Math.abs(gaps['uniform']! - 13 / 3) < 0.15, `uniform mean gap ${gaps['uniform']}`);
  assert.ok(Math.abs(gaps['rank-gap']! - 6) < 0.15, `rank-gap mean gap ${gaps['rank-gap']}`);
});
