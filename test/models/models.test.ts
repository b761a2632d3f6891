import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Schema } from '../../src/data/schema.js';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel, isTwoTower, parseModelSpec, TableRegistry } from '../../src/models/index.js';
import { TINY_DECL, tinyBatch, tinySchema, tinyWorld } from './tinyWorld.js';

const B = 9;

function build(spec: Record<string, unknown>, registry = new TableRegistry()) {
  return createModel(spec, tinySchema(), registry, new Rng(1));
}

function batch() {
  return tinyBatch(tinyWorld(), new Rng(2), B);
}

test('every model type gives [B] logits for its outputs, and a finite hard loss', () => {
  const cases: [Record<string, unknown>, string[]][] = [
    [{ type: 'ranking-dnn' }, ['ctr']],
    [{ type: 'ranking-dnn', structure: 'stacked', crossRank: 3, hidden: [8] }, ['ctr']],
    [{ type: 'mmoe-esmm', ctcvrLabel: 'conversion' }, ['ctr', 'cvr', 'ctcvr']],
    [{ type: 'two-tower' }, ['ctr']],
    [{ type: 'two-tower', scoreFn: 'cosine', temperature: 0.1 }, ['ctr']],
    [{ type: 'fm', embeddingDim: 8 }, ['ctr']],
    [{ type: 'prerank-mlp' }, ['ctr']],
  ];
  for (const [spec, outputs] of cases) {
    const m = build(spec);
    assert.deepEqual(m.outputNames, outputs, JSON.stringify(spec));
    const g = new Graph({ training: true, rng: new Rng(3) });
    const b = batch();
    const out = m.forward(g, b);
    for (const o of outputs) {
      assert.deepEqual(out.logits[o]!.shape, [B], `${m.kind}.${o}`);
      for (const v of out.logits[o]!.data) assert.ok(Number.isFinite(v), `${m.kind}.${o} finite`);
    }
    const loss = m.hardLoss(g, out, b);
    assert.ok(Number.isFinite(loss.total.data[0]!) && loss.total.data[0]! > 0);
    g.backward(loss.total);
    // Every dense parameter is reached by the hard loss (no dead layer).
    for (const p of m.store.params()) {
      assert.ok(
        p.grad?.some((x) => x !== 0),
        `${m.kind}: ${p.name} got no gradient`,
      );
    }
  }
});

test('hidden layers are exposed by name for hint distillation', () => {
  const dnn = build({ type: 'ranking-dnn', hidden: [12, 6], crossLayers: 2 });
  const g = new Graph({ training: false });
  const h = dnn.forward(g, batch()).hidden!;
  assert.deepEqual(Object.keys(h).sort(), ['cross.0', 'cross.1', 'deep.0', 'deep.1', 'final']);
  assert.deepEqual(h['deep.1']!.shape, [B, 6]);
  const pre = build({ type: 'prerank-mlp', hidden: [10, 5], crossDim: 4 });
  const hp = pre.forward(g, batch()).hidden!;
  assert.deepEqual(hp['mlp.0']!.shape, [B, 10]);
  assert.deepEqual(hp['mlp.1']!.shape, [B, 5]);
  assert.deepEqual(hp.cross!.shape, [B, 4]);
});

test('teachers read all four groups by default; students none of privileged', () => {
  const dnn = build({ type: 'ranking-dnn' });
  assert.ok(dnn.fields.includes('uc_clicks'));
  assert.ok(dnn.fields.includes('hour'));
  for (const type of ['two-tower', 'fm', 'prerank-mlp']) {
    const m = build({ type });
    assert.ok(!m.fields.includes('uc_clicks'), type);
    assert.ok(m.fields.includes('item_id') && m.fields.includes('user_id'), type);
  }
  assert.throws(
    () => build({ type: 'prerank-mlp', groups: ['user', 'item', 'privileged'] }),
    /may not read privileged fields/,
  );
  assert.throws(
    () => build({ type: 'prerank-mlp', fields: ['user_id', 'item_id', 'uc_clicks'] }),
    /may not read privileged field 'uc_clicks'/,
  );
});

test('teacher and student built with one registry share tables; separateTables gives a private one', () => {
  const reg = new TableRegistry();
  const teacher = build({ type: 'ranking-dnn', name: 'teacher' }, reg);
  const student = build({ type: 'two-tower', name: 'student', separateTables: ['user_id'] }, reg);
  const tTables = new Map(teacher.store.tables().map((t) => [t.name, t]));
  const sTables = new Map(student.store.tables().map((t) => [t.name, t]));
  assert.equal(sTables.get('emb.item_id'), tTables.get('emb.item_id'));
  assert.ok(sTables.has('student/emb.user_id'));
  assert.ok(!sTables.has('emb.user_id'));
  assert.ok(tTables.has('emb.user_id'));
  // The history field pools from the item table: one table, not two.
  assert.ok(!tTables.has('emb.hist'));
  // Two models asking for one table at two widths is refused.
  assert.throws(
    () => build({ type: 'fm', name: 'fm', embeddingDim: 8 }, reg),
    /'emb.user_id' exists with vocab 41 × dim 16, but was requested as 41 × 8/,
  );
});

