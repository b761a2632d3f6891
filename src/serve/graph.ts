/**
 * The portable inference graph of an export: a JSON list of operations over named weights, and the
 * small interpreter that runs it without the training code path (no autograd tape, no ParamStore,
 * no model classes).
 *
 * An exported model is the Embedding&MLP forward pass (Covington et al., RecSys'16, §3): per-field
 * embedding lookups with sum/mean pooling, numerics, concatenation, dense layers with ReLU/tanh/
 * sigmoid, and for two-tower models the L2 normalisation and 1/τ scale of Yi et al., RecSys'19 §3.
 * The node set is exactly that, plus element-wise mul/add (the pre-ranker's user × item product
 * features, DCN-v2 cross layers), a row-wise dot, a constant column (the decomposed FM's 1
 * entries), and the two multi-task pieces of MMoE+ESMM (a softmax gate's mixture of experts, and
 * the stable ESMM product logit):
 *
 *   embed    {field, table, pooling}     [B, dim]    table row per id, pooled over a bag
 *   numeric  {fields}                    [B, n]      already-normalised numeric columns
 *   concat   {inputs}                    [B, Σ]
 *   linear   {input, weight, bias?}      [B, out]    x·W + b, W stored [in, out] as in src/engine/nn.ts
 *   relu | tanh | sigmoid | l2norm {input}
 *   scale    {input, factor}
 *   mul | add {a, b}                     same width
 *   dot      {a, b}                      [B, 1]
 *   constant {values}                    [B, n]      every row = values
 *   softmax  {input}                     same width  row-wise
 *   mix      {gate, inputs}              [B, H]      Σ_e gate[:, e] · inputs[e]   (MMoE eq. 5)
 *   ctcvr    {ctr, cvr}                  [B, 1]      logit(σ(ctr)·σ(cvr)), stable (src/models/mmoeEsmm.ts)
 *
 * Weights are read from the export's weights file, except a graph's `constants`: small values
 * derived from the weights at export time (FM's |v_i|² per numeric field), stored in the graph.
 * `outputs` names every head of a multi-task model (`ctr`, `cvr`, `ctcvr`); `output` is the one
 * the cascade ranks by.
 *
 * Every node is shape-checked when the graph is compiled (not when a request arrives), so a corrupt
 * or mismatched export fails at load time, naming the node and the weight.
 */
import type { Batch } from '../data/batch.js';
import { getKernels } from '../engine/kernels/index.js';

export const GRAPH_FORMAT = 'kdrec-graph-1';

export type GraphNode =
  | {
      id: string;
      op: 'embed';
      field: string;
      kind: 'categorical' | 'multi_hot' | 'sequence';
      table: string;
      pooling: 'sum' | 'mean';
    }
  | { id: string; op: 'numeric'; fields: string[] }
  | { id: string; op: 'concat'; inputs: string[] }
  | { id: string; op: 'linear'; input: string; weight: string; bias?: string }
  | { id: string; op: 'relu' | 'tanh' | 'sigmoid' | 'l2norm'; input: string }
  | { id: string; op: 'scale'; input: string; factor: number }
  | { id: string; op: 'mul' | 'add' | 'dot'; a: string; b: string }
  | { id: string; op: 'constant'; values: number[] }
  | { id: string; op: 'softmax'; input: string }
  | { id: string; op: 'mix'; gate: string; inputs: string[] }
  | { id: string; op: 'ctcvr'; ctr: string; cvr: string };

/** A weight stored in the graph itself (row-major values). */
export interface GraphConstant {
  shape: number[];
  values: number[];
}

export interface GraphDesc {
  format: typeof GRAPH_FORMAT;
  /** What the graph computes, e.g. `user_tower`, `prerank`. */
  name: string;
  nodes: GraphNode[];
  /** Id of the node whose value is the output. */
  output: string;
  outDim: number;
  /** Named heads of a multi-output model (absent: the one `output`). */
  outputs?: { name: string; node: string }[];
  /** Weights stored in the graph (derived at export time), looked up before the weights file. */
  constants?: Record<string, GraphConstant>;
}

/** A weight as the interpreter needs it: row-major values and a shape ([rows, cols] or [n]). */
export interface GraphWeight {
  data: Float32Array;
  shape: readonly number[];
}

export type WeightLookup = (name: string) => GraphWeight | undefined;

/** The fields a graph reads from a batch, by batch column family. */
export interface GraphInputs {
  cat: string[];
  seq: string[];
  num: string[];
}

