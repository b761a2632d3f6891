/**
 * `kdrec export --format onnx --triton` (src/serve/onnx/triton.ts): the model-repository layout
 * and the config.pbtxt field names, checked against Triton's ModelConfig schema
 * (triton-inference-server/common protobuf/model_config.proto, commit 08365ea). Triton cannot run
 * here, so this is a check of the layout and the schema, plus ORT loading each `1/model.onnx` with
 * the inputs its config declares.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import * as exportCmd from '../../src/cli/commands/export.js';
import { readOnnxManifest } from '../../src/serve/onnx/onnxExport.js';
import { tinyExport } from './fixture.js';
import { captureStdout } from './indexCli.js';

/** Field names of the messages a config.pbtxt entry may use (model_config.proto, 08365ea). */
const SCHEMA: Record<string, Set<string>> = {
  ModelConfig: new Set([
    'name',
    'platform',
    'backend',
    'runtime',
    'version_policy',
    'max_batch_size',
    'input',
    'output',
    'batch_input',
    'batch_output',
    'optimization',
    'dynamic_batching',
    'sequence_batching',
    'ensemble_scheduling',
    'instance_group',
    'default_model_filename',
    'cc_model_filenames',
    'metric_tags',
    'parameters',
    'model_warmup',
    'model_operations',
    'model_transaction_policy',
    'model_repository_agents',
    'response_cache',
    'model_metrics',
  ]),
  ModelInput: new Set([
    'name',
    'data_type',
    'format',
    'dims',
    'reshape',
    'is_shape_tensor',
    'allow_ragged_batch',
    'optional',
    'is_non_linear_format_io',
  ]),
  ModelOutput: new Set([
    'name',
    'data_type',
    'dims',
    'reshape',
    'label_filename',
    'is_shape_tensor',
    'is_non_linear_format_io',
  ]),
  ModelTensorReshape: new Set(['shape']),
};
/** Message type of each message-valued field used. */
const CHILD: Record<string, Record<string, string>> = {
  ModelConfig: { input: 'ModelInput', output: 'ModelOutput' },
  ModelInput: { reshape: 'ModelTensorReshape' },
  ModelOutput: { reshape: 'ModelTensorReshape' },
};
const DATA_TYPES = new Set(['TYPE_INT64', 'TYPE_FP32']);

type PbValue = string | number | PbValue[] | PbMessage;
interface PbMessage {
  [field: string]: PbValue;
}

/**
 * A reader for the protobuf text format subset a config uses: `field: scalar`, `field: [ a, b ]`,
 * `field { … }` / `field: { … }`, and `field [ { … }, { … } ]`. Field names are checked against the
 * schema of the message they appear in while reading, so an unknown name fails with its path.
 */
function parsePbtxt(text: string): PbMessage {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|[{}[\]:,]|[^\s{}[\]:,]+/g) ?? [];
  let p = 0;
  const value = (type: string, path: string): PbValue => {
    const t = tokens[p]!;
    if (t === '{') return message(type, path);
    if (t === '[') {
      p++;
      const list: PbValue[] = [];
      while (tokens[p] !== ']') {
        list.push(value(type, `${path}[${list.length}]`));
        if (tokens[p] === ',') p++;
      }
      p++;
      return list;
    }
    p++;
    if (t.startsWith('"')) return JSON.parse(t) as string;
    return /^-?\d+$/.test(t) ? Number(t) : t;
  };
  const message = (type: string, path: string): PbMessage => {
    const top = path === '';
    if (!top) assert.equal(tokens[p++], '{', `${path}: expected '{'`);
    const msg: PbMessage = {};
    while (p < tokens.length && tokens[p] !== '}') {
      const name = tokens[p++]!;
      assert.ok(SCHEMA[type]!.has(name), `${path || type}: '${name}' is no field of ${type}`);
      if (tokens[p] === ':') p++;
      msg[name] = value(CHILD[type]?.[name] ?? type, `${path}.${name}`);
    }
    if (!top) p++;
    return msg;
  };
  return message('ModelConfig', '');
}

function program(): Command {
  const p = new Command();
  p.exitOverride();
  p.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  exportCmd.register(p);
  return p;
}

test('kdrec export --from EXPORT --format onnx --triton: one folder per model, configs in the ModelConfig schema', async () => {
  const ex = tinyExport({ scoreFn: 'cosine', ranker: { type: 'mmoe-esmm' }, seed: 6 });
  const out = await captureStdout(() =>
    program().parseAsync(['node', 'kdrec', 'export', '--from', ex.dir, '--format', 'onnx', '--triton']),
  );
  assert.match(out, /wrote ONNX \(opset 13\) user_tower, item_tower, prerank, rank \+ Triton repository/);
  const m = readOnnxManifest(join(ex.dir, 'onnx'));
  const repo = join(ex.dir, 'onnx', 'triton');
  assert.deepEqual(readdirSync(repo).sort(), Object.keys(m.models).sort());
  for (const [name, io] of Object.entries(m.models)) {
    assert.deepEqual(readdirSync(join(repo, name)).sort(), ['1', 'config.pbtxt']);
    assert.ok(existsSync(join(repo, name, '1', 'model.onnx')));
    const cfg = parsePbtxt(readFileSync(join(repo, name, 'config.pbtxt'), 'utf8'));
    assert.equal(cfg['name'], name, 'the config name is the folder name');
    assert.equal(cfg['platform'], 'onnxruntime_onnx');
    assert.equal(cfg['max_batch_size'], 4096);
    const inputs = cfg['input'] as PbMessage[];
    const outputs = cfg['output'] as PbMessage[];
    assert.deepEqual(
      inputs.map((i) => i['name']),
      io.inputs.map((i) => i.name),
    );
    assert.deepEqual(
      outputs.map((o) => o['name']),
      io.outputs.map((o) => o.name),
    );
    for (const [entry, spec] of [
      ...inputs.map((e, i) => [e, io.inputs[i]!] as const),
      ...outputs.map((e, i) => [e, io.outputs[i]!] as const),
    ]) {
      assert.ok(
        DATA_TYPES.has(entry['data_type'] as string),
        `${name}.${entry['name']}: ${entry['data_type']}`,
      );
      assert.equal(entry['data_type'], spec.type === 'int64' ? 'TYPE_INT64' : 'TYPE_FP32');
      // Batch dimension left out (max_batch_size > 0); a [batch] tensor is dims [1] reshaped to [].
      const rest = spec.dims.slice(1);
      if (rest.length === 0) {
        assert.deepEqual(entry['dims'], [1]);
        assert.deepEqual(entry['reshape'], { shape: [] });
      } else assert.deepEqual(entry['dims'], rest);
    }
    // The model file loads in ONNX Runtime with exactly the declared inputs and outputs.
    const session = await ort.InferenceSession.create(join(repo, name, '1', 'model.onnx'));
    assert.deepEqual(
      [...session.inputNames],
      io.inputs.map((i) => i.name),
    );
    assert.deepEqual(
      [...session.outputNames],
      io.outputs.map((o) => o.name),
    );
    await session.release();
  }
});

test('export option checks: unknown format, --triton without onnx', async () => {
  await assert.rejects(
    program().parseAsync(['node', 'kdrec', 'export', '--run', 'r', '--out', 'o', '--format', 'tflite']),
    /--format: expected 'kdrec' or 'onnx', got 'tflite'/,
  );
  await assert.rejects(
    program().parseAsync(['node', 'kdrec', 'export', '--run', 'r', '--out', 'o', '--triton']),
    /--triton and --from need --format onnx/,
  );
});
