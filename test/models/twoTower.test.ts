import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel, TableRegistry, type TwoTowerModel } from '../../src/models/index.js';
import type { ExportedMlpTower } from '../../src/models/types.js';
import { tinyBatch, tinySchema, tinyWorld } from './tinyWorld.js';

function twoTower(spec: Record<string, unknown> = {}): TwoTowerModel {
  return createModel(
    { type: 'two-tower', name: 'student', ...spec },
    tinySchema(),
    new TableRegistry(),
    new Rng(1),
  ) as TwoTowerModel;
}

test('user tower reads user+context fields only, item tower item fields only', () => {
  const m = twoTower();
  assert.deepEqual(m.userTowerFields, ['user_id', 'age', 'hist', 'hour', 'activity']);
  assert.deepEqual(m.itemTowerFields, ['item_id', 'category', 'tags', 'price']);
});

test('asking the user tower to read an item field throws; no privileged field enters either tower', () => {
  assert.throws(
    () => twoTower({ userFields: ['user_id', 'category'] }),
    /student\.userTower may not read item field 'category' \(allowed groups: user, context\)/,
  );
  assert.throws(
    () => twoTower({ itemFields: ['item_id', 'hour'] }),
    /student\.itemTower may not read context field 'hour'/,
  );
  assert.throws(
    () => twoTower({ userFields: ['uc_clicks'] }),
    /student\.userTower may not read privileged field 'uc_clicks'/,
  );
  assert.throws(
    () => twoTower({ itemFields: ['uc_clicks'] }),
    /student\.itemTower may not read privileged field 'uc_clicks'/,
  );
  assert.throws(() => twoTower({ userFields: ['click'] }), /may not read label 'click'/);
  const build = (spec: Record<string, unknown>) => () =>
    createModel(spec, tinySchema(), new TableRegistry(), new Rng(1));
  assert.throws(
    build({ type: 'fm', name: 'fm', userFields: ['uc_clicks'] }),
    /fm\.userSide may not read privileged field 'uc_clicks'/,
  );
  assert.throws(
    build({ type: 'fm', name: 'fm', itemFields: ['user_id'] }),
    /fm\.itemSide may not read user field 'user_id'/,
  );
  assert.throws(
    build({ type: 'prerank-mlp', name: 'pre', fields: ['user_id', 'uc_clicks'] }),
    /may not read privileged field 'uc_clicks'/,
  );
});

test('user vectors do not depend on item fields, item vectors not on user fields', () => {
  const m = twoTower();
  const w = tinyWorld();
  const a = tinyBatch(w, new Rng(3), 16);
  const b = tinyBatch(w, new Rng(3), 16);
  // Scramble b's item side (and privileged/labels) only.
  b.cat.item_id!.reverse();
  b.cat.category!.fill(2);
  b.seq.tags!.ids.fill(-1);
  b.num.price!.fill(9);
  b.num.uc_clicks!.fill(5);
  const g = new Graph({ training: false });
  assert.deepEqual(m.userVectors(g, a).data, m.userVectors(g, b).data);
  const c = tinyBatch(w, new Rng(3), 16);
  c.cat.user_id!.reverse();
  c.cat.hour!.fill(0);
  c.num.activity!.fill(-4);
  assert.deepEqual(m.itemVectors(g, a).data, m.itemVectors(g, c).data);
});

test('score = dot(user, item); cosine: unit item vectors, user vectors of norm 1/τ', () => {
  const batch = tinyBatch(tinyWorld(), new Rng(4), 12);
  for (const spec of [{}, { scoreFn: 'cosine', temperature: 0.2 }]) {
    const m = twoTower(spec);
    const g = new Graph({ training: false });
    const u = m.userVectors(g, batch);
    const v = m.itemVectors(g, batch);
    const logit = m.forward(g, batch).logits.ctr!;
    const D = u.shape[1]!;
    assert.equal(D, 32);
    for (let r = 0; r < 12; r++) {
      let dot = 0;
      let nu = 0;
      let nv = 0;
      for (let d = 0; d < D; d++) {
        dot += u.data[r * D + d]! * v.data[r * D + d]!;
        nu += u.data[r * D + d]! ** 2;
        nv += v.data[r * D + d]! ** 2;
      }
      assert.ok(Math.abs(dot - logit.data[r]!) < 1e-4);
      if (m.scoreFn === 'cosine') {
        assert.ok(Math.abs(Math.sqrt(nv) - 1) < 1e-5);
        assert.ok(Math.abs(Math.sqrt(nu) - 5) < 1e-4);
        assert.ok(Math.abs(logit.data[r]!) <= 5 + 1e-4);
      }
    }
  }
});

test('exportTowers describes each tower: inputs, layers by parameter name, normalisation', () => {
  const m = twoTower({ scoreFn: 'cosine', temperature: 0.05, userHidden: [16, 8], itemHidden: [8] });
  const ex = m.exportTowers();
  assert.equal(ex.scoreFn, 'cosine');
  const user = ex.user as ExportedMlpTower;
  const item = ex.item as ExportedMlpTower;
  assert.equal(user.kind, 'mlp');
  assert.deepEqual(
    user.inputs.map((i) => [i.field, i.table, i.dim]),
    [
      ['user_id', 'emb.user_id', 16],
      ['age', 'emb.age', 16],
      ['hist', 'emb.item_id', 16],
      ['hour', 'emb.hour', 16],
      ['activity', undefined, 1],
    ],
  );
  assert.equal(user.inputs[2]!.pooling, 'mean');
  assert.deepEqual(
    user.layers.map((l) => [l.weight, l.inDim, l.outDim, l.activation]),
    [
      ['student.user.0.W', 65, 16, 'relu'],
      ['student.user.1.W', 16, 8, 'none'],
    ],
  );
  assert.equal(user.normalize, 'l2');
  assert.equal(user.scale, 20);
  assert.equal(item.scale, 1);
  assert.deepEqual(
    item.layers.map((l) => l.weight),
    ['student.item.0.W'],
  );
  // Every named parameter exists in the store, so the exporter can fetch it.
  for (const t of [user, item]) {
    for (const l of t.layers) assert.ok(m.store.has(l.weight) && m.store.has(l.bias!));
    for (const i of t.inputs) if (i.table) assert.ok(m.store.has(i.table));
  }
});
