import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Batch } from '../../src/data/batch.js';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import { loadExport, readManifest } from '../../src/serve/bundle.js';
import { EXPORT_FORMAT_VERSION } from '../../src/serve/export.js';
import { tinyBatch, tinyWorld } from '../models/tinyWorld.js';
import { tinyExport, userToken } from './fixture.js';

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const scoreFn of ['dot', 'cosine'] as const) {
  describe(`export round trip (${scoreFn})`, () => {
    const ex = tinyExport({ scoreFn });
    const bundle = loadExport(ex.dir);
    const batch = tinyBatch(tinyWorld(), new Rng(11), 32);

    test('exported user tower gives the in-memory user vectors (≤ 1e-6)', () => {
      const g = new Graph({ training: false, grad: false });
      const want = ex.recall.userVectors(g, batch).data.slice();
      const got = bundle.userTower.run(batch);
      assert.ok(maxAbsDiff(got, want) <= 1e-6, `max diff ${maxAbsDiff(got, want)}`);
    });

    test('exported item vectors and item tower give the in-memory item vectors (≤ 1e-6)', () => {
      const g = new Graph({ training: false, grad: false });
      const want = ex.recall.itemVectors(g, { ...ex.items, labels: {}, extra: {} }).data.slice();
      assert.ok(maxAbsDiff(bundle.itemVectors, want) <= 1e-6);
      assert.ok(maxAbsDiff(bundle.itemTower.run(bundle.items), want) <= 1e-6);
      assert.equal(bundle.itemVectors.length, ex.items.size * ex.manifest.dim);
    });

    test('user·item dot products equal the model logits', () => {
      const g = new Graph({ training: false, grad: false });
      const logits = ex.recall.forward(g, batch).logits['ctr']!.data.slice();
      const u = bundle.userTower.run(batch);
      const v = bundle.itemTower.run(batch);
      const D = bundle.manifest.dim;
      for (let r = 0; r < batch.size; r++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += u[r * D + d]! * v[r * D + d]!;
        assert.ok(Math.abs(s - logits[r]!) <= 1e-5, `row ${r}: ${s} vs ${logits[r]}`);
      }
    });

    test('exported pre-ranker gives the in-memory logits (≤ 1e-6)', () => {
      const g = new Graph({ training: false, grad: false });
      const want = ex.prerank.forward(g, batch).logits['ctr']!.data.slice();
      const got = bundle.prerank!.run(batch);
      assert.ok(maxAbsDiff(got, want) <= 1e-6, `max diff ${maxAbsDiff(got, want)}`);
    });

    test('manifest records score function, temperature and versions', () => {
      const m = readManifest(ex.dir);
      assert.equal(m.scoreFn, scoreFn);
      assert.equal(m.temperature, scoreFn === 'dot' ? 1 : 0.05);
      assert.equal(m.formatVersion, EXPORT_FORMAT_VERSION);
      assert.equal(m.userIdField, 'user_id');
      assert.deepEqual(Object.keys(m.files.vocabs).sort(), [
        'age',
        'category',
        'hour',
        'item_id',
        'tags',
        'user_id',
      ]);
    });
  });
}

