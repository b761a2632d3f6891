/**
 * Model → portable inference graph (./graph.ts). One builder per exportable structure:
 *
 * - two-tower towers, from the model's own `exportTowers()` description (TwoTowerModel contract in
 *   src/models/types.ts): FeatureEmbedder inputs → ReLU MLP → optional L2 norm → × scale, which for
 *   a cosine model folds 1/τ into the user side (Yi et al., RecSys'19 §3);
 * - the pre-ranking MLP (src/models/preRankMlp.ts): concat(u, i, projU(u) ⊙ projI(i)) → ReLU MLP →
 *   linear head, read from its ParamStore by the layer names that model gives its parameters;
 * - the ranking teacher (src/models/rankingDnn.ts, DCN-v2, Wang et al., WWW'21): cross layers
 *   x_{l+1} = x0 ⊙ (W_l x_l + b_l) + x_l (eq. 1; low rank W_l = V_l U_l, §5), a ReLU deep network,
 *   stacked or parallel (Fig. 2), and a linear head — over every group it reads, privileged included.
 *
 * The round-trip test (test/serve/export.test.ts) runs the in-memory model and the exported graph on
 * the same batch and requires equal scores, which is what keeps these builders honest about the
 * model code they mirror.
 */
import type { EmbeddingTable } from '../engine/embedding.js';
import type { ParamStore } from '../engine/nn.js';
import type { Tensor } from '../engine/tensor.js';
import type { PreRankMlp } from '../models/preRankMlp.js';
import type { RankingDnn } from '../models/rankingDnn.js';
import type { ExportedInput, ExportedTower, Model } from '../models/types.js';
import { GRAPH_FORMAT, type GraphDesc, type GraphNode } from './graph.js';

/** Appends the input nodes of a FeatureEmbedder description; returns the id of their concatenation. */
function inputNodes(inputs: readonly ExportedInput[], prefix: string, nodes: GraphNode[]): string {
  const parts: string[] = [];
  const numeric: string[] = [];
  for (const inp of inputs) {
    if (inp.kind === 'numeric') {
      numeric.push(inp.field);
      continue;
    }
    if (inp.table === undefined)
      throw new Error(`export: input '${inp.field}' (${inp.kind}) names no embedding table`);
    const id = `${prefix}emb.${inp.field}`;
    // A categorical field is a bag of one: sum and mean agree, the engine uses sum.
    nodes.push({
      id,
      op: 'embed',
      field: inp.field,
      kind: inp.kind,
      table: inp.table,
      pooling: inp.kind === 'categorical' ? 'sum' : (inp.pooling ?? 'mean'),
    });
    parts.push(id);
  }
  // FeatureEmbedder lays numerics out after every id field, in field order.
  if (numeric.length > 0) {
    nodes.push({ id: `${prefix}numeric`, op: 'numeric', fields: numeric });
    parts.push(`${prefix}numeric`);
  }
  if (parts.length === 1) return parts[0]!;
  nodes.push({ id: `${prefix}input`, op: 'concat', inputs: parts });
  return `${prefix}input`;
}

/** The graph of one exported tower (user or item side of a two-tower model). */
export function towerGraph(tower: ExportedTower, name: string): GraphDesc {
  if (tower.kind !== 'mlp') {
    throw new Error(
      `export: ${name} is a '${tower.kind}' tower; the portable graph covers Embedding&MLP towers (two-tower models). Export a two-tower student`,
    );
  }
  const nodes: GraphNode[] = [];
  let h = inputNodes(tower.inputs, '', nodes);
  tower.layers.forEach((l, i) => {
    const id = `layer${i}`;
    nodes.push({ id, op: 'linear', input: h, weight: l.weight, ...(l.bias ? { bias: l.bias } : {}) });
    h = id;
    if (l.activation !== 'none') {
      nodes.push({ id: `${id}.${l.activation}`, op: l.activation, input: h });
      h = `${id}.${l.activation}`;
    }
  });
  if (tower.normalize === 'l2') {
    nodes.push({ id: 'l2norm', op: 'l2norm', input: h });
    h = 'l2norm';
  }
  if (tower.scale !== 1) {
    nodes.push({ id: 'scale', op: 'scale', input: h, factor: tower.scale });
    h = 'scale';
  }
  return { format: GRAPH_FORMAT, name, nodes, output: h, outDim: tower.outDim };
}

