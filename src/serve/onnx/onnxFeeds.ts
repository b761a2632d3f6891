/**
 * The ONNX models' input contract (the `io` of ./onnxModel.ts `graphToOnnx`) and the feeds of a
 * kdrec `Batch` for it. Kept free of Node and of protobufjs so the in-browser page of
 * `kdrec export --web` (src/serve/webExport.ts) loads this compiled file as it is: the page and
 * the Node tests feed onnxruntime with the same function.
 */
import type { Batch } from '../../data/batch.js';

/** One input or output of an exported ONNX model. */
export interface OnnxTensorSpec {
  name: string;
  type: 'int64' | 'float32';
  /** `'batch'` is the symbolic (dynamic) batch dimension; another string, another symbolic dim. */
  dims: (number | string)[];
  /** The schema field an input carries, and its kind. */
  field?: string;
  kind?: 'categorical' | 'multi_hot' | 'sequence' | 'numeric';
}

export interface OnnxIo {
  inputs: OnnxTensorSpec[];
  outputs: OnnxTensorSpec[];
}

/** One model input as plain data: `new ort.Tensor(type, data, dims)` makes it an ORT tensor. */
export interface OnnxFeed {
  type: 'int64' | 'float32';
  data: BigInt64Array | Float32Array;
  dims: number[];
}

/** The inputs of a model described by `io` for the first `batch.size` rows of `batch`. */
export function onnxFeeds(io: OnnxIo, batch: Batch): Record<string, OnnxFeed> {
  const B = batch.size;
  const feeds: Record<string, OnnxFeed> = {};
  for (const inp of io.inputs) {
    const f = inp.field ?? inp.name;
    if (inp.kind === 'numeric') {
      const col = batch.num[f];
      if (col === undefined) throw new Error(`onnx feeds: the batch has no numeric column '${f}'`);
      feeds[inp.name] = { type: 'float32', data: col.subarray(0, B), dims: [B] };
    } else if (inp.kind === 'categorical') {
      const col = batch.cat[f];
      if (col === undefined) throw new Error(`onnx feeds: the batch has no categorical column '${f}'`);
      feeds[inp.name] = { type: 'int64', data: BigInt64Array.from(col.subarray(0, B), BigInt), dims: [B] };
    } else {
      const col = batch.seq[f];
      if (col === undefined) throw new Error(`onnx feeds: the batch has no list column '${f}'`);
      const L = col.maxLen;
      const want = inp.dims[1];
      if (typeof want === 'number' && want !== L)
        throw new Error(`onnx feeds: list column '${f}' has length ${L}, the model expects ${want}`);
      feeds[inp.name] = {
        type: 'int64',
        data: BigInt64Array.from(col.ids.subarray(0, B * L), BigInt),
        dims: [B, L],
      };
    }
  }
  return feeds;
}
