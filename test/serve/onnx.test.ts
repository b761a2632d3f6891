/**
 * ONNX export (src/serve/onnx): onnxruntime-node loads every exported model, and on 1,000 seeded
 * requests its outputs agree with kdrec's own forward pass (the in-memory model and the exported
 * graph's interpreter) within 1e-5 absolute, for every model type the export covers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { Batch } from '../../src/data/batch.js';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import type { ExportedTower } from '../../src/models/types.js';
import { updateCatalogue } from '../../src/serve/annIndex.js';
import { loadExport } from '../../src/serve/bundle.js';
import { EXPORT_FORMAT_VERSION } from '../../src/serve/export.js';
import { preRankGraph, rankGraph, towerGraph } from '../../src/serve/exportGraphs.js';
import { GRAPH_FORMAT, type GraphDesc } from '../../src/serve/graph.js';
import { ONNX_MANIFEST_FILE, readOnnxManifest, writeOnnxExport } from '../../src/serve/onnx/onnxExport.js';
import {
  decodeOnnxModel,
  graphToOnnx,
  int64Ids,
  type OnnxIo,
  onnxFeeds,
} from '../../src/serve/onnx/onnxModel.js';
import { tinyBatch, tinySchema, tinyWorld } from '../models/tinyWorld.js';
import { tinyExport } from './fixture.js';

const REQUESTS = 1000;
const TOL = 1e-5;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Runs an exported ONNX model with onnxruntime-node (CPU, 1 thread) on a kdrec batch. */
export async function runOrt(path: string, io: OnnxIo, batch: Batch): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(readFileSync(path), { intraOpNumThreads: 1 });
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(onnxFeeds(io, batch)))
    feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
  const out = await session.run(feeds);
  const t = out[io.outputs[0]!.name]!;
  assert.deepEqual([...t.dims], [batch.size, io.outputs[0]!.dims[1]]);
  await session.release();
  return t.data as Float32Array;
}

/** Asserts ORT's output is within TOL of every reference (by name), reporting the worst difference. */
function assertAgrees(got: Float32Array, refs: Record<string, Float32Array>): void {
  for (const [name, want] of Object.entries(refs)) {
    const d = maxAbsDiff(got, want);
    assert.ok(d <= TOL, `ORT vs ${name}: max |diff| ${d} > ${TOL}`);
  }
}

const noGrad = () => new Graph({ training: false, grad: false });

/**
 * One user's candidates as a server scores them (ServingBundle.scoreCandidates): the user and
 * context columns of row 0 as ONE row, item and privileged columns per candidate; and the same
 * batch with the user row tiled, as the model sees it.
 */
function oneUser(batch: Batch): { compact: Batch; tiled: Batch; constant: Set<string> } {
  const schema = tinySchema();
  const userSide = (f: string) => ['user', 'context'].includes(schema.field(f).group ?? '');
  const B = batch.size;
  const compact: Batch = { ...batch, cat: { ...batch.cat }, seq: { ...batch.seq }, num: { ...batch.num } };
  const tiled: Batch = { ...batch, cat: { ...batch.cat }, seq: { ...batch.seq }, num: { ...batch.num } };
  const constant = new Set<string>();
  for (const [f, c] of Object.entries(batch.cat)) {
    if (!userSide(f)) continue;
    constant.add(f);
    compact.cat[f] = c.slice(0, 1);
    tiled.cat[f] = new Int32Array(B).fill(c[0]!);
  }
  for (const [f, c] of Object.entries(batch.num)) {
    if (!userSide(f)) continue;
    constant.add(f);
    compact.num[f] = c.slice(0, 1);
    tiled.num[f] = new Float32Array(B).fill(c[0]!);
  }
  for (const [f, c] of Object.entries(batch.seq)) {
    if (!userSide(f)) continue;
    constant.add(f);
    const L = c.maxLen;
    compact.seq[f] = { ids: c.ids.slice(0, L), maxLen: L };
    const ids = new Int32Array(B * L);
    for (let r = 0; r < B; r++) ids.set(c.ids.subarray(0, L), r * L);
    tiled.seq[f] = { ids, maxLen: L };
  }
  return { compact, tiled, constant };
}