interface Step {
  node: GraphNode;
  width: number;
  /** Indices into the value list for the node's operands. */
  args: number[];
  w?: GraphWeight;
  b?: GraphWeight;
  /** Linear over a concat: the broadcast row of the constant parts' product. */
  constRow?: Float32Array;
}

const ACTIVATIONS = new Set(['relu', 'tanh', 'sigmoid', 'l2norm', 'softmax']);

/** log σ(x) = −softplus(−x), softplus(z) = max(z, 0) + log(1 + e^{−|z|}) (src/models/stableMath.ts). */
function logSigmoid(x: number): number {
  return -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
}

/** logit(σ(a)·σ(b)) = log p − log(1 − p), 1 − p = σ(−a) + σ(a)σ(−b) (src/models/mmoeEsmm.ts header). */
export function ctcvrLogit(a: number, b: number): number {
  const logP = logSigmoid(a) + logSigmoid(b);
  const x = logSigmoid(-a);
  const y = logSigmoid(a) + logSigmoid(-b);
  const log1mP = Math.max(x, y) + Math.log1p(Math.exp(-Math.abs(x - y)));
  return logP - log1mP;
}

function fail(graph: string, node: GraphNode | string, msg: string): Error {
  const id = typeof node === 'string' ? node : `node '${node.id}' (${node.op})`;
  return new Error(`graph '${graph}': ${id}: ${msg}`);
}

/**
 * A compiled graph: validated once, then `run(batch)` many times. Intermediate buffers are kept and
 * grown to the largest batch seen, so steady-state serving allocates only the returned output.
 * `run` is synchronous, so reusing the buffers across concurrent requests of one event loop is safe.
 */
export class CompiledGraph {
  readonly name: string;
  readonly outDim: number;
  readonly inputs: GraphInputs;
  private readonly steps: Step[];
  private readonly outIndex: number;
  /** Named heads (`GraphDesc.outputs`) and their node indices. */
  readonly outputNames: string[];
  private readonly outputIndex: number[];
  private buffers: Float32Array[] = [];
  private capacity = 0;
  /** Rows of each node in the current run: B, or 1 for a node computed from constant fields only. */
  private readonly rowsOf: Int32Array;