function isPreRankMlp(m: Model): m is PreRankMlp {
  return m.kind === 'prerank-mlp';
}

/** The pre-ranking MLP as one graph over user, context and item fields; output `[B, 1]` logits. */
export function preRankGraph(model: Model): GraphDesc {
  if (!isPreRankMlp(model)) {
    throw new Error(
      `export: the pre-ranker must be a 'prerank-mlp' model, got '${model.kind}' (${model.name}); a two-tower student is exported as the recall stage`,
    );
  }
  const p = model.name;
  const has = (n: string) => model.store.has(n);
  const nodes: GraphNode[] = [];
  const u = inputNodes(model.userEmbedder.describe(), 'user.', nodes);
  const i = inputNodes(model.itemEmbedder.describe(), 'item.', nodes);
  const parts = [u, i];
  if (has(`${p}.crossUser.W`)) {
    nodes.push({
      id: 'crossUser',
      op: 'linear',
      input: u,
      weight: `${p}.crossUser.W`,
      bias: `${p}.crossUser.b`,
    });
    nodes.push({
      id: 'crossItem',
      op: 'linear',
      input: i,
      weight: `${p}.crossItem.W`,
      bias: `${p}.crossItem.b`,
    });
    nodes.push({ id: 'cross', op: 'mul', a: 'crossUser', b: 'crossItem' });
    parts.push('cross');
  }
  nodes.push({ id: 'input', op: 'concat', inputs: parts });
  let h = 'input';
  // MLP(activation relu, finalActivation relu): every layer is followed by a ReLU.
  for (let l = 0; has(`${p}.mlp.${l}.W`); l++) {
    nodes.push({ id: `mlp${l}`, op: 'linear', input: h, weight: `${p}.mlp.${l}.W`, bias: `${p}.mlp.${l}.b` });
    nodes.push({ id: `mlp${l}.relu`, op: 'relu', input: `mlp${l}` });
    h = `mlp${l}.relu`;
  }
  if (h === 'input') throw new Error(`export: ${p} (prerank-mlp) has no '${p}.mlp.0.W' parameter`);
  nodes.push({ id: 'head', op: 'linear', input: h, weight: `${p}.head.W`, bias: `${p}.head.b` });
  return { format: GRAPH_FORMAT, name: 'prerank', nodes, output: 'head', outDim: 1 };
}

function isRankingDnn(m: Model): m is RankingDnn {
  return m.kind === 'ranking-dnn';
}

/**
 * The ranking DNN as one graph over all the fields it reads; output `[B, 1]` logits of its (single)
 * output. Structure is read back from the ParamStore by the names RankingDnn gives its parameters
 * (`<name>.cross.<l>.{W | V,U}.b`, MLP `<name>.deep.<i>`, `<name>.head`), so a config change that
 * the builder does not know fails here by name rather than exporting a different network.
 */
