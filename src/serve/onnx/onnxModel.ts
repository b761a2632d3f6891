/**
 * kdrec's portable inference graph (../graph.ts) → an ONNX model (ONNX IR spec, opset 13), encoded
 * with protobufjs from the official onnx.proto (./onnxProto.ts), never a hand-written wire format.
 *
 * Public API (stable; the in-browser student, src/serve/web, builds on it):
 *   - `graphToOnnx(desc, weights, opts)` → `{ bytes, io }`: one ModelProto for one graph;
 *   - `onnxFeeds(io, batch)` → the model's inputs for a kdrec `Batch`, as plain typed arrays with
 *     dims (wrap each in `new ort.Tensor(f.type, f.data, f.dims)` for onnxruntime-node or -web);
 *   - `decodeOnnxModel(bytes)` → the ModelProto as a plain object (field names as in onnx.proto);
 *   - `int64Ids(ids)` → int32 table rows as the int64 tensor data the models take;
 *   - `ONNX_OPSET`, `ONNX_IR_VERSION`, and the `OnnxIo` / `OnnxTensorSpec` descriptions.
 *
 * Inputs are what a kdrec `Batch` holds, one ONNX input per field, named by the field:
 *   categorical        int64 [batch]       table row (vocabulary/hash already applied; 0 = OOV)
 *   multi_hot/sequence int64 [batch, L]    table rows, −1 = padding (src/data/batch.ts)
 *   numeric            float32 [batch]     already normalised with the train-split statistics
 * The mapping from raw values (vocabulary, FNV-1a hash, normalisation) stays outside the graph and
 * is documented per field in the export's onnx manifest (./onnxExport.ts says why).
 *
 * Op mapping, each the same arithmetic as the interpreter (../graph.ts) and the engine:
 *   embed categorical  Gather(table, ids)
 *   embed bag          mask = ids ≥ 0; Gather(table, Max(ids, 0)) ⊙ mask, ReduceSum over the bag;
 *                      mean: ÷ Max(count, 1) (src/engine/kernels/js.ts gatherPool: an empty bag is 0)
 *   numeric            Unsqueeze each column to [batch, 1], Concat
 *   linear             Gemm(x, W, b) (W stored [in, out]: transB = 0), MatMul without a bias
 *   relu/tanh/sigmoid  Relu/Tanh/Sigmoid
 *   l2norm             x ÷ Max(√ΣX², 1e-12)  (the engine's l2Normalize epsilon)
 *   scale, mul, add    Mul by a scalar, Mul, Add;   dot  ReduceSum(a ⊙ b, axis 1, keepdims)
 *   constant           Expand of the row to [batch, n] (batch from the first input's Shape)
 *   softmax            Softmax(axis 1)
 *   mix                Σ_e Slice(gate, e) ⊙ input_e  (MMoE eq. 5)
 *   ctcvr              logσ(x) = −Softplus(−x); logaddexp(x, y) = Max(x, y) + Softplus(−|x − y|);
 *                      logσ(a) + logσ(b) − logaddexp(logσ(−a), logσ(a) + logσ(−b))  (mmoeEsmm.ts)
 * A graph's `constants` become initializers like its weights; a multi-head graph (`outputs`) gets
 * one ONNX output per head, beside the main output.
 * The batch dimension is symbolic (dim_param "batch"). An op the converter does not know fails by
 * name: a graph is converted completely or not at all, never into a silently different network.
 */
import protobuf from 'protobufjs';
import { CompiledGraph, type GraphDesc, type GraphNode, type WeightLookup } from '../graph.js';
import type { OnnxIo, OnnxTensorSpec } from './onnxFeeds.js';
import { ONNX_PROTO } from './onnxProto.js';

// The input contract and the feeds live in ./onnxFeeds.ts (dependency-free: the web page loads it).
export { int64Ids, type OnnxFeed, type OnnxIo, type OnnxTensorSpec, onnxFeeds } from './onnxFeeds.js';

/** Opset 13: the first with ReduceSum's axes as an input (and Unsqueeze's), loaded by ORT ≥ 1.6. */
export const ONNX_OPSET = 13;
/** IR version 7 is the one released with opset 13 (onnx 1.8), so older runtimes accept the file. */
export const ONNX_IR_VERSION = 7;

export interface GraphToOnnxOptions {
  /** Name of the model's main output tensor (e.g. `user_vector`, `logit`). */
  outputName: string;
  /** Also output every named head of the graph (`GraphDesc.outputs`) under its name. Default true. */
  heads?: boolean;
  /** Bag length L of each multi_hot / sequence field (the schema's maxLen); absent: a symbolic dim. */
  listLengths?: Readonly<Record<string, number>>;
  /** Recorded in the ModelProto (`doc_string`) and as `metadata_props`. */
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
  producerVersion?: string;
}