for (const scoreFn of ['dot', 'cosine'] as const) {
  describe(`onnx export: two-tower towers and prerank-mlp (${scoreFn})`, () => {
    const ex = tinyExport({ scoreFn, seed: 5 });
    const bundle = loadExport(ex.dir);
    const m = writeOnnxExport(ex.dir);
    const onnxDir = join(ex.dir, 'onnx');
    const batch = tinyBatch(tinyWorld(), new Rng(2026), REQUESTS);

    test('user tower: ORT = graph interpreter = model (1,000 requests, ≤ 1e-5)', async () => {
      const got = await runOrt(join(onnxDir, m.models.user_tower!.file), m.models.user_tower!, batch);
      assertAgrees(got, {
        graph: bundle.userTower.run(batch),
        model: ex.recall.userVectors(noGrad(), batch).data,
      });
    });

    test('item tower: ORT = graph interpreter = model (1,000 requests, ≤ 1e-5)', async () => {
      const got = await runOrt(join(onnxDir, m.models.item_tower!.file), m.models.item_tower!, batch);
      assertAgrees(got, {
        graph: bundle.itemTower.run(batch),
        model: ex.recall.itemVectors(noGrad(), batch).data,
      });
    });

    test('prerank-mlp: ORT = graph interpreter = model logits (1,000 requests, ≤ 1e-5)', async () => {
      const got = await runOrt(join(onnxDir, m.models.prerank!.file), m.models.prerank!, batch);
      assertAgrees(got, {
        graph: bundle.prerank!.run(batch),
        model: ex.prerank.forward(noGrad(), batch).logits['ctr']!.data,
      });
    });
    test('inputs: int64 ids, float32 numerics, named by field, dynamic batch', () => {
      const io = m.models.user_tower!;
      const byName = Object.fromEntries(io.inputs.map((i) => [i.name, i]));
      assert.deepEqual(byName['user_id'], {
        name: 'user_id',
        field: 'user_id',
        type: 'int64',
        dims: ['batch'],
        kind: 'categorical',
      });
      assert.deepEqual(byName['hist']!.dims, ['batch', 4]);
      assert.equal(byName['activity']!.type, 'float32');
      assert.deepEqual(io.outputs, [{ name: 'user_vector', type: 'float32', dims: ['batch', 8] }]);
      assert.equal(m.fields['user_id']!.encode.kind, 'categorical');
      assert.deepEqual(m.fields['activity']!.encode, { kind: 'numeric', normalize: 'none' });
    });

    test('the manifest reads back; another export format version is refused naming file and versions', () => {
      assert.equal(readOnnxManifest(onnxDir).dim, 8);
      // Converting a kdrec export written by another version fails before anything is written.
      const old = mkdtempSync(join(tmpdir(), 'kdrec-onnx-old-'));
      const kdrecManifest = JSON.parse(readFileSync(join(ex.dir, 'manifest.json'), 'utf8'));
      writeFileSync(join(old, 'manifest.json'), JSON.stringify({ ...kdrecManifest, formatVersion: 0 }));
      assert.throws(
        () => writeOnnxExport(old),
        (e: Error) =>
          e.message.includes(join(old, 'manifest.json')) &&
          e.message.includes('export format version 0') &&
          e.message.includes(`reads version ${EXPORT_FORMAT_VERSION}`),
      );
      const other = mkdtempSync(join(tmpdir(), 'kdrec-onnx-'));
      const path = join(other, ONNX_MANIFEST_FILE);
      writeFileSync(path, JSON.stringify({ ...m, formatVersion: EXPORT_FORMAT_VERSION + 1 }));
      assert.throws(
        () => readOnnxManifest(other),
        (e: Error) =>
          e.message.includes(path) &&
          e.message.includes(`version ${EXPORT_FORMAT_VERSION + 1}`) &&
          e.message.includes(`reads version ${EXPORT_FORMAT_VERSION}`),
      );
    });
  });
}

