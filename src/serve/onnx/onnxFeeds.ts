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

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * int32 ids as int64: on a little-endian machine each id is written as its two 32-bit halves (low =
 * the id, high = its sign), 10–20× faster than a BigInt per element for the [4096, 50] bags of a
 * user tower (bench/onnxLatency.ts "ORT + feeds").
 */
export function int64Ids(ids: Int32Array): BigInt64Array {
  const out = new BigInt64Array(ids.length);
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < ids.length; i++) out[i] = BigInt(ids[i]!);
    return out;
  }
  const words = new Int32Array(out.buffer);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    words[2 * i] = v;
    words[2 * i + 1] = v >> 31;
  }
  return out;
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
      feeds[inp.name] = { type: 'int64', data: int64Ids(col.subarray(0, B)), dims: [B] };
    } else {
      const col = batch.seq[f];
      if (col === undefined) throw new Error(`onnx feeds: the batch has no list column '${f}'`);
      const L = col.maxLen;
      const want = inp.dims[1];
      if (typeof want === 'number' && want !== L)
        throw new Error(`onnx feeds: list column '${f}' has length ${L}, the model expects ${want}`);
      feeds[inp.name] = {
        type: 'int64',
        data: int64Ids(col.ids.subarray(0, B * L)),
        dims: [B, L],
      };
    }
  }
  return feeds;
}
