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
import { loadExport } from '../../src/serve/bundle.js';
import { EXPORT_FORMAT_VERSION } from '../../src/serve/export.js';
import { ONNX_MANIFEST_FILE, readOnnxManifest, writeOnnxExport } from '../../src/serve/onnx/onnxExport.js';
import { type OnnxIo, onnxFeeds } from '../../src/serve/onnx/onnxModel.js';
import { tinyBatch, tinyWorld } from '../models/tinyWorld.js';
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

for (const scoreFn of ['dot', 'cosine'] as const) {
  describe(`onnx export: two-tower towers (${scoreFn})`, () => {
    const ex = tinyExport({ scoreFn, seed: 5 });
    const bundle = loadExport(ex.dir);
    const m = writeOnnxExport(ex.dir);
    const onnxDir = join(ex.dir, 'onnx');
    const batch = tinyBatch(tinyWorld(), new Rng(2026), REQUESTS);

    test('user tower: ORT = graph interpreter = model (1,000 requests, ≤ 1e-5)', async () => {
      const got = await runOrt(join(onnxDir, m.models.user_tower!.file), m.models.user_tower!, batch);
      const graph = bundle.userTower.run(batch);
      const model = ex.recall.userVectors(new Graph({ training: false, grad: false }), batch).data;
      assert.ok(maxAbsDiff(got, graph) <= TOL, `ORT vs graph: ${maxAbsDiff(got, graph)}`);
      assert.ok(maxAbsDiff(got, model) <= TOL, `ORT vs model: ${maxAbsDiff(got, model)}`);
    });

    test('item tower: ORT = graph interpreter = model (1,000 requests, ≤ 1e-5)', async () => {
      const got = await runOrt(join(onnxDir, m.models.item_tower!.file), m.models.item_tower!, batch);
      const graph = bundle.itemTower.run(batch);
      const model = ex.recall.itemVectors(new Graph({ training: false, grad: false }), batch).data;
      assert.ok(maxAbsDiff(got, graph) <= TOL, `ORT vs graph: ${maxAbsDiff(got, graph)}`);
      assert.ok(maxAbsDiff(got, model) <= TOL, `ORT vs model: ${maxAbsDiff(got, model)}`);
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