describe('onnx export: fm as recall towers and as pre-ranker', () => {
  const ex = tinyExport({ scoreFn: 'dot', recall: 'fm', prerank: 'fm', seed: 8 });
  const bundle = loadExport(ex.dir);
  const m = writeOnnxExport(ex.dir);
  const onnxDir = join(ex.dir, 'onnx');
  const batch = tinyBatch(tinyWorld(), new Rng(17), REQUESTS);

  test('fm graphs = the model: towers, and u·v = the FM logit (1,000 requests)', () => {
    const g = noGrad();
    assertAgrees(bundle.userTower.run(batch), { model: ex.recall.userVectors(g, batch).data });
    assertAgrees(bundle.itemTower.run(batch), { model: ex.recall.itemVectors(g, batch).data });
    assertAgrees(bundle.prerank!.run(batch), { model: ex.prerank.forward(g, batch).logits['ctr']!.data });
  });

  test('fm pre-ranker serving one user (user side computed once, broadcast) = the model', () => {
    const { compact, tiled, constant } = oneUser(tinyBatch(tinyWorld(), new Rng(29), 64));
    assertAgrees(bundle.prerank!.run(compact, constant), {
      model: ex.prerank.forward(noGrad(), tiled).logits['ctr']!.data,
    });
  });

  for (const [name, ref] of [
    ['user_tower', (g: Graph) => ex.recall.userVectors(g, batch).data],
    ['item_tower', (g: Graph) => ex.recall.itemVectors(g, batch).data],
    ['prerank', (g: Graph) => ex.prerank.forward(g, batch).logits['ctr']!.data],
  ] as const) {
    test(`fm ${name}: ORT = model (1,000 requests, ≤ 1e-5)`, async () => {
      const io = m.models[name]!;
      assertAgrees(await runOrt(join(onnxDir, io.file), io, batch), { model: ref(noGrad()) });
    });
  }
});

for (const ranker of [
  { type: 'ranking-dnn', structure: 'parallel' },
  { type: 'ranking-dnn', structure: 'stacked' },
  { type: 'ranking-dnn', structure: 'parallel', crossRank: 3 },
  { type: 'mmoe-esmm' },
] as const) {
  const label = `${ranker.type}${'structure' in ranker ? ` ${ranker.structure}` : ''}${'crossRank' in ranker ? ' low-rank' : ''}`;
  describe(`onnx export: teacher ${label}`, () => {
    const ex = tinyExport({ scoreFn: 'dot', ranker, seed: 9 });
    const bundle = loadExport(ex.dir);
    const m = writeOnnxExport(ex.dir);
    const io = m.models.rank!;
    const batch = tinyBatch(tinyWorld(), new Rng(23), REQUESTS);

    test('every head: ORT = graph interpreter = model (1,000 requests, ≤ 1e-5)', async () => {
      const session = await ort.InferenceSession.create(join(ex.dir, 'onnx', io.file), {
        intraOpNumThreads: 1,
      });
      const feeds: Record<string, ort.Tensor> = {};
      for (const [n, f] of Object.entries(onnxFeeds(io, batch)))
        feeds[n] = new ort.Tensor(f.type, f.data, f.dims);
      const out = await session.run(feeds);
      await session.release();
      const logits = ex.ranker!.forward(noGrad(), batch).logits;
      assertAgrees(out['logit']!.data as Float32Array, {
        graph: bundle.rank!.run(batch),
        model: logits[ex.ranker!.outputNames[0]!]!.data,
      });
      // Served for one user: user-side nodes once, broadcast over the candidates.
      const { compact, tiled, constant } = oneUser(tinyBatch(tinyWorld(), new Rng(31), 64));
      assertAgrees(bundle.rank!.run(compact, constant), {
        'model (one user)': ex.ranker!.forward(noGrad(), tiled).logits[ex.ranker!.outputNames[0]!]!.data,
      });
      if (ranker.type === 'mmoe-esmm') {
        assert.deepEqual(
          io.outputs.map((o) => o.name),
          ['logit', 'ctr', 'cvr', 'ctcvr'],
        );
        const heads = bundle.rank!.runOutputs(batch);
        for (const h of ['ctr', 'cvr', 'ctcvr'])
          assertAgrees(out[h]!.data as Float32Array, {
            [`graph ${h}`]: heads[h]!,
            [`model ${h}`]: logits[h]!.data,
          });
      }
    });
  });
}