test('isTwoTower tells retrieval students from joint models', () => {
  assert.ok(isTwoTower(build({ type: 'two-tower' })));
  assert.ok(isTwoTower(build({ type: 'fm' })));
  assert.ok(!isTwoTower(build({ type: 'prerank-mlp' })));
  assert.ok(!isTwoTower(build({ type: 'mmoe-esmm', ctcvrLabel: 'conversion' })));
});

test('bad specs are refused with every problem and its path', () => {
  assert.throws(
    () => parseModelSpec({ type: 'two-tower', name: 'student', userHidden: [0, 8], dropout: 1, bogus: 1 }),
    (e: Error) =>
      /student\.userHidden\[0\]/.test(e.message) &&
      /student\.dropout/.test(e.message) &&
      /bogus/.test(e.message),
  );
  assert.throws(() => parseModelSpec({ type: 'two-tower', temperature: 0.1 }), /temperature.*cosine/);
  assert.throws(() => parseModelSpec({ type: 'nope' }), /type/);
  assert.throws(
    () => build({ type: 'two-tower', userHidden: [8, 4], itemHidden: [8, 5] }),
    /output widths must be equal/,
  );
  assert.throws(
    () => build({ type: 'ranking-dnn', label: 'clicks' }),
    /'clicks' is not a label of the schema \(labels: click, conversion\)/,
  );
});

test('mmoe-esmm finds the ctcvr label when only one label says conversion', () => {
  const m = build({ type: 'mmoe-esmm' });
  assert.deepEqual(m.supervised, { ctr: 'click', ctcvr: 'conversion' });
});

test('a batch missing a column is reported with the model part and the columns present', () => {
  const m = build({ type: 'two-tower', name: 'student' });
  const b = batch();
  delete (b.cat as Record<string, Int32Array>).hour;
  assert.throws(
    () => m.forward(new Graph({ training: false }), b),
    /student\.userTower: batch \(9 rows\) has no categorical column 'hour' \(cat columns present: user_id, age, item_id, category\)/,
  );
  const b2 = batch();
  b2.cat.item_id![3] = 1000;
  assert.throws(() => m.forward(new Graph({ training: false }), b2), /vocab 61, but ids\[3\] = 1000/);
});

test('label defaults: the dataset label roles, else the schema label named like click', () => {
  const decl = {
    fields: TINY_DECL.fields.map((f) =>
      f.name === 'click'
        ? { ...f, name: 'is_click' }
        : f.name === 'conversion'
          ? { ...f, name: 'long_view' }
          : f,
    ),
  };
  const schema = new Schema(decl, tinySchema().fit);
  const m = createModel({ type: 'mmoe-esmm' }, schema, new TableRegistry(), new Rng(1));
  assert.deepEqual(m.supervised, { ctr: 'is_click', ctcvr: 'long_view' });
  const ctx = { labels: { click: 'long_view', long: 'is_click' } };
  const swapped = createModel({ type: 'mmoe-esmm' }, schema, new TableRegistry(), new Rng(1), ctx);
  assert.deepEqual(swapped.supervised, { ctr: 'long_view', ctcvr: 'is_click' });
  const tt = createModel({ type: 'two-tower' }, schema, new TableRegistry(), new Rng(1));
  assert.deepEqual(tt.supervised, { ctr: 'is_click' });
  assert.throws(
    () => createModel({ type: 'fm', label: 'click' }, schema, new TableRegistry(), new Rng(1)),
    /model\.label: 'click' is not a label/,
  );
});

test('separateTables is keyed by table: a field pooled from a separated table follows it', () => {
  const reg = new TableRegistry();
  build({ type: 'ranking-dnn', name: 'teacher' }, reg);
  const student = build({ type: 'two-tower', name: 'student', separateTables: ['item_id'] }, reg);
  const names = student.store.tables().map((t) => t.name);
  // item_id (item tower) and hist (user tower, pooled from item_id) both read the private table.
  assert.ok(names.includes('student/emb.item_id'));
  assert.ok(!names.includes('emb.item_id'));
  assert.ok(names.includes('emb.user_id'));
  assert.throws(
    () => build({ type: 'two-tower', separateTables: ['user_idd'] }),
    /separateTables: no field 'user_idd'/,
  );
  assert.throws(
    () => build({ type: 'fm', separateTables: ['activity'] }),
    /'activity' is a numeric field and has no embedding table/,
  );
  assert.throws(
    () =>
      build({
        type: 'two-tower',
        userFields: ['age'],
        itemFields: ['category'],
        separateTables: ['user_id'],
      }),
    /this model reads no field of table 'user_id'/,
  );
});

test('the same seed builds bit-identical models; another seed does not', () => {
  for (const type of ['ranking-dnn', 'mmoe-esmm', 'two-tower', 'fm', 'prerank-mlp']) {
    const weights = (seed: number) => {
      const m = createModel({ type }, tinySchema(), new TableRegistry(), new Rng(seed));
      return [...m.store.params().map((p) => p.data), ...m.store.tables().map((t) => t.weight.data)];
    };
    const a = weights(5);
    assert.deepEqual(a, weights(5), type);
    assert.notDeepEqual(a, weights(6), type);
  }
});