const DataType = { FLOAT: 1, INT64: 7 } as const;
const AttrType = { INT: 2 } as const;

let cachedRoot: protobuf.Root | null = null;
function onnxRoot(): protobuf.Root {
  cachedRoot ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return cachedRoot;
}

interface NodeObj {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute?: { name: string; type: number; i: number }[];
}

interface TensorObj {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

function floatTensor(name: string, dims: number[], data: Float32Array): TensorObj {
  // raw_data is little-endian (onnx.proto TensorProto.raw_data); copy so an unaligned view is fine.
  const le = new Float32Array(data);
  return { name, dims, data_type: DataType.FLOAT, raw_data: new Uint8Array(le.buffer) };
}

function int64Tensor(name: string, values: number[]): TensorObj {
  const v = BigInt64Array.from(values, (x) => BigInt(x));
  return { name, dims: [values.length], data_type: DataType.INT64, raw_data: new Uint8Array(v.buffer) };
}

function valueInfo(t: OnnxTensorSpec) {
  return {
    name: t.name,
    type: {
      tensor_type: {
        elem_type: t.type === 'int64' ? DataType.INT64 : DataType.FLOAT,
        shape: { dim: t.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function fail(graph: string, node: GraphNode | string, msg: string): Error {
  const id = typeof node === 'string' ? node : `node '${node.id}' (${node.op})`;
  return new Error(`onnx export of graph '${graph}': ${id}: ${msg}`);
}

/**
 * Converts one graph to an ONNX ModelProto. The graph is compiled first (../graph.ts CompiledGraph),
 * so every shape check of kdrec's own loader applies before a byte of ONNX is written.
 */
export function graphToOnnx(
  desc: GraphDesc,
  weights: WeightLookup,
  opts: GraphToOnnxOptions,
): { bytes: Uint8Array; io: OnnxIo } {
  // Validates operands, weight shapes and widths with kdrec's own rules (throws naming the node).
  new CompiledGraph(desc, weights);
  const own = desc.constants ?? {};
  const lookup: WeightLookup = (name) => {
    const c = own[name];
    return c !== undefined ? { data: Float32Array.from(c.values), shape: c.shape } : weights(name);
  };
  const nodes: NodeObj[] = [];
  const initializers: TensorObj[] = [];
  const inputs: OnnxTensorSpec[] = [];
  const inputOf = new Map<string, string>();
  const weightValue = new Map<string, string>();
  const constants = new Map<string, string>();
  const widthOf = new Map<string, number>();
  const value = (id: string) => `node/${id}`;
  const op = (
    name: string,
    opType: string,
    input: string[],
    output: string,
    attrs?: Record<string, number>,
  ): string => {
    nodes.push({
      name,
      op_type: opType,
      input,
      output: [output],
      ...(attrs
        ? { attribute: Object.entries(attrs).map(([n, i]) => ({ name: n, type: AttrType.INT, i })) }
        : {}),
    });
    return output;
  };
  const weight = (node: GraphNode, name: string): string => {
    const have = weightValue.get(name);
    if (have !== undefined) return have;
    const w = lookup(name);
    if (w === undefined) throw fail(desc.name, node, `weight '${name}' is missing`);
    const v = `weight/${name}`;
    initializers.push(floatTensor(v, [...w.shape], w.data));
    weightValue.set(name, v);
    return v;
  };
  const axes = (values: number[]): string =>
    constant(`axes/${values.join(',')}`, () => int64Tensor('', values));
  const scalar = (x: number): string =>
    constant(`scalar/${x}`, () => floatTensor('', [], Float32Array.of(x)));
  function constant(key: string, make: () => TensorObj): string {
    const have = constants.get(key);
    if (have !== undefined) return have;
    const name = `const/${key}`;
    initializers.push({ ...make(), name });
    constants.set(key, name);
    return name;
  }
  const input = (field: string, spec: Omit<OnnxTensorSpec, 'name' | 'field'>): string => {
    const have = inputOf.get(field);
    if (have !== undefined) return have;
    inputs.push({ name: field, field, ...spec });
    inputOf.set(field, field);
    return field;
  };

  for (const node of desc.nodes) {
    const out = value(node.id);
    const id = node.id;
    switch (node.op) {
      case 'embed': {
        const table = weight(node, node.table);
        const w = lookup(node.table)!;
        widthOf.set(id, w.shape[1]!);
        if (node.kind === 'categorical') {
          const ids = input(node.field, { type: 'int64', dims: ['batch'], kind: 'categorical' });
          op(id, 'Gather', [table, ids], out, { axis: 0 });
          break;
        }
        const L = opts.listLengths?.[node.field];
        const ids = input(node.field, {
          type: 'int64',
          dims: ['batch', L ?? `${node.field}_len`],
          kind: node.kind,
        });
        // Padding is −1 (src/data/batch.ts); ONNX Gather would read a negative index from the end.
        const zero = constant('int64/0', () => ({ ...int64Tensor('', [0]), dims: [] }));
        const mask = op(
          `${id}/mask`,
          'Cast',
          [op(`${id}/valid`, 'GreaterOrEqual', [ids, zero], `${out}/valid`)],
          `${out}/mask`,
          {
            to: DataType.FLOAT,
          },
        );
        const rows = op(`${id}/rows`, 'Max', [ids, zero], `${out}/rows`);
        const gathered = op(`${id}/gather`, 'Gather', [table, rows], `${out}/gather`, { axis: 0 });
        const mask3 = op(`${id}/mask3`, 'Unsqueeze', [mask, axes([2])], `${out}/mask3`);
        const masked = op(`${id}/masked`, 'Mul', [gathered, mask3], `${out}/masked`);
        if (node.pooling === 'sum') {
          op(`${id}/sum`, 'ReduceSum', [masked, axes([1])], out, { keepdims: 0 });
        } else {
          const sum = op(`${id}/sum`, 'ReduceSum', [masked, axes([1])], `${out}/sum`, { keepdims: 0 });
          const count = op(`${id}/count`, 'ReduceSum', [mask, axes([1])], `${out}/count`, { keepdims: 1 });
          const denom = op(`${id}/denom`, 'Max', [count, scalar(1)], `${out}/denom`);
          op(`${id}/mean`, 'Div', [sum, denom], out);
        }
        break;
      }
      case 'numeric': {
        const cols = node.fields.map((f) =>
          op(
            `${id}/${f}`,
            'Unsqueeze',
            [input(f, { type: 'float32', dims: ['batch'], kind: 'numeric' }), axes([1])],
            `${out}/${f}`,
          ),
        );
        if (cols.length === 1) op(id, 'Identity', cols, out);
        else op(id, 'Concat', cols, out, { axis: 1 });
        widthOf.set(id, node.fields.length);
        break;
      }
      case 'concat':
        op(id, 'Concat', node.inputs.map(value), out, { axis: 1 });
        widthOf.set(
          id,
          node.inputs.reduce((s, i) => s + widthOf.get(i)!, 0),
        );
        break;
      case 'linear': {
        const W = weight(node, node.weight);
        widthOf.set(id, lookup(node.weight)!.shape[1]!);
        if (node.bias === undefined) op(id, 'MatMul', [value(node.input), W], out);
        else {
          // Gemm's C is [N]: a 1-D bias broadcasts over the batch (unidirectional broadcast).
          const b = weight(node, node.bias);
          op(id, 'Gemm', [value(node.input), W, b], out);
        }
        break;
      }
      case 'relu':
      case 'tanh':
      case 'sigmoid':
        op(id, { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid' }[node.op], [value(node.input)], out);
        widthOf.set(id, widthOf.get(node.input)!);
        break;
      case 'l2norm': {
        const x = value(node.input);
        const sq = op(`${id}/sq`, 'Mul', [x, x], `${out}/sq`);
        const ss = op(`${id}/ss`, 'ReduceSum', [sq, axes([1])], `${out}/ss`, { keepdims: 1 });
        const norm = op(`${id}/norm`, 'Sqrt', [ss], `${out}/norm`);
        const denom = op(`${id}/denom`, 'Max', [norm, scalar(1e-12)], `${out}/denom`);
        op(id, 'Div', [x, denom], out);
        widthOf.set(id, widthOf.get(node.input)!);
        break;
      }
      case 'scale':
        op(id, 'Mul', [value(node.input), scalar(node.factor)], out);
        widthOf.set(id, widthOf.get(node.input)!);
        break;
      case 'mul':
      case 'add':
        op(id, node.op === 'mul' ? 'Mul' : 'Add', [value(node.a), value(node.b)], out);
        widthOf.set(id, widthOf.get(node.a)!);
        break;
      case 'dot': {
        const prod = op(`${id}/prod`, 'Mul', [value(node.a), value(node.b)], `${out}/prod`);
        op(id, 'ReduceSum', [prod, axes([1])], out, { keepdims: 1 });
        widthOf.set(id, 1);
        break;
      }
      case 'constant': {
        // [1, n] row expanded to [batch, n]; the batch size is read from the first input.
        const first = inputs[0];
        if (first === undefined)
          throw fail(desc.name, node, 'a constant needs an input to take the batch size from');
        const row = constant(`row/${id}`, () =>
          floatTensor('', [1, node.values.length], Float32Array.from(node.values)),
        );
        const shape = op(`${id}/shape`, 'Shape', [first.name], `${out}/shape`);
        const batch = op(`${id}/batch`, 'Slice', [shape, axes([0]), axes([1])], `${out}/batch`);
        const target = op(`${id}/target`, 'Concat', [batch, axes([node.values.length])], `${out}/target`, {
          axis: 0,
        });
        op(id, 'Expand', [row, target], out);
        widthOf.set(id, node.values.length);
        break;
      }
      case 'softmax':
        op(id, 'Softmax', [value(node.input)], out, { axis: 1 });
        widthOf.set(id, widthOf.get(node.input)!);
        break;
      case 'mix': {
        const terms = node.inputs.map((x, e) => {
          const g = op(
            `${id}/gate${e}`,
            'Slice',
            [value(node.gate), axes([e]), axes([e + 1]), axes([1])],
            `${out}/gate${e}`,
          );
          return op(`${id}/term${e}`, 'Mul', [value(x), g], `${out}/term${e}`);
        });
        let acc = terms[0]!;
        for (let e = 1; e < terms.length; e++)
          acc = op(`${id}/sum${e}`, 'Add', [acc, terms[e]!], e === terms.length - 1 ? out : `${out}/sum${e}`);
        if (terms.length === 1) op(id, 'Identity', [acc], out);
        widthOf.set(id, widthOf.get(node.inputs[0]!)!);
        break;
      }
      case 'ctcvr': {
        const v = (s: string) => `${out}/${s}`;
        const neg = (x: string, name: string) => op(`${id}/${name}`, 'Neg', [x], v(name));
        const logSigmoid = (x: string, name: string) =>
          neg(op(`${id}/${name}.sp`, 'Softplus', [neg(x, `${name}.negx`)], v(`${name}.sp`)), name);
        const a = value(node.ctr);
        const b = value(node.cvr);
        const lsa = logSigmoid(a, 'lsa');
        const logP = op(`${id}/logP`, 'Add', [lsa, logSigmoid(b, 'lsb')], v('logP'));
        const x = logSigmoid(neg(a, 'na'), 'lsna');
        const y = op(`${id}/y`, 'Add', [lsa, logSigmoid(neg(b, 'nb'), 'lsnb')], v('y'));
        const m = op(`${id}/max`, 'Max', [x, y], v('max'));
        const d = op(`${id}/absd`, 'Abs', [op(`${id}/d`, 'Sub', [x, y], v('d'))], v('absd'));
        const tail = op(`${id}/tail`, 'Softplus', [neg(d, 'negabsd')], v('tail'));
        const log1mP = op(`${id}/log1mP`, 'Add', [m, tail], v('log1mP'));
        op(id, 'Sub', [logP, log1mP], out);
        widthOf.set(id, 1);
        break;
      }
      default:
        throw fail(desc.name, node as GraphNode, 'this op has no ONNX conversion');
    }
  }
  const output: OnnxTensorSpec = { name: opts.outputName, type: 'float32', dims: ['batch', desc.outDim] };
  nodes.push({ name: 'output', op_type: 'Identity', input: [value(desc.output)], output: [output.name] });
  const outputs = [output];
  if (opts.heads !== false) {
    for (const h of desc.outputs ?? []) {
      if (h.name === output.name || inputOf.has(h.name))
        throw fail(desc.name, 'outputs', `head name '${h.name}' clashes with another tensor name`);
      const spec: OnnxTensorSpec = { name: h.name, type: 'float32', dims: ['batch', widthOf.get(h.node)!] };
      nodes.push({ name: `output.${h.name}`, op_type: 'Identity', input: [value(h.node)], output: [h.name] });
      outputs.push(spec);
    }
  }

  const root = onnxRoot();
  const ModelProto = root.lookupType('onnx.ModelProto');
  const model = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'kdrec',
    producer_version: opts.producerVersion ?? '',
    doc_string: opts.docString ?? `kdrec graph '${desc.name}'`,
    graph: {
      name: desc.name,
      node: nodes,
      initializer: initializers,
      input: inputs.map(valueInfo),
      output: outputs.map(valueInfo),
    },
    metadata_props: Object.entries(opts.metadata ?? {}).map(([key, v]) => ({ key, value: v })),
  };
  const msg = ModelProto.fromObject(model);
  const err = ModelProto.verify(msg);
  if (err) throw new Error(`onnx export of graph '${desc.name}': ModelProto: ${err}`);
  return { bytes: ModelProto.encode(msg).finish(), io: { inputs, outputs } };
}

/** The ModelProto of `bytes` as a plain object (field names as in onnx.proto; int64 as numbers). */
export function decodeOnnxModel(bytes: Uint8Array): Record<string, unknown> {
  const ModelProto = onnxRoot().lookupType('onnx.ModelProto');
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Array, defaults: false });
}
