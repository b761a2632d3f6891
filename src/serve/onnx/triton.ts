/**
 * A Triton Inference Server model repository for the exported ONNX models (`kdrec export --format
 * onnx --triton`): `tritonserver --model-repository OUT/triton` loads
 *
 *   OUT/triton/<model>/config.pbtxt     ModelConfig (protobuf text format)
 *   OUT/triton/<model>/1/model.onnx     version 1, the ONNX model
 *
 * Field names are those of Triton's ModelConfig (triton-inference-server/common,
 * protobuf/model_config.proto): `name`, `platform: "onnxruntime_onnx"`, `max_batch_size`, and
 * `input`/`output` ModelInput/ModelOutput entries with `name`, `data_type` (TYPE_INT64, TYPE_FP32)
 * and `dims`. With `max_batch_size` > 0, `dims` leave the batch dimension out (Triton adds it). An
 * input that is only a batch dimension (a categorical id or a numeric column: ONNX shape [batch])
 * is declared `dims: [ 1 ]` with `reshape: { shape: [ ] }`, the documented way to give such a
 * tensor (Triton model_configuration.md, "Reshape").
 *
 * Public API (stable): `writeTritonRepository(dir, models, maxBatch)`, `tritonConfig(name, io, maxBatch)`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OnnxIo, OnnxTensorSpec } from './onnxModel.js';

const TRITON_TYPE = { int64: 'TYPE_INT64', float32: 'TYPE_FP32' } as const;

function tensorEntry(t: OnnxTensorSpec): string {
  if (t.dims[0] !== 'batch')
    throw new Error(`triton: tensor '${t.name}' has no leading batch dimension (dims ${t.dims.join(', ')})`);
  const rest = t.dims.slice(1).map((d) => (typeof d === 'number' ? d : -1));
  const lines = [`    name: ${JSON.stringify(t.name)}`, `    data_type: ${TRITON_TYPE[t.type]}`];
  if (rest.length === 0) {
    lines.push('    dims: [ 1 ]', '    reshape: { shape: [ ] }');
  } else lines.push(`    dims: [ ${rest.join(', ')} ]`);
  return `  {\n${lines.join('\n')}\n  }`;
}

/** The `config.pbtxt` text of one model. */
export function tritonConfig(name: string, io: OnnxIo, maxBatch: number): string {
  if (!Number.isInteger(maxBatch) || maxBatch < 1)
    throw new Error(`triton: max_batch_size must be a positive integer, got ${maxBatch}`);
  return [
    `name: ${JSON.stringify(name)}`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${maxBatch}`,
    `input [\n${io.inputs.map(tensorEntry).join(',\n')}\n]`,
    `output [\n${io.outputs.map(tensorEntry).join(',\n')}\n]`,
    '',
  ].join('\n');
}

/** Writes one folder per model: `<dir>/<name>/config.pbtxt` and `<dir>/<name>/1/model.onnx`. */
export function writeTritonRepository(
  dir: string,
  models: readonly { name: string; bytes: Uint8Array; io: OnnxIo }[],
  maxBatch: number,
): void {
  for (const m of models) {
    mkdirSync(join(dir, m.name, '1'), { recursive: true });
    writeFileSync(join(dir, m.name, '1', 'model.onnx'), m.bytes);
    writeFileSync(join(dir, m.name, 'config.pbtxt'), tritonConfig(m.name, m.io, maxBatch));
  }
}