describe('request encoding', () => {
  const ex = tinyExport({ scoreFn: 'dot' });
  const bundle = loadExport(ex.dir);

  test('a known user id is filled from the user table; an unknown one takes the OOV row (cold start)', () => {
    const known = bundle.encodeUser({ userId: userToken(5), features: { hour: '007' } });
    assert.equal(known.coldStart, false);
    assert.equal(known.batch.cat['user_id']![0], 5);
    assert.equal(known.batch.cat['age']![0], 1 + (4 % 4));
    assert.equal(known.batch.cat['hour']![0], 7);
    const cold = bundle.encodeUser({ userId: 'never-seen', recent: ['i002', 'i009', 'nope'] });
    assert.equal(cold.coldStart, true);
    assert.equal(cold.batch.cat['user_id']![0], 0);
    assert.equal(cold.batch.cat['age']![0], 0);
    assert.deepEqual([...cold.batch.seq['hist']!.ids], [2, 9, 0, -1]);
  });

  test('pre-ranker scores of candidates equal the model on the same rows', () => {
    const user = bundle.encodeUser({ userId: userToken(3), features: { hour: '012', activity: 0.5 } });
    const rows = Int32Array.of(4, 0, 17, 59);
    const got = bundle.prerankScores(user, rows);
    const b: Batch = {
      size: rows.length,
      cat: {
        user_id: new Int32Array(4).fill(3),
        age: new Int32Array(4).fill(user.batch.cat['age']![0]!),
        hour: new Int32Array(4).fill(12),
        item_id: Int32Array.from(rows, (r) => ex.items.cat['item_id']![r]!),
        category: Int32Array.from(rows, (r) => ex.items.cat['category']![r]!),
      },
      seq: {
        hist: { ids: new Int32Array(16).map((_, i) => user.batch.seq['hist']!.ids[i % 4]!), maxLen: 4 },
        tags: {
          ids: new Int32Array(12).map((_, i) => ex.items.seq['tags']!.ids[rows[(i / 3) | 0]! * 3 + (i % 3)]!),
          maxLen: 3,
        },
      },
      num: {
        activity: new Float32Array(4).fill(user.batch.num['activity']![0]!),
        price: Float32Array.from(rows, (r) => ex.items.num['price']![r]!),
      },
      labels: {},
      extra: {},
    };
    const g = new Graph({ training: false, grad: false });
    const want = ex.prerank.forward(g, b).logits['ctr']!.data.slice();
    assert.ok(maxAbsDiff(got, want) <= 1e-6);
  });

  test('constant (user-side) fields evaluated once give the per-row result', () => {
    const user = bundle.encodeUser({ userId: userToken(9), features: { hour: '005', activity: -0.3 } });
    const rows = Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 60);
    const once = bundle.prerankScores(user, rows);
    // The same rows with every user column tiled, run without the constant-field path.
    const tiled = bundle.prerankScores(user, rows.subarray(0, 1));
    assert.equal(tiled.length, 1);
    const u = user.batch;
    const b: Batch = {
      size: rows.length,
      cat: {
        user_id: new Int32Array(40).fill(u.cat['user_id']![0]!),
        age: new Int32Array(40).fill(u.cat['age']![0]!),
        hour: new Int32Array(40).fill(u.cat['hour']![0]!),
        item_id: Int32Array.from(rows, (r) => ex.items.cat['item_id']![r]!),
        category: Int32Array.from(rows, (r) => ex.items.cat['category']![r]!),
      },
      seq: {
        hist: { ids: new Int32Array(160).map((_, i) => u.seq['hist']!.ids[i % 4]!), maxLen: 4 },
        tags: {
          ids: new Int32Array(120).map(
            (_, i) => ex.items.seq['tags']!.ids[rows[(i / 3) | 0]! * 3 + (i % 3)]!,
          ),
          maxLen: 3,
        },
      },
      num: {
        activity: new Float32Array(40).fill(u.num['activity']![0]!),
        price: Float32Array.from(rows, (r) => ex.items.num['price']![r]!),
      },
      labels: {},
      extra: {},
    };
    const plain = bundle.prerank!.run(b);
    assert.ok(maxAbsDiff(once, plain) <= 1e-5, `max diff ${maxAbsDiff(once, plain)}`);
    // A graph whose inputs are all constant returns its one row for every row.
    const uv = bundle.userTower.run({ ...b }, new Set(['user_id', 'age', 'hour', 'hist', 'activity']));
    const D = bundle.manifest.dim;
    assert.deepEqual([...uv.subarray(D * 39, D * 40)], [...uv.subarray(0, D)]);
    assert.ok(maxAbsDiff(uv, bundle.userTower.run(b)) <= 1e-6);
  });

  test('bad feature values are refused naming the field', () => {
    assert.throws(
      () => bundle.encodeUser({ features: { activity: 'high' } }),
      /features\.activity: expected a finite number/,
    );
    assert.throws(() => bundle.encodeUser({ features: { hist: 'i001' } }), /features\.hist: expected a list/);
  });

  test('a manifest of another format version is refused', () => {
    const ex2 = tinyExport({ scoreFn: 'dot' });
    const p = join(ex2.dir, 'manifest.json');
    const m = JSON.parse(readFileSync(p, 'utf8'));
    m.formatVersion = 99;
    writeFileSync(p, JSON.stringify(m));
    assert.throws(() => loadExport(ex2.dir), /format version 99, this kdrec reads version 1/);
  });

  test('a weight missing from the weights file is named at load time', () => {
    const ex3 = tinyExport({ scoreFn: 'dot' });
    const p = join(ex3.dir, 'user_tower.graph.json');
    const g = JSON.parse(readFileSync(p, 'utf8'));
    g.nodes.find((n: { op: string }) => n.op === 'linear').weight = 'nope.W';
    writeFileSync(p, JSON.stringify(g));
    assert.throws(() => loadExport(ex3.dir), /weight 'nope\.W' is missing/);
  });
});