  constructor(desc: GraphDesc, weights: WeightLookup) {
    if (desc.format !== GRAPH_FORMAT) {
      throw new Error(`graph '${desc.name}': format '${String(desc.format)}', expected '${GRAPH_FORMAT}'`);
    }
    this.name = desc.name;
    const index = new Map<string, number>();
    const steps: Step[] = [];
    const inputs: GraphInputs = { cat: [], seq: [], num: [] };
    const ref = (node: GraphNode, id: string): number => {
      const i = index.get(id);
      if (i === undefined) throw fail(desc.name, node, `operand '${id}' is not an earlier node`);
      return i;
    };
    const constants = desc.constants ?? {};
    const weight = (node: GraphNode, name: string): GraphWeight => {
      const c = constants[name];
      if (c !== undefined) {
        if (c.values.length !== c.shape.reduce((a, b) => a * b, 1))
          throw fail(
            desc.name,
            node,
            `constant '${name}' has ${c.values.length} values for shape [${c.shape.join(', ')}]`,
          );
        return { data: Float32Array.from(c.values), shape: c.shape };
      }
      const w = weights(name);
      if (w === undefined) throw fail(desc.name, node, `weight '${name}' is missing from the weights file`);
      return w;
    };
    for (const node of desc.nodes) {
      if (typeof node.id !== 'string' || node.id === '')
        throw fail(desc.name, String(node.id), 'needs an id');
      if (index.has(node.id)) throw fail(desc.name, node, 'duplicate node id');
      let step: Step;
      switch (node.op) {
        case 'embed': {
          const t = weight(node, node.table);
          if (t.shape.length !== 2) throw fail(desc.name, node, `table '${node.table}' must be 2-D`);
          step = { node, width: t.shape[1]!, args: [], w: t };
          (node.kind === 'categorical' ? inputs.cat : inputs.seq).push(node.field);
          break;
        }
        case 'numeric':
          if (node.fields.length === 0) throw fail(desc.name, node, 'needs at least one field');
          step = { node, width: node.fields.length, args: [] };
          inputs.num.push(...node.fields);
          break;
        case 'concat': {
          const args = node.inputs.map((id) => ref(node, id));
          step = { node, width: args.reduce((s, a) => s + steps[a]!.width, 0), args };
          break;
        }
        case 'linear': {
          const a = ref(node, node.input);
          const w = weight(node, node.weight);
          if (w.shape.length !== 2 || w.shape[0] !== steps[a]!.width) {
            throw fail(
              desc.name,
              node,
              `weight '${node.weight}' has shape [${w.shape.join(', ')}], expected [${steps[a]!.width}, out]`,
            );
          }
          const out = w.shape[1]!;
          let b: GraphWeight | undefined;
          if (node.bias !== undefined) {
            b = weight(node, node.bias);
            if (b.data.length !== out)
              throw fail(desc.name, node, `bias '${node.bias}' has ${b.data.length} values, expected ${out}`);
          }
          step = {
            node,
            width: out,
            args: [a],
            w,
            ...(b ? { b } : {}),
            ...(steps[a]!.node.op === 'concat' ? { constRow: new Float32Array(out) } : {}),
          };
          break;
        }
        case 'scale':
          if (!Number.isFinite(node.factor))
            throw fail(desc.name, node, `factor must be finite, got ${node.factor}`);
          step = { node, width: steps[ref(node, node.input)]!.width, args: [ref(node, node.input)] };
          break;
        case 'mul':
        case 'add':
        case 'dot': {
          const a = ref(node, node.a);
          const b = ref(node, node.b);
          if (steps[a]!.width !== steps[b]!.width) {
            throw fail(desc.name, node, `operand widths differ (${steps[a]!.width} vs ${steps[b]!.width})`);
          }
          step = { node, width: node.op === 'dot' ? 1 : steps[a]!.width, args: [a, b] };
          break;
        }
        case 'constant':
          if (node.values.length === 0 || !node.values.every(Number.isFinite))
            throw fail(desc.name, node, 'needs at least one finite value');
          step = { node, width: node.values.length, args: [] };
          break;
        case 'mix': {
          const g = ref(node, node.gate);
          const args = node.inputs.map((id) => ref(node, id));
          if (args.length === 0 || steps[g]!.width !== args.length)
            throw fail(desc.name, node, `gate width ${steps[g]!.width} differs from ${args.length} inputs`);
          const w = steps[args[0]!]!.width;
          if (args.some((a) => steps[a]!.width !== w)) throw fail(desc.name, node, 'input widths differ');
          step = { node, width: w, args: [g, ...args] };
          break;
        }
        case 'ctcvr': {
          const a = ref(node, node.ctr);
          const b = ref(node, node.cvr);
          if (steps[a]!.width !== 1 || steps[b]!.width !== 1)
            throw fail(desc.name, node, 'ctr and cvr must be [B, 1] logits');
          step = { node, width: 1, args: [a, b] };
          break;
        }
        default: {
          const n = node as { op: string; input?: string; id: string };
          if (!ACTIVATIONS.has(n.op)) throw fail(desc.name, n.id, `unknown op '${n.op}'`);
          const a = ref(node, n.input ?? '');
          step = { node, width: steps[a]!.width, args: [a] };
        }
      }
      index.set(node.id, steps.length);
      steps.push(step);
    }
    const out = index.get(desc.output);
    if (out === undefined) throw fail(desc.name, 'output', `'${desc.output}' is not a node`);
    if (steps[out]!.width !== desc.outDim) {
      throw fail(
        desc.name,
        'output',
        `width ${steps[out]!.width} differs from the declared outDim ${desc.outDim}`,
      );
    }
    this.outputNames = (desc.outputs ?? []).map((o) => o.name);
    this.outputIndex = (desc.outputs ?? []).map((o) => {
      const i = index.get(o.node);
      if (i === undefined) throw fail(desc.name, 'outputs', `'${o.node}' (${o.name}) is not a node`);
      return i;
    });
    this.steps = steps;
    this.rowsOf = new Int32Array(steps.length);
    this.outIndex = out;
    this.outDim = desc.outDim;
    this.inputs = inputs;
  }

  private ensure(B: number): void {
    if (B <= this.capacity) return;
    const cap = Math.max(B, this.capacity * 2);
    this.buffers = this.steps.map((s) => new Float32Array(cap * s.width));
    this.capacity = cap;
  }

  /**
   * Runs the graph on the first `batch.size` rows; returns a fresh `[B, outDim]` array.
   *
   * `constantFields`: fields whose value is the same on every row (a pre-ranker scoring one user's
   * candidates: the user and context fields). Their columns need only one row; every node computed
   * from them alone is evaluated once, and a dense layer over a concatenation splits its weight by
   * rows, x·W = Σ_parts x_p·W_p, so the user part's product is computed once and broadcast (the
   * user-side precomputation of industrial pre-rankers). Float sums are then ordered differently
   * from the engine's single product (≈1e-7 relative); without `constantFields` the result is the
   * engine's to the bit.
   */
  run(batch: Batch, constantFields?: ReadonlySet<string>): Float32Array {
    this.evaluate(batch, constantFields);
    return this.rowsAt(this.outIndex, batch.size);
  }

