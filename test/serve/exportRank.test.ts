import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import { readSafetensors } from '../../src/engine/safetensors.js';
import { createModel, TableRegistry } from '../../src/models/index.js';
import type { TwoTowerModel } from '../../src/models/types.js';
import { readManifest } from '../../src/serve/bundle.js';
import { exportModels } from '../../src/serve/export.js';
import { CompiledGraph, type GraphDesc } from '../../src/serve/graph.js';
import { tinyBatch, tinySchema, tinyWorld } from '../models/tinyWorld.js';
import { itemToken, tinyCatalogue, tinyExport, tinyWindowFeatures } from './fixture.js';

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The exported rank graph, compiled over the exported weights (no bundle, no model code). */
function loadRankGraph(dir: string): CompiledGraph {
  const m = readManifest(dir);
  assert.ok(m.files.rank, 'manifest names a rank graph');
  const w = readSafetensors(join(dir, m.files.weights)).tensors;
  const desc = JSON.parse(readFileSync(join(dir, m.files.rank), 'utf8')) as GraphDesc;
  return new CompiledGraph(desc, (n) => {
    const t = w[n];
    return t && t.data instanceof Float32Array ? { data: t.data, shape: t.shape } : undefined;
  });
}

/**
 * Exports a recall model and a ranker over a 3-item tiny catalogue into a new temp directory (the
 * ranker's window features declared, or none); returns the directory.
 */
function exportPair(
  recall: TwoTowerModel,
  ranker: ReturnType<typeof createModel>,
  withWindowFeatures: boolean,
  prefix: string,
): string {
  const items = tinyCatalogue(3);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  exportModels(
    {
      schema: tinySchema(),
      vocabs: {},
      items,
      itemIds: Array.from({ length: items.size }, (_, r) => itemToken(r + 1)),
      recall,
      ranker: { model: ranker, windowFeatures: withWindowFeatures ? tinyWindowFeatures(items) : [] },
    },
    dir,
  );
  return dir;
}

const variants = [
  { label: 'parallel, full-rank cross', ranker: { structure: 'parallel' as const } },
  { label: 'stacked, full-rank cross', ranker: { structure: 'stacked' as const } },
  { label: 'parallel, low-rank cross (r = 3)', ranker: { structure: 'parallel' as const, crossRank: 3 } },
  {
    label: 'stacked, low-rank cross, 3 layers',
    ranker: { structure: 'stacked' as const, crossRank: 2, crossLayers: 3 },
  },
  { label: 'cross only', ranker: { hidden: [] } },
  { label: 'deep only', ranker: { crossLayers: 0 } },
];

for (const v of variants) {
  describe(`ranker export round trip (${v.label})`, () => {
    const ex = tinyExport({ scoreFn: 'dot', ranker: v.ranker });
    const rank = loadRankGraph(ex.dir);

    test('exported ranker gives the in-memory logits on the same batch, privileged input included (≤ 1e-6)', () => {
      const batch = tinyBatch(tinyWorld(), new Rng(5), 48);
      const g = new Graph({ training: false, grad: false });
      const want = ex.ranker!.forward(g, batch).logits['ctr']!.data.slice();
      const got = rank.run(batch);
      assert.ok(maxAbsDiff(got, want) <= 1e-6, `max diff ${maxAbsDiff(got, want)}`);
      // The privileged column matters: changing it changes the exported scores as it does the model's.
      const moved = {
        ...batch,
        num: { ...batch.num, uc_clicks: batch.num['uc_clicks']!.map((x) => x + 1.5) },
      };
      const want2 = ex
        .ranker!.forward(new Graph({ training: false, grad: false }), moved)
        .logits['ctr']!.data.slice();
      const got2 = rank.run(moved);
      assert.ok(maxAbsDiff(got2, want2) <= 1e-6);
      assert.ok(maxAbsDiff(got2, got) > 1e-4, 'uc_clicks reaches the exported ranker');
    });

    test('user-side fields evaluated once give the per-row result (≤ 1e-5)', () => {
      const batch = tinyBatch(tinyWorld(), new Rng(9), 24);
      // One user's candidates: every user/context column equal to row 0's.
      const userCols = ['user_id', 'age', 'hour'];
      const b = { ...batch, cat: { ...batch.cat }, seq: { ...batch.seq }, num: { ...batch.num } };
      for (const f of userCols) b.cat[f] = new Int32Array(24).fill(batch.cat[f]![0]!);
      b.num['activity'] = new Float32Array(24).fill(batch.num['activity']![0]!);
      const h = batch.seq['hist']!;
      b.seq['hist'] = {
        ids: Int32Array.from({ length: 24 * h.maxLen }, (_, i) => h.ids[i % h.maxLen]!),
        maxLen: h.maxLen,
      };
      const full = rank.run(b);
      const one = { ...b, cat: { ...b.cat }, seq: { ...b.seq }, num: { ...b.num } };
      for (const f of userCols) one.cat[f] = b.cat[f]!.subarray(0, 1);
      one.num['activity'] = b.num['activity']!.subarray(0, 1);
      one.seq['hist'] = { ids: h.ids.subarray(0, h.maxLen), maxLen: h.maxLen };
      const once = rank.run(one, new Set([...userCols, 'activity', 'hist']));
      assert.ok(maxAbsDiff(once, full) <= 1e-5, `max diff ${maxAbsDiff(once, full)}`);
    });
  });
}

