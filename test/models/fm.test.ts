import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Batch } from '../../src/data/batch.js';
import type { EmbeddingTable } from '../../src/engine/embedding.js';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { createModel, TableRegistry, type TwoTowerModel } from '../../src/models/index.js';
import type { ExportedFmTower } from '../../src/models/types.js';
import { tinyBatch, tinySchema, tinyWorld } from './tinyWorld.js';

const K = 6;
const ID_FIELDS: [string, 'cat' | 'sum' | 'mean'][] = [
  ['user_id', 'cat'],
  ['age', 'cat'],
  ['hist', 'mean'],
  ['hour', 'cat'],
  ['item_id', 'cat'],
  ['category', 'cat'],
  ['tags', 'sum'],
];
const TABLE: Record<string, string> = { hist: 'item_id' };
const NUMERIC: [string, 'user' | 'item'][] = [
  ['activity', 'user'],
  ['price', 'item'],
];

/** Rendle eq. 1 evaluated directly in float64: w0 + Σ_f w_f + Σ_{f<g} ⟨e_f, e_g⟩ over every field. */
function directFm(m: TwoTowerModel, b: Batch, r: number): number {
  const vecs: number[][] = [];
  let lin = (m.store.get('fm.w0') as Tensor).data[0]!;
  for (const [f, mode] of ID_FIELDS) {
    const table = m.store.get(`emb.${TABLE[f] ?? f}`) as EmbeddingTable;
    const linT = m.store.get(`emb.${TABLE[f] ?? f}.fm_linear`) as EmbeddingTable;
    const ids =
      mode === 'cat'
        ? [b.cat[f]![r]!]
        : [...b.seq[f]!.ids.subarray(r * b.seq[f]!.maxLen, (r + 1) * b.seq[f]!.maxLen)].filter((x) => x >= 0);
    const e = new Array<number>(K).fill(0);
    let w = 0;
    for (const id of ids) {
      for (let d = 0; d < K; d++) e[d]! += table.weight.data[id * K + d]!;
      w += linT.weight.data[id]!;
    }
    const scale = mode === 'mean' && ids.length > 0 ? 1 / ids.length : 1;
    vecs.push(e.map((x) => x * scale));
    lin += w * scale;
  }
  NUMERIC.forEach(([f, side]) => {
    const idx = NUMERIC.filter(([, s]) => s === side).findIndex(([n]) => n === f);
    const V = m.store.get(`fm.${side}.numLatent`) as Tensor;
    const W = m.store.get(`fm.${side}.numLinear`) as Tensor;
    const x = b.num[f]![r]!;
    vecs.push(Array.from({ length: K }, (_, d) => x * V.data[idx * K + d]!));
    lin += x * W.data[idx]!;
  });
  let pairs = 0;
  for (let i = 0; i < vecs.length; i++)
    for (let j = i + 1; j < vecs.length; j++)
      for (let d = 0; d < K; d++) pairs += vecs[i]![d]! * vecs[j]![d]!;
  return lin + pairs;
}

function fm(): TwoTowerModel {
  const m = createModel(
    { type: 'fm', name: 'fm', embeddingDim: K },
    tinySchema(),
    new TableRegistry({ initStd: 0.3 }),
    new Rng(11),
  ) as TwoTowerModel;
  // Make every term matter: non-zero bias and numeric linear weights (they start at zero).
  const rng = new Rng(12);
  for (const p of m.store.params()) for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * 0.5;
  return m;
}

test('FM: dot(userVector, itemVector) equals the direct FM computation (Rendle eq. 1)', () => {
  const m = fm();
  const b = tinyBatch(tinyWorld(), new Rng(13), 20);
  const g = new Graph({ training: false });
  const u = m.userVectors(g, b);
  const v = m.itemVectors(g, b);
  assert.deepEqual(u.shape, [20, K + 2]);
  assert.deepEqual(v.shape, [20, K + 2]);
  const logit = m.forward(g, b).logits.ctr!.data;
  for (let r = 0; r < 20; r++) {
    const ref = directFm(m, b, r);
    let dot = 0;
    for (let d = 0; d < K + 2; d++) dot += u.data[r * (K + 2) + d]! * v.data[r * (K + 2) + d]!;
    assert.ok(Math.abs(dot - ref) < 1e-4 * Math.max(1, Math.abs(ref)), `row ${r}: dot ${dot}, direct ${ref}`);
    assert.ok(
      Math.abs(logit[r]! - ref) < 1e-4 * Math.max(1, Math.abs(ref)),
      `row ${r}: logit ${logit[r]}, direct ${ref}`,
    );
    // Layout: user [S_U, a_U, 1], item [S_I, 1, a_I].
    assert.equal(u.data[r * (K + 2) + K + 1], 1);
    assert.equal(v.data[r * (K + 2) + K], 1);
  }
});

test('FM: the item vector depends on item fields only, so one index serves every user', () => {
  const m = fm();
  const w = tinyWorld();
  const a = tinyBatch(w, new Rng(14), 10);
  const b = tinyBatch(w, new Rng(14), 10);
  b.cat.user_id!.reverse();
  b.cat.hour!.fill(3);
  b.num.activity!.fill(2);
  const g = new Graph({ training: false });
  assert.deepEqual(m.itemVectors(g, a).data, m.itemVectors(g, b).data);
});

test('FM export names the latent and linear tables and the user-side bias', () => {
  const m = fm();
  const ex = m.exportTowers();
  const user = ex.user as ExportedFmTower;
  const item = ex.item as ExportedFmTower;
  assert.equal(user.kind, 'fm');
  assert.equal(user.bias, 'fm.w0');
  assert.equal(item.bias, undefined);
  assert.equal(user.outDim, K + 2);
  assert.deepEqual(item.linearTables, {
    item_id: 'emb.item_id.fm_linear',
    category: 'emb.category.fm_linear',
    tags: 'emb.tags.fm_linear',
  });
  assert.deepEqual(user.numericFields, ['activity']);
  assert.equal(user.numericLatent, 'fm.user.numLatent');
  for (const name of [
    ...Object.values(user.linearTables),
    user.numericLatent!,
    user.numericLinear!,
    user.bias!,
  ])
    assert.ok(m.store.has(name), name);
});