test('items removed after the export are marked in item_live.npy', () => {
  const ex = tinyExport({ scoreFn: 'dot', seed: 12 });
  updateCatalogue(ex.dir, { remove: ['i007'] });
  const m = writeOnnxExport(ex.dir);
  assert.equal(m.files.itemLive, 'item_live.npy');
  const raw = readFileSync(join(ex.dir, 'onnx', 'item_live.npy'));
  const live = new BigInt64Array(new Uint8Array(raw.subarray(raw.length - 8 * ex.items.size)).buffer);
  assert.deepEqual(
    [...live].flatMap((v, r) => (v === 0n ? [r] : [])),
    [6],
  );
  assert.equal(writeOnnxExport(tinyExport({ scoreFn: 'dot', seed: 12 }).dir).files.itemLive, null);
});

test('int64Ids: int32 rows, padding −1 and extremes, as int64', () => {
  const ids = Int32Array.of(0, 1, -1, 7, 2147483647, -2147483648, 123456);
  assert.deepEqual([...int64Ids(ids)], [...ids].map(BigInt));
});

describe('onnx export: what it does not cover fails by name', () => {
  const ex = tinyExport({ scoreFn: 'dot', seed: 4 });
  const w = (name: string) => (name === 'W' ? { data: new Float32Array(4), shape: [2, 2] } : undefined);

  test('an op without an ONNX conversion names the graph, node and op', () => {
    const desc = {
      format: GRAPH_FORMAT,
      name: 'g',
      nodes: [
        { id: 'x', op: 'numeric', fields: ['a', 'b'] },
        { id: 'y', op: 'gelu', input: 'x' },
      ],
      output: 'y',
      outDim: 2,
    } as unknown as GraphDesc;
    assert.throws(() => graphToOnnx(desc, w, { outputName: 'out' }), /graph 'g': y: unknown op 'gelu'/);
  });

  test('a popularity (constant) tower and unknown model types are refused, naming them', () => {
    const constant: ExportedTower = { kind: 'constant', values: [1], outDim: 1 };
    assert.throws(() => towerGraph(constant, 'user_tower', ex.recall.store), /'constant' tower/);
    assert.throws(() => preRankGraph(ex.recall), /'prerank-mlp' or 'fm' model, got 'two-tower'/);
    assert.throws(() => rankGraph(ex.prerank), /'ranking-dnn' or 'mmoe-esmm' model, got 'prerank-mlp'/);
  });

  test('the ModelProto carries opset 13, IR 7, named inputs and a symbolic batch dim', () => {
    const m = writeOnnxExport(ex.dir);
    const proto = decodeOnnxModel(readFileSync(join(ex.dir, 'onnx', m.models.user_tower!.file))) as {
      ir_version: number;
      opset_import: { version: number }[];
      graph: {
        input: { name: string; type: { tensor_type: { shape: { dim: { dim_param?: string }[] } } } }[];
      };
    };
    assert.equal(proto.ir_version, 7);
    assert.equal(proto.opset_import[0]!.version, 13);
    assert.deepEqual(
      proto.graph.input.map((i) => i.name),
      m.models.user_tower!.inputs.map((i) => i.name),
    );
    for (const i of proto.graph.input) assert.equal(i.type.tensor_type.shape.dim[0]!.dim_param, 'batch');
  });
});
