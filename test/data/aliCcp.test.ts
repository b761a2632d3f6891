import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/loaders/index.js';
import { recallSamples } from '../../src/data/samples.js';
import { Rng } from '../../src/engine/rng.js';
import { tempDir } from './fixtures.js';

test("ali-ccp loader: the files' own split, privileged crosses, labels never features", async () => {
  const dir = tempDir('ali');
  const head = 'click,purchase,101,121,205,206,207,508,509,301,109_14,D109_14,D508';
  const row = (i: number, c: number, p: number) =>
    `${c},${p},${1 + (i % 3)},${i % 2},${10 + (i % 5)},${i % 4},${i % 6},${i % 7},0,1,${i % 2},0.${i % 9},0.${(i * 7) % 9}`;
  const file = (n: number, off: number) =>
    `${head}\n${Array.from({ length: n }, (_, i) => row(i + off, (i + off) % 4 === 0 ? 1 : 0, (i + off) % 8 === 0 ? 1 : 0)).join('\n')}`;
  writeFileSync(join(dir, 'ali_ccp_train.csv'), file(20, 0));
  writeFileSync(join(dir, 'ali_ccp_val.csv'), file(6, 20));
  writeFileSync(join(dir, 'ali_ccp_test.csv'), file(8, 26));
  const ds = await loadDataset(`ali-ccp:${dir}`);
  assert.deepEqual(ds.stats.splitRows, { train: 20, valid: 6, test: 8 });
  assert.equal(ds.schema.field('f508').group, 'privileged');
  assert.equal(ds.schema.field('d508').group, 'privileged');
  assert.equal(ds.schema.field('f205').group, 'item');
  assert.equal(ds.schema.field('f205').table, 'item_id');
  assert.equal(ds.schema.field('f301').group, 'context');
  assert.equal(ds.labels.conversion, 'purchase');
  assert.ok(!ds.schema.features.some((f) => f.source === 'click' || f.source === 'purchase'));
  assert.equal(ds.stats.labelRates.train.click, 5 / 20);
  // A headerless test file (as in PaddleRec-AITM) reuses the train header.
  const p = tempDir('ali2');
  writeFileSync(join(p, 'train.csv'), `${file(10, 0)}\n`);
  writeFileSync(join(p, 'test.csv'), `${file(5, 10).split('\n').slice(1).join('\n')}\n`);
  const ds2 = await loadDataset(`ali-ccp:${p}`);
  assert.deepEqual(ds2.stats.splitRows, { train: 9, valid: 1, test: 5 });
  mkdirSync(join(p, 'sub'));
  writeFileSync(join(p, 'extra_train.csv'), file(2, 0));
  await assert.rejects(loadDataset(`ali-ccp:${p}`), /expected one \*train\*\.csv/);
});

test('ali-ccp recall negatives: precomputed crosses are unknown for unlogged pairs and flagged', async () => {
  const dir = tempDir('alirecall');
  const head = 'click,purchase,101,205,206,508,D508,301';
  const rows = Array.from(
    { length: 30 },
    (_, i) => `${i % 3 === 0 ? 1 : 0},0,${1 + (i % 2)},${i % 6},${i % 3},${1 + (i % 4)},0.${1 + (i % 8)},1`,
  );
  writeFileSync(join(dir, 'train.csv'), `${head}\n${rows.slice(0, 20).join('\n')}\n`);
  writeFileSync(join(dir, 'test.csv'), `${head}\n${rows.slice(20).join('\n')}\n`);
  const ds = await loadDataset(`ali-ccp:${dir}`);
  const rs = recallSamples(ds, { negatives: 2, sampler: 'uniform', rng: new Rng(4) });
  const c = rs.columns;
  assert.ok(rs.size > 0);
  for (let i = 0; i < rs.size; i++) {
    const pos = c.labels.click![i] === 1;
    assert.equal(c.extra.privilegedKnown![i], pos ? 1 : 0);
    if (!pos) {
      assert.equal(c.cat.f508![i], 0, 'unknown cross id → row 0');
      assert.equal(c.num.d508![i], 0);
    }
  }
});