describe('ranker manifest', () => {
  test('records the model, its fields and the window features of its privileged inputs', () => {
    const ex = tinyExport({ scoreFn: 'cosine', ranker: {} });
    const m = readManifest(ex.dir);
    assert.equal(m.ranker?.model, 'teacher (ranking-dnn)');
    assert.equal(m.ranker?.output, 'ctr');
    assert.ok(m.ranker?.fields.includes('uc_clicks'));
    assert.deepEqual(m.ranker?.windowFeatures, [
      {
        field: 'uc_clicks',
        keyField: 'category',
        countLabel: 'click',
        windowSeconds: 86_400,
        keysPerItem: 1,
        keySpace: 5,
      },
    ]);
    const keys = readSafetensors(join(ex.dir, m.files.rankKeys!)).tensors['keys/uc_clicks']!;
    assert.deepEqual(keys.shape, [ex.items.size, 1]);
    assert.deepEqual([...keys.data.subarray(0, 6)], [0, 1, 2, 3, 4, 0]);
  });

  test('a ranker reading a privileged field that no window feature fills is refused by name', () => {
    const schema = tinySchema();
    const ranker = createModel(
      { type: 'ranking-dnn', name: 'teacher', embeddingDim: 4, hidden: [4], label: 'click' },
      schema,
      new TableRegistry(),
      new Rng(2),
    );
    const recall = createModel(
      {
        type: 'two-tower',
        name: 'student',
        embeddingDim: 4,
        userHidden: [4],
        itemHidden: [4],
        scoreFn: 'dot',
        label: 'click',
      },
      schema,
      new TableRegistry(),
      new Rng(1),
    ) as TwoTowerModel;
    assert.throws(
      () => exportPair(recall, ranker, false, 'kdrec-export-refused-'),
      /reads privileged field 'uc_clicks', which is no window feature/,
    );
  });

  test('an export without a ranker records none', () => {
    const m = readManifest(tinyExport({ scoreFn: 'dot' }).dir);
    assert.equal(m.ranker, null);
    assert.equal(m.files.rank, null);
  });
});

describe('stages from different runs', () => {
  test('equal weight names with different values do not share a table: each graph keeps its own', () => {
    const schema = tinySchema();
    // Two runs: each model has its own root registry, so both name their tables `emb.<field>`.
    const recall = createModel(
      {
        type: 'two-tower',
        name: 'student',
        embeddingDim: 8,
        userHidden: [8],
        itemHidden: [8],
        scoreFn: 'dot',
        label: 'click',
      },
      schema,
      new TableRegistry({ initStd: 0.3 }),
      new Rng(1),
    ) as TwoTowerModel;
    const ranker = createModel(
      { type: 'ranking-dnn', name: 'teacher', embeddingDim: 8, hidden: [8], label: 'click' },
      schema,
      new TableRegistry({ initStd: 0.3 }),
      new Rng(2),
    );
    const dir = exportPair(recall, ranker, true, 'kdrec-export-runs-');
    const rank = loadRankGraph(dir);
    const batch = tinyBatch(tinyWorld(), new Rng(4), 16);
    const want = ranker
      .forward(new Graph({ training: false, grad: false }), batch)
      .logits['ctr']!.data.slice();
    assert.ok(maxAbsDiff(rank.run(batch), want) <= 1e-6, `max diff ${maxAbsDiff(rank.run(batch), want)}`);
    const desc = JSON.parse(readFileSync(join(dir, 'rank.graph.json'), 'utf8')) as GraphDesc;
    const tables = desc.nodes.flatMap((n) => (n.op === 'embed' ? [n.table] : []));
    assert.ok(tables.includes('rank/emb.user_id'), tables.join(', '));
  });
});
