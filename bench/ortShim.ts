/**
 * The onnxruntime-node side of bench/ort_shim (a stand-in for Python's onnxruntime): reads one
 * request `{model, outputs, feeds: {name: {type, dims, data}}}` as JSON on stdin, runs the model
 * (CPU, 1 thread) and prints the named outputs `[{dims, data}]` as JSON.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

interface Feed {
  type: 'int64' | 'float32';
  dims: number[];
  data: number[];
}
const req = JSON.parse(readFileSync(0, 'utf8')) as {
  model: string;
  outputs: string[];
  feeds: Record<string, Feed>;
};
const feeds: Record<string, ort.Tensor> = {};
for (const [name, f] of Object.entries(req.feeds)) {
  const data = f.type === 'int64' ? BigInt64Array.from(f.data, (x) => BigInt(x)) : Float32Array.from(f.data);
  feeds[name] = new ort.Tensor(f.type, data, f.dims);
}
const session = await ort.InferenceSession.create(req.model, { intraOpNumThreads: 1 });
const out = await session.run(feeds);
process.stdout.write(
  JSON.stringify(
    req.outputs.map((n) => ({ dims: [...out[n]!.dims], data: Array.from(out[n]!.data as Float32Array) })),
  ),
);