  /** Every named head (`GraphDesc.outputs`) on the batch, `[B, width]` each. */
  runOutputs(batch: Batch, constantFields?: ReadonlySet<string>): Record<string, Float32Array> {
    this.evaluate(batch, constantFields);
    return Object.fromEntries(
      this.outputNames.map((n, i) => [n, this.rowsAt(this.outputIndex[i]!, batch.size)]),
    );
  }

  /** A fresh `[B, width]` copy of a node's value (a constant-only node: its one row, repeated). */
  private rowsAt(si: number, B: number): Float32Array {
    const width = this.steps[si]!.width;
    const res = this.buffers[si]!;
    if (this.rowsOf[si] === B) return res.slice(0, B * width);
    const tiled = new Float32Array(B * width);
    for (let r = 0; r < B; r++) tiled.set(res.subarray(0, width), r * width);
    return tiled;
  }

  private evaluate(batch: Batch, constantFields?: ReadonlySet<string>): void {
    const B = batch.size;
    this.ensure(B);
    const k = getKernels();
    const rowsOf = this.rowsOf;
    for (let si = 0; si < this.steps.length; si++) {
      const s = this.steps[si]!;
      const n = s.node;
      let constant = false;
      if (constantFields !== undefined) {
        if (n.op === 'embed') constant = constantFields.has(n.field);
        else if (n.op === 'numeric') constant = n.fields.every((f) => constantFields.has(f));
        else constant = s.args.every((a) => rowsOf[a] === 1) && s.args.length > 0;
      }
      rowsOf[si] = constant ? 1 : B;
    }
    for (let si = 0; si < this.steps.length; si++) {
      const s = this.steps[si]!;
      const R = rowsOf[si]!;
      const out = this.buffers[si]!.subarray(0, R * s.width);
      const node = s.node;
      const arg = (j: number) =>
        this.buffers[s.args[j]!]!.subarray(0, rowsOf[s.args[j]!]! * this.steps[s.args[j]!]!.width);
      /** Row stride multiplier of operand j: 0 when it is one broadcast row. */
      const step = (j: number) => (rowsOf[s.args[j]!] === 1 && R > 1 ? 0 : 1);
      switch (node.op) {
        case 'embed': {
          let ids: Int32Array;
          let bagLen = 1;
          if (node.kind === 'categorical') {
            const col = batch.cat[node.field];
            if (col === undefined)
              throw fail(this.name, node, `the batch has no categorical column '${node.field}'`);
            ids = col;
          } else {
            const col = batch.seq[node.field];
            if (col === undefined)
              throw fail(this.name, node, `the batch has no list column '${node.field}'`);
            ids = col.ids;
            bagLen = col.maxLen;
          }
          const rows = s.w!.shape[0]!;
          const n = R * bagLen;
          // An id past the table would read another row's memory silently: refuse it by name.
          for (let i = 0; i < n; i++) {
            if (ids[i]! >= rows)
              throw fail(
                this.name,
                node,
                `id ${ids[i]} of field '${node.field}' is outside table '${node.table}' (${rows} rows)`,
              );
          }
          k.gatherPool(s.w!.data, s.width, ids, R, bagLen, node.pooling === 'mean' ? 1 : 0, out);
          break;
        }
        case 'numeric':
          node.fields.forEach((f, j) => {
            const col = batch.num[f];
            if (col === undefined) throw fail(this.name, node, `the batch has no numeric column '${f}'`);
            // A ranker's numerics mix user fields (one constant row) with item and privileged ones
            // (B rows): a constant column is broadcast.
            const st = constantFields?.has(f) && R > 1 ? 0 : 1;
            for (let r = 0; r < R; r++) out[r * s.width + j] = col[r * st]!;
          });
          break;
        case 'concat': {
          let off = 0;
          for (let j = 0; j < s.args.length; j++) {
            const w = this.steps[s.args[j]!]!.width;
            const src = arg(j);
            const st = step(j);
            for (let r = 0; r < R; r++) out.set(src.subarray(r * st * w, r * st * w + w), r * s.width + off);
            off += w;
          }
          break;
        }
        case 'linear': {
          const inStep = this.steps[s.args[0]!]!;
          const inW = inStep.width;
          const O = s.width;
          // Bias first, then C = x·W + C: the engine's order, so scores match it bit for bit.
          if (s.b) for (let r = 0; r < R; r++) out.set(s.b.data, r * O);
          const parts = inStep.node.op === 'concat' && R > 1 ? inStep.args : null;
          if (parts === null || parts.every((a) => rowsOf[a] === R)) {
            k.sgemm(false, false, R, O, inW, 1, arg(0), s.w!.data, s.b ? 1 : 0, out);
            break;
          }
          // Split by concat parts: W rows [off, off + w) multiply part p.
          if (!s.b) out.fill(0);
          const crow = s.constRow!;
          crow.fill(0);
          let off = 0;
          for (const a of parts) {
            const w = this.steps[a]!.width;
            const x = this.buffers[a]!.subarray(0, rowsOf[a]! * w);
            const Wp = s.w!.data.subarray(off * O, (off + w) * O);
            if (rowsOf[a] === 1) k.sgemm(false, false, 1, O, w, 1, x, Wp, 1, crow);
            else k.sgemm(false, false, R, O, w, 1, x, Wp, 1, out);
            off += w;
          }
          for (let r = 0; r < R; r++) for (let c = 0; c < O; c++) out[r * O + c]! += crow[c]!;
          break;
        }
        case 'relu': {
          const a = arg(0);
          for (let i = 0; i < out.length; i++) out[i] = Math.max(a[i]!, 0);
          break;
        }
        case 'tanh': {
          const a = arg(0);
          for (let i = 0; i < out.length; i++) out[i] = Math.tanh(a[i]!);
          break;
        }
        case 'sigmoid': {
          const a = arg(0);
          for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-a[i]!));
          break;
        }
        case 'l2norm': {
          // The engine's l2Normalize: x / max(|x|, 1e-12), same operation order.
          const a = arg(0);
          const w = s.width;
          for (let r = 0; r < R; r++) {
            let ss = 0;
            for (let c = 0; c < w; c++) ss += a[r * w + c]! * a[r * w + c]!;
            const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
            for (let c = 0; c < w; c++) out[r * w + c] = a[r * w + c]! * inv;
          }
          break;
        }
        case 'scale': {
          const a = arg(0);
          for (let i = 0; i < out.length; i++) out[i] = a[i]! * node.factor;
          break;
        }
        case 'mul':
        case 'add': {
          const a = arg(0);
          const b = arg(1);
          const w = s.width;
          const sa = step(0) * w;
          const sb = step(1) * w;
          const mul = node.op === 'mul';
          for (let r = 0; r < R; r++) {
            for (let c = 0; c < w; c++) {
              const x = a[r * sa + c]!;
              const y = b[r * sb + c]!;
              out[r * w + c] = mul ? x * y : x + y;
            }
          }
          break;
        }
        case 'dot': {
          const a = arg(0);
          const b = arg(1);
          const w = this.steps[s.args[0]!]!.width;
          const sa = step(0) * w;
          const sb = step(1) * w;
          for (let r = 0; r < R; r++) {
            let d = 0;
            for (let c = 0; c < w; c++) d += a[r * sa + c]! * b[r * sb + c]!;
            out[r] = d;
          }
          break;
        }
        case 'constant':
          for (let r = 0; r < R; r++) out.set(node.values, r * s.width);
          break;
        case 'softmax': {
          // The engine's softmax: subtract the row max, exponentiate, multiply by 1/Σ.
          const a = arg(0);
          const w = s.width;
          for (let r = 0; r < R; r++) {
            let m = Number.NEGATIVE_INFINITY;
            for (let c = 0; c < w; c++) m = Math.max(m, a[r * w + c]!);
            let sum = 0;
            for (let c = 0; c < w; c++) sum += out[r * w + c] = Math.exp(a[r * w + c]! - m);
            const inv = 1 / sum;
            for (let c = 0; c < w; c++) out[r * w + c]! *= inv;
          }
          break;
        }
        case 'mix': {
          // MMoE eq. 5, expert by expert in the model's order: Σ_e expert_e ⊙ gate[:, e].
          const gate = arg(0);
          const E = s.args.length - 1;
          const w = s.width;
          const sg = step(0) * E;
          out.fill(0);
          for (let e = 0; e < E; e++) {
            const x = arg(e + 1);
            const sx = step(e + 1) * w;
            for (let r = 0; r < R; r++) {
              const ge = gate[r * sg + e]!;
              for (let c = 0; c < w; c++) out[r * w + c]! += x[r * sx + c]! * ge;
            }
          }
          break;
        }
        case 'ctcvr': {
          const a = arg(0);
          const b = arg(1);
          const sa = step(0);
          const sb = step(1);
          for (let r = 0; r < R; r++) out[r] = ctcvrLogit(a[r * sa]!, b[r * sb]!);
          break;
        }
      }
    }
  }
}
