import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmbeddingTable } from '../../src/engine/embedding.js';
import { Graph } from '../../src/engine/graph.js';
import { heNormal, heUniform, normal, xavierNormal, xavierUniform, zeros } from '../../src/engine/init.js';
import { LayerNorm, Linear, MLP, ParamStore } from '../../src/engine/nn.js';
import { Adam, SparseAdam } from '../../src/engine/optim.js';
import type { ColumnBatch } from '../../src/engine/parallel.js';
import { Rng } from '../../src/engine/rng.js';
import { Tensor } from '../../src/engine/tensor.js';
import { DSSM_REF_TINY, DssmRef } from '../../src/models/dssmRef.js';

function stats(w: Float32Array): { mean: number; variance: number; min: number; max: number } {
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of w) {
    s += x;
    s2 += x * x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / w.length;
  return { mean, variance: s2 / w.length - mean * mean, min, max };
}

test('initialisers have the documented variance and bounds', () => {
  const rng = new Rng(1);
  const w = new Float32Array(256 * 128);
  const cases: [string, (w: Float32Array) => void, number, number | null][] = [
    ['xavierUniform', (x) => xavierUniform(x, 256, 128, rng), 2 / 384, Math.sqrt(6 / 384)],
    ['xavierNormal', (x) => xavierNormal(x, 256, 128, rng), 2 / 384, null],
    ['heUniform', (x) => heUniform(x, 256, 128, rng), 2 / 256, Math.sqrt(6 / 256)],
    ['heNormal', (x) => heNormal(x, 256, 128, rng), 2 / 256, null],
    ['normal(0.1)', (x) => normal(0.1)(x, 1, 1, rng), 0.01, null],
  ];
  for (const [name, init, variance, limit] of cases) {
    init(w);
    const s = stats(w);
    assert.ok(Math.abs(s.mean) < 0.01 * Math.sqrt(variance) * 10, `${name} mean ${s.mean}`);
    assert.ok(Math.abs(s.variance / variance - 1) < 0.05, `${name} variance ${s.variance} vs ${variance}`);
    if (limit !== null) assert.ok(s.min >= -limit && s.max < limit, `${name} range [${s.min}, ${s.max}]`);
  }
  zeros(w, 1, 1, rng);
  assert.equal(stats(w).max, 0);
  assert.throws(() => heNormal(w, 0, 3, rng), /heNormal: fanIn and fanOut must be > 0/);
});

test('ParamStore: unique names, params/tables/get/count', () => {
  const store = new ParamStore();
  const rng = new Rng(1);
  store.add(new Linear('fc', 3, 2, rng));
  store.add(new EmbeddingTable('emb', 10, 4));
  assert.deepEqual(
    store.params().map((p) => p.name),
    ['fc.W', 'fc.b'],
  );
  assert.deepEqual(
    store.tables().map((t) => t.name),
    ['emb'],
  );
  assert.equal(store.count(), 3 * 2 + 2 + 40);
  assert.equal((store.get('fc.W') as Tensor).shape.join(), '3,2');
  assert.throws(() => store.add(new Linear('fc', 3, 2, rng)), /duplicate name 'fc\.W'/);
  assert.throws(() => store.add(new EmbeddingTable('fc.b', 2, 2)), /duplicate name 'fc\.b'/);
  assert.throws(() => store.get('nope'), /no parameter or table named 'nope' \(known: fc\.W, fc\.b, emb\)/);
  assert.throws(() => store.add(Tensor.zeros([2], false, 'c')), /'c' must have requiresGrad = true/);
});

test('Linear computes x·W + b and gets gradients', () => {
  const rng = new Rng(2);
  const l = new Linear('l', 2, 3, rng);
  l.W.data.set([1, 2, 3, 4, 5, 6]);
  l.b.data.set([0.5, 0, -0.5]);
  const g = new Graph({ training: true });
  const y = l.forward(g, g.input(Float32Array.of(1, -1), [1, 2]));
  assert.deepEqual([...y.data], [-2.5, -3, -3.5]);
  g.backward(g.sum(y));
  assert.deepEqual([...l.W.grad!], [1, 1, 1, -1, -1, -1]);
  assert.deepEqual([...l.b.grad!], [1, 1, 1]);
});

