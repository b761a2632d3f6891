import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { topK } from '../../src/engine/topK.js';
import { ExactIndex, HnswIndex, metricFor } from '../../src/serve/annIndex.js';
import { loadExport } from '../../src/serve/bundle.js';
import { evaluateIndex, syntheticVectors } from '../../src/serve/indexEval.js';
import { tinyExport } from './fixture.js';

const D = 16;

function allScores(v: Float32Array, q: Float32Array): Float32Array {
  const n = v.length / D;
  const s = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let j = 0; j < D; j++) d += v[i * D + j]! * q[j]!;
    s[i] = d;
  }
  return s;
}

describe('exact index', () => {
  const v = syntheticVectors(3000, D, 1);
  const q = syntheticVectors(1, D, 2);

  test('returns the full-sort top-K with model scores', () => {
    const idx = new ExactIndex(D, v, 100);
    const got = idx.search(q, 50);
    const want = topK(allScores(v, q), 50);
    assert.deepEqual([...got.keys], [...want]);
    const s = allScores(v, q);
    got.keys.forEach((k, i) => {
      assert.ok(Math.abs(got.scores[i]! - s[k]!) < 1e-4);
    });
  });

  test('remove and add take effect without a rebuild', () => {
    const idx = new ExactIndex(D, new Float32Array(v), 100);
    const best = idx.search(q, 1).keys[0]!;
    idx.remove(Int32Array.of(best));
    assert.notEqual(idx.search(q, 1).keys[0], best);
    assert.equal(idx.size(), 2999);
    // A new item beyond the catalogue, pointing along the query: it must come first.
    idx.add(
      Int32Array.of(5000),
      q.map((x) => x * 100),
    );
    assert.equal(idx.search(q, 1).keys[0], 5000);
    assert.equal(idx.size(), 3000);
  });
});

