/**
 * Every model on a real LoadedDataset: a small simulated world written by `simulate`, read back by
 * the `sim:` loader (schema with privileged window features, fitted table sizes, label roles).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LoadedDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { simulate } from '../../src/data/simulator.js';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel, isTwoTower, Popularity, TableRegistry } from '../../src/models/index.js';

let dir = '';
let ds: LoadedDataset;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdrec-models-'));
  await simulate({ out: dir, users: 300, items: 400, days: 2, seed: 5, requestsPerUserDay: 3 });
  ds = await loadDataset(`sim:${dir}`);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('every model builds from the sim schema and trains a step on a real batch', () => {
  const registry = new TableRegistry();
  const rng = new Rng(1);
  const teacher = createModel({ type: 'ranking-dnn', name: 'teacher' }, ds.schema, registry, rng.fork('t'), {
    labels: ds.labels,
  });
  const mmoe = createModel({ type: 'mmoe-esmm', name: 'mmoe' }, ds.schema, registry, rng.fork('m'), {
    labels: ds.labels,
  });
  assert.deepEqual(mmoe.supervised, { ctr: 'click', ctcvr: 'long_dwell' });
  assert.ok(
    teacher.fields.includes('user_category_clicks'),
    'the teacher sees the privileged window features',
  );
  const students = ['two-tower', 'fm', 'prerank-mlp'].map((type) =>
    createModel({ type, name: type.replace('-', '_') }, ds.schema, registry, rng.fork(type), {
      labels: ds.labels,
    }),
  );
  for (const s of students) {
    assert.ok(
      !s.fields.some((f) => ds.schema.field(f).group === 'privileged'),
      `${s.kind} reads no privileged field`,
    );
  }
  const batch = ds.splits.train.slice(0, 256);
  for (const m of [teacher, mmoe, ...students]) {
    const g = new Graph({ training: true, rng: new Rng(2) });
    const out = m.forward(g, batch);
    for (const o of m.outputNames) assert.deepEqual(out.logits[o]!.shape, [256]);
    const loss = m.hardLoss(g, out, batch);
    assert.ok(Number.isFinite(loss.total.data[0]!), m.kind);
    g.backward(loss.total);
    assert.ok(
      m.store.tables().some((t) => t.sparseGrad().nRows > 0),
      `${m.kind}: embedding rows got gradient`,
    );
    m.store.zeroGrad();
  }
  // Retrieval students score the item catalogue with the item tower alone.
  const tt = students[0]!;
  assert.ok(isTwoTower(tt));
  const g = new Graph({ training: false });
  const items = tt.itemVectors(g, ds.items.slice(0, ds.items.size));
  assert.deepEqual(items.shape, [ds.items.size, 32]);
});

test('popularity counts clicks of the training split only', () => {
  const pop = new Popularity(
    { name: 'pop', itemField: 'item_id', label: ds.labels.click, output: 'ctr' },
    ds.schema,
    ds.splits.train.columns,
  );
  let total = 0;
  for (const c of pop.counts) total += c;
  let clicks = 0;
  for (const v of ds.splits.train.columns.labels.click!) clicks += v;
  assert.equal(total, clicks);
  assert.ok(total > 0);
});