test('MLP: layer names and shapes, relu hidden activations exposed, linear output', () => {
  const rng = new Rng(3);
  const mlp = new MLP('tower', [4, 8, 6, 2], { activation: 'relu', layerNorm: true }, rng);
  assert.deepEqual(
    mlp.layers.map((l) => `${l.name}:${l.inDim}x${l.outDim}`),
    ['tower.0:4x8', 'tower.1:8x6', 'tower.2:6x2'],
  );
  assert.equal(mlp.norms.length, 2);
  assert.equal(mlp.parameters().length, 3 * 2 + 2 * 2);
  const g = new Graph({ training: false });
  const x = g.input(
    Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)),
    [3, 4],
  );
  const { out, hidden } = mlp.forwardWithHidden(g, x);
  assert.deepEqual(out.shape, [3, 2]);
  assert.deepEqual(
    hidden.map((h) => h.shape.join('x')),
    ['3x8', '3x6'],
  );
  for (const h of hidden) assert.ok(h.data.every((v) => v >= 0));
  assert.ok(
    out.data.some((v) => v < 0),
    'no activation after the last layer',
  );
  assert.throws(() => new MLP('bad', [4], { activation: 'relu' }, rng), /dims needs at least \[in, out\]/);
  assert.throws(
    () => new MLP('bad', [4, 2], { activation: 'relu', dropout: 1 }, rng),
    /dropout must be in \[0, 1\)/,
  );
});

test('LayerNorm normalises each row (gain 1, bias 0 at start)', () => {
  const ln = new LayerNorm('ln', 4);
  const g = new Graph({ training: false });
  const y = ln.forward(g, g.input(Float32Array.of(1, 2, 3, 4, 10, 10, 10, 14), [2, 4]));
  for (let r = 0; r < 2; r++) {
    const row = [...y.data.subarray(r * 4, r * 4 + 4)];
    const mean = row.reduce((a, b) => a + b) / 4;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
    assert.ok(Math.abs(mean) < 1e-5 && Math.abs(variance - 1) < 1e-3, `row ${r}: ${mean}, ${variance}`);
  }
});

/** Positive iff user_f1 and category agree mod 4 (25% positives): a signal only the towers together see. */
function signalBatch(rows: number, rng: Rng): ColumnBatch {
  const cfg = DSSM_REF_TINY;
  const names = ['user_id', 'user_f1', 'user_f2', 'user_f3', 'item_id', 'category', 'brand'];
  const vocabs = [...cfg.userVocabs, ...cfg.itemVocabs];
  const cols: Record<string, Int32Array | Float32Array> = {};
  names.forEach((f, i) => {
    cols[f] = Int32Array.from({ length: rows }, () => rng.int(vocabs[i]!));
  });
  const u = cols['user_f1'] as Int32Array;
  const c = cols['category'] as Int32Array;
  cols['label'] = Float32Array.from({ length: rows }, (_, r) => (u[r]! % 4 === c[r]! % 4 ? 1 : 0));
  return { rows, cols };
}

/** AUC by the pairwise count: P(score of a positive > score of a negative), ties count ½. */
function pairwiseAuc(scores: Float32Array, labels: Float32Array): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

test('a tiny two-tower model learns a synthetic signal: loss falls and held-out AUC > 0.8', () => {
  const model = new DssmRef(DSSM_REF_TINY);
  const dense = new Adam(model.store.params(), { lr: 0.01 });
  const sparse = new SparseAdam(model.store.tables(), { lr: 0.01 });
  const rng = new Rng(21);
  const g = new Graph({ training: true, rng: rng.fork('dropout') });
  const losses: number[] = [];
  for (let step = 0; step < 150; step++) {
    g.reset();
    const loss = model.loss(g, signalBatch(128, rng));
    g.backward(loss);
    losses.push(loss.data[0]!);
    dense.step();
    sparse.step();
  }
  const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
  const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
  assert.ok(last < 0.5 * first, `loss ${first} → ${last}`);
  const held = signalBatch(1000, new Rng(99));
  const ge = new Graph({ training: false });
  const auc = pairwiseAuc(model.logits(ge, held).data, held.cols['label'] as Float32Array);
  assert.ok(auc > 0.8, `AUC ${auc}`);
});