describe('HNSW index', () => {
  test('the metric follows the score function; L2 for a dot model is refused', () => {
    assert.equal(metricFor('dot'), 'ip');
    assert.equal(metricFor('cosine'), 'cos');
    assert.throws(
      () => metricFor('dot', 'l2sq'),
      /refusing a 'l2sq' index for a model trained with score function 'dot'/,
    );
    assert.throws(
      () => new HnswIndex(D, new Float32Array(D), 'dot', { metric: 'cos' }),
      /refusing a 'cos' index/,
    );
  });

  test('recall@100 against exact search is high on a small catalogue', () => {
    const r = evaluateIndex(syntheticVectors(2000, D, 3), D, syntheticVectors(50, D, 4), {
      scoreFn: 'dot',
      efs: [256],
    });
    const row = r.rows.find((x) => x.ef === 256)!;
    assert.ok(row.recallAt100 >= 0.95, `recall@100 ${row.recallAt100}`);
    assert.ok(row.qps > 0);
    // A smaller ef can only explore less of the graph.
    assert.ok(r.rows[0]!.ef <= row.ef);
  });

  test('incremental add and remove without a rebuild', () => {
    const v = syntheticVectors(500, D, 5);
    const q = syntheticVectors(1, D, 6);
    const idx = new HnswIndex(D, new Float32Array(v), 'dot', { expansionSearch: 200 });
    const best = idx.search(q, 5).keys[0]!;
    idx.remove(Int32Array.of(best));
    assert.ok(!idx.search(q, 20).keys.includes(best));
    assert.equal(idx.size(), 499);
    // A new item along the query with the largest norm the index allows beats every other item.
    const qn = Math.sqrt(q.reduce((s, x) => s + x * x, 0));
    const along = q.map((x) => (x / qn) * idx.phi * 0.999);
    idx.add(Int32Array.of(900), along);
    const r = idx.search(q, 3);
    assert.equal(r.keys[0], 900);
    assert.ok(Math.abs(r.scores[0]! - qn * idx.phi * 0.999) < 1e-3);
    // Re-adding an existing key replaces its vector.
    idx.add(
      Int32Array.of(900),
      q.map((x) => -x / qn),
    );
    assert.notEqual(idx.search(q, 3).keys[0], 900);
    // Beyond the norm bound of the MIPS transform the exact ranking cannot hold: refused.
    assert.throws(
      () =>
        idx.add(
          Int32Array.of(901),
          q.map((x) => x * 100),
        ),
      /exceeds the index's bound/,
    );
  });

  test('dot models: the MIPS transform keeps recall high where a raw inner-product graph fails', () => {
    // Item norms spread over [0.2, 5] and queries anti-aligned with most items: the regime of a
    // trained two-tower export (negative logits), where raw 'ip' HNSW collapses onto large-norm hubs.
    const n = 3000;
    const v = syntheticVectors(n, D, 8);
    const shift = syntheticVectors(1, D, 9);
    for (let i = 0; i < n; i++) {
      const scale = 0.2 + (4.8 * i) / n;
      for (let d = 0; d < D; d++) v[i * D + d] = (v[i * D + d]! * 0.3 + shift[d]!) * scale;
    }
    const queries = syntheticVectors(40, D, 10).map((x, j) => x * 0.3 - shift[j % D]!);
    const r = evaluateIndex(v, D, queries, { scoreFn: 'dot', efs: [256] });
    assert.ok(r.default.recallAt100 >= 0.9, `recall@100 ${r.default.recallAt100}`);
  });

  test('saved next to the manifest; load checks export identity, revision and version', () => {
    const ex = tinyExport({ scoreFn: 'cosine' });
    const bundle = loadExport(ex.dir);
    const m = bundle.manifest;
    const idx = new HnswIndex(m.dim, bundle.itemVectors, 'cosine');
    idx.remove(Int32Array.of(3));
    assert.equal(idx.save(ex.dir, m), m, 'a fresh export keeps its manifest');
    // The live mask of a saved index is the export's (a removal goes through updateCatalogue), so
    // an index that removed an item on its own no longer matches the export's item table.
    assert.throws(() => HnswIndex.load(ex.dir, bundle), /index holds 59 items, the export's vectors 60/);
    new HnswIndex(m.dim, bundle.itemVectors, 'cosine').save(ex.dir, m);
    const back = HnswIndex.load(ex.dir, bundle);
    assert.equal(back.size(), ex.items.size);
    assert.equal(back.metric, 'cos');
    const meta = join(ex.dir, 'index.json');
    const j = JSON.parse(readFileSync(meta, 'utf8'));
    assert.equal(j.format, 'kdrec-index-3');
    assert.equal(j.exportRevision, 0);
    writeFileSync(meta, JSON.stringify({ ...j, exportFormatVersion: 7 }));
    assert.throws(() => HnswIndex.load(ex.dir, bundle), /export format version 7/);
    writeFileSync(meta, JSON.stringify({ ...j, exportCreatedAt: 'yesterday' }));
    assert.throws(() => HnswIndex.load(ex.dir, bundle), /built for the export of yesterday/);
    writeFileSync(meta, JSON.stringify({ ...j, exportRevision: 2 }));
    assert.throws(
      () => HnswIndex.load(ex.dir, bundle),
      /built for revision 2 of the export's item table, manifest.json is at revision 0; rebuild/,
    );
  });

  test('a viewed (memory-mapped) index searches like a loaded one and refuses add/remove', () => {
    const ex = tinyExport({ scoreFn: 'dot' });
    const bundle = loadExport(ex.dir);
    new HnswIndex(bundle.manifest.dim, bundle.itemVectors, 'dot').save(ex.dir, bundle.manifest);
    const loaded = HnswIndex.load(ex.dir, bundle, { mode: 'load' });
    const viewed = HnswIndex.load(ex.dir, bundle, { mode: 'view' });
    const q = syntheticVectors(1, bundle.manifest.dim, 4);
    assert.deepEqual(viewed.search(q, 20), loaded.search(q, 20));
    assert.throws(
      () => viewed.add(Int32Array.of(0), q),
      /index add: this index is a read-only memory map of .*index\.usearch/,
    );
    assert.throws(
      () => viewed.remove(Int32Array.of(0)),
      /index remove: this index is a read-only memory map/,
    );
    loaded.remove(Int32Array.of(0));
    assert.equal(loaded.size(), ex.items.size - 1);
  });
});

describe('HNSW index over norm ranges', () => {
  /** Items whose norms spread over two orders of magnitude (the long tail of a trained catalogue). */
  function skewed(n: number, seed: number): Float32Array {
    const v = syntheticVectors(n, D, seed);
    for (let i = 0; i < n; i++) {
      const scale = 0.05 * 60 ** ((i % 97) / 96);
      for (let d = 0; d < D; d++) v[i * D + d]! *= scale;
    }
    return v;
  }

  test('ranges split the catalogue by norm; search merges them with exact scores', () => {
    const n = 3000;
    const v = skewed(n, 21);
    // One build thread: a multi-threaded build is not repeatable, and its recall here has ranged
    // from 0.948 to above 0.95.
    const idx = new HnswIndex(D, v, 'dot', { normRanges: 3, threads: 1 });
    assert.equal(idx.phis.length, 3);
    assert.ok(idx.phis[0]! < idx.phis[1]! && idx.phis[1]! < idx.phis[2]!, `${idx.phis}`);
    assert.equal(idx.size(), n);
    const queries = syntheticVectors(30, D, 22);
    let hit = 0;
    for (let q = 0; q < 30; q++) {
      const query = queries.subarray(q * D, (q + 1) * D);
      const exact = allScores(v, query);
      const r = idx.search(query, 20);
      assert.equal(r.keys.length, 20);
      r.keys.forEach((k, j) => {
        assert.ok(Math.abs(r.scores[j]! - exact[k]!) < 1e-4, 'scores are the exact dot products');
        if (j > 0) assert.ok(r.scores[j - 1]! >= r.scores[j]!, 'sorted by score');
      });
      const truth = new Set(topK(exact, 20));
      for (const k of r.keys) if (truth.has(k)) hit++;
    }
    assert.ok(hit / (30 * 20) >= 0.95, `recall@20 ${hit / 600}`);
    assert.throws(() => new HnswIndex(D, v, 'cosine', { normRanges: 2 }), /norm ranges apply to dot models/);
    assert.throws(
      () => new HnswIndex(D, v, 'dot', { normRanges: 2, phi: 0 }),
      /norm ranges apply to dot models/,
    );
  });

  test('add puts an item in its norm range, replaces across ranges, refuses one above every bound', () => {
    const n = 600;
    const v = skewed(n, 23);
    const idx = new HnswIndex(D, v, 'dot', { normRanges: 2 });
    const q = syntheticVectors(1, D, 24);
    // A small-norm item exactly along the query: the top result among small-norm items at least.
    const small = q.map((x) => (x * idx.phis[0]! * 0.5) / Math.hypot(...q));
    idx.add(Int32Array.of(n), small);
    assert.equal(idx.size(), n + 1);
    const exact = allScores(v, q);
    const above = exact.filter((s) => s > allScores(small, q)[0]!).length;
    assert.ok(idx.search(q, above + 5).keys.includes(n), 'the added item is found');
    // Replace it by a large-norm vector (moves to the top range), then remove it.
    const large = small.map((x) => (x / idx.phis[0]!) * idx.phis[1]! * 1.5);
    idx.add(Int32Array.of(n), large);
    assert.equal(idx.size(), n + 1);
    assert.equal(idx.search(q, 1).keys[0], n);
    idx.remove(Int32Array.of(n));
    assert.equal(idx.size(), n);
    assert.ok(!idx.search(q, 50).keys.includes(n));
    const huge = q.map((x) => x * 100 * idx.phi);
    assert.throws(
      () => idx.add(Int32Array.of(n + 1), huge),
      /item vector norm .* \(key 601\) exceeds the index's bound/,
    );
    assert.equal(idx.size(), n, 'nothing changed');
  });

  test('saved and loaded (and viewed) with one graph file per range', () => {
    const ex = tinyExport({ scoreFn: 'dot' });
    const bundle = loadExport(ex.dir);
    const m = bundle.manifest;
    const built = new HnswIndex(m.dim, bundle.itemVectors, 'dot', { normRanges: 2 });
    built.save(ex.dir, m);
    const meta = JSON.parse(readFileSync(join(ex.dir, 'index.json'), 'utf8'));
    assert.deepEqual(
      meta.ranges.map((r: { graph: string }) => r.graph),
      ['index.usearch', 'index.b1.usearch'],
    );
    const q = syntheticVectors(1, m.dim, 5);
    for (const mode of ['load', 'view'] as const) {
      const back = HnswIndex.load(ex.dir, bundle, { mode });
      assert.deepEqual(back.phis, built.phis);
      assert.deepEqual(back.search(q, 15), built.search(q, 15));
    }
    const loaded = HnswIndex.load(ex.dir, bundle, { mode: 'load' });
    loaded.remove(Int32Array.of(0, 1, 2));
    assert.equal(loaded.size(), ex.items.size - 3);
  });
});