export function rankGraph(model: Model): GraphDesc {
  if (!isRankingDnn(model)) {
    throw new Error(
      `export: the ranker must be a 'ranking-dnn' model, got '${model.kind}' (${model.name}); the portable graph covers DCN-v2 ranking teachers`,
    );
  }
  const p = model.name;
  const has = (n: string) => model.store.has(n);
  const nodes: GraphNode[] = [];
  const x0 = inputNodes(model.embedder.describe(), '', nodes);
  let xc = x0;
  let crossLayers = 0;
  for (let l = 0; has(`${p}.cross.${l}.b`); l++) {
    const c = `${p}.cross.${l}`;
    if (has(`${c}.W`)) {
      nodes.push({ id: `cross${l}.proj`, op: 'linear', input: xc, weight: `${c}.W`, bias: `${c}.b` });
    } else {
      // Low rank: x_l·V then ·U + b, the order RankingDnn's CrossLayer multiplies in.
      nodes.push({ id: `cross${l}.v`, op: 'linear', input: xc, weight: `${c}.V` });
      nodes.push({
        id: `cross${l}.proj`,
        op: 'linear',
        input: `cross${l}.v`,
        weight: `${c}.U`,
        bias: `${c}.b`,
      });
    }
    nodes.push({ id: `cross${l}.gate`, op: 'mul', a: x0, b: `cross${l}.proj` });
    nodes.push({ id: `cross${l}`, op: 'add', a: `cross${l}.gate`, b: xc });
    xc = `cross${l}`;
    crossLayers++;
  }
  const deep = (input: string): string | null => {
    // MLP(activation relu, finalActivation relu): every deep layer is followed by a ReLU.
    let h = input;
    let l = 0;
    for (; has(`${p}.deep.${l}.W`); l++) {
      nodes.push({
        id: `deep${l}`,
        op: 'linear',
        input: h,
        weight: `${p}.deep.${l}.W`,
        bias: `${p}.deep.${l}.b`,
      });
      nodes.push({ id: `deep${l}.relu`, op: 'relu', input: `deep${l}` });
      h = `deep${l}.relu`;
    }
    return l > 0 ? h : null;
  };
  // RankingDnn keeps its structure private; the head's input width tells it: stacked reads the deep
  // output alone (deepOut), parallel reads concat(cross, deep) (D + deepOut). With only one of the
  // two blocks both structures are the same network.
  let deepLayers = 0;
  while (has(`${p}.deep.${deepLayers}.W`)) deepLayers++;
  const headIn = storeWeight(model.store, `${p}.head.W`).shape[0]!;
  const deepOut = deepLayers > 0 ? storeWeight(model.store, `${p}.deep.${deepLayers - 1}.W`).shape[1]! : 0;
  const stacked = crossLayers > 0 && deepLayers > 0 && headIn === deepOut;
  let final: string;
  if (stacked) {
    final = deep(xc) ?? xc;
  } else {
    const parts: string[] = [];
    if (crossLayers > 0) parts.push(xc);
    const d = deep(x0);
    if (d !== null) parts.push(d);
    if (parts.length === 0) throw new Error(`export: ${p} (ranking-dnn) has neither cross nor deep layers`);
    if (parts.length === 1) final = parts[0]!;
    else {
      nodes.push({ id: 'final', op: 'concat', inputs: parts });
      final = 'final';
    }
  }
  nodes.push({ id: 'head', op: 'linear', input: final, weight: `${p}.head.W`, bias: `${p}.head.b` });
  return { format: GRAPH_FORMAT, name: 'rank', nodes, output: 'head', outDim: 1 };
}

/** Names of every weight a graph reads. */
export function graphWeightNames(g: GraphDesc): string[] {
  const out = new Set<string>();
  for (const n of g.nodes) {
    if (n.op === 'embed') out.add(n.table);
    if (n.op === 'linear') {
      out.add(n.weight);
      if (n.bias !== undefined) out.add(n.bias);
    }
  }
  return [...out];
}

/** The graph with its weight names mapped through `renamed` (names not in it are kept). */
export function renameGraphWeights(g: GraphDesc, renamed: ReadonlyMap<string, string>): GraphDesc {
  const to = (n: string) => renamed.get(n) ?? n;
  const nodes = g.nodes.map((n): GraphNode => {
    if (n.op === 'embed') return { ...n, table: to(n.table) };
    if (n.op === 'linear')
      return { ...n, weight: to(n.weight), ...(n.bias !== undefined ? { bias: to(n.bias) } : {}) };
    return n;
  });
  return { ...g, nodes };
}

/** The current values of a named parameter or table of a model. */
export function storeWeight(store: ParamStore, name: string): { data: Float32Array; shape: number[] } {
  const x = store.get(name) as Tensor | EmbeddingTable;
  if ('weight' in x) return { data: x.weight.data, shape: [...x.weight.shape] };
  return { data: x.data, shape: [...x.shape] };
}
