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
 *   stacked or parallel (Fig. 2), and a linear head — over every group it reads, privileged included;
 * - the factorization machine (src/models/fm.ts, Rendle ICDM'10 eq. 1 in its O(kn) form): each side's
 *   [S, a, 1] / [S, 1, a] vector from its latent and linear tables, so FM exports as the recall
 *   stage (its towers) and as a pre-ranker (the dot of the two, which is the FM logit exactly);
 * - the MMoE+ESMM teacher (src/models/mmoeEsmm.ts): ReLU experts, one softmax gate per task mixing
 *   them (MMoE eq. 5–6), a tower per task, and ctcvr = logit(σ(ctr)·σ(cvr)) (ESMM eq. 1), with all
 *   three heads as named outputs.
 *
 * The round-trip test (test/serve/export.test.ts) runs the in-memory model and the exported graph on
 * the same batch and requires equal scores, which is what keeps these builders honest about the
 * model code they mirror.
 */
import type { EmbeddingTable } from '../engine/embedding.js';
import type { ParamStore } from '../engine/nn.js';
import type { Tensor } from '../engine/tensor.js';
import type { Fm } from '../models/fm.js';
import type { MmoeEsmm } from '../models/mmoeEsmm.js';
import type { PreRankMlp } from '../models/preRankMlp.js';
import type { RankingDnn } from '../models/rankingDnn.js';
import type { ExportedFmTower, ExportedInput, ExportedTower, Model } from '../models/types.js';
import { GRAPH_FORMAT, type GraphConstant, type GraphDesc, type GraphNode } from './graph.js';

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

/**
 * The graph of one exported tower (user or item side of a two-tower model or of an FM). `store`
 * holds the model's weights: an FM side derives its per-numeric |v_i|² from them.
 */
export function towerGraph(tower: ExportedTower, name: string, store: ParamStore): GraphDesc {
  if (tower.kind === 'fm') {
    const nodes: GraphNode[] = [];
    const constants: Record<string, GraphConstant> = {};
    const out = fmSideNodes(tower, '', nodes, constants, store);
    return { format: GRAPH_FORMAT, name, nodes, output: out, outDim: tower.outDim, constants };
  }
  if (tower.kind !== 'mlp') {
    throw new Error(
      `export: ${name} is a '${tower.kind}' tower; the portable graph covers Embedding&MLP towers (two-tower models) and FM sides. Export a two-tower or fm student`,
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

/** Sum of node ids by `add`, left to right (the order src/models/fm.ts accumulates in). */
function addChain(ids: readonly string[], id: string, nodes: GraphNode[]): string {
  let acc = ids[0]!;
  for (let i = 1; i < ids.length; i++) {
    const next = i === ids.length - 1 ? id : `${id}.${i}`;
    nodes.push({ id: next, op: 'add', a: acc, b: ids[i]! });
    acc = next;
  }
  return acc;
}

/**
 * One FM side (src/models/fm.ts FmSide.forward): S = Σ e_f (+ X·V), Σ|e_f|² (+ (X⊙X)·|V_i|²),
 * lin = Σ w_f (+ X·w), a = lin + ½(|S|² − Σ|e_f|²); user [S, a + w0, 1], item [S, 1, a].
 * Returns the id of the side's vector node.
 */
function fmSideNodes(
  t: ExportedFmTower,
  prefix: string,
  nodes: GraphNode[],
  constants: Record<string, GraphConstant>,
  store: ParamStore,
): string {
  const id = (s: string) => `${prefix}${s}`;
  const S: string[] = [];
  const sq: string[] = [];
  const lin: string[] = [];
  for (const inp of t.inputs) {
    const linear = t.linearTables[inp.field];
    if (inp.table === undefined || linear === undefined || inp.kind === 'numeric')
      throw new Error(`export: FM input '${inp.field}' (${inp.kind}) names no latent and linear table`);
    const pooling = inp.kind === 'categorical' ? 'sum' : (inp.pooling ?? 'mean');
    const e = id(`emb.${inp.field}`);
    nodes.push({ id: e, op: 'embed', field: inp.field, kind: inp.kind, table: inp.table, pooling });
    nodes.push({ id: `${e}.sq`, op: 'dot', a: e, b: e });
    nodes.push({
      id: id(`lin.${inp.field}`),
      op: 'embed',
      field: inp.field,
      kind: inp.kind,
      table: linear,
      pooling,
    });
    S.push(e);
    sq.push(`${e}.sq`);
    lin.push(id(`lin.${inp.field}`));
  }
  if (t.numericFields.length > 0) {
    if (t.numericLatent === undefined || t.numericLinear === undefined)
      throw new Error(`export: FM ${t.side} side has numeric fields but no numeric latent/linear weights`);
    const X = id('numeric');
    nodes.push({ id: X, op: 'numeric', fields: t.numericFields });
    nodes.push({ id: id('numeric.latent'), op: 'linear', input: X, weight: t.numericLatent });
    nodes.push({ id: id('numeric.x2'), op: 'mul', a: X, b: X });
    // Σ_i |x_i v_i|² = (X ⊙ X) · rowSq(V): rowSq(V) is derived from the weights, so it is stored in the graph.
    const V = storeWeight(store, t.numericLatent);
    const [n, k] = V.shape as [number, number];
    const rowSq = Array.from({ length: n }, (_, i) => {
      let s2 = 0;
      for (let c = 0; c < k; c++) s2 += V.data[i * k + c]! * V.data[i * k + c]!;
      return Math.fround(s2);
    });
    const rowSqName = id('const.numericRowSq');
    constants[rowSqName] = { shape: [n, 1], values: rowSq };
    nodes.push({ id: id('numeric.sq'), op: 'linear', input: id('numeric.x2'), weight: rowSqName });
    nodes.push({ id: id('numeric.lin'), op: 'linear', input: X, weight: t.numericLinear });
    S.push(id('numeric.latent'));
    sq.push(id('numeric.sq'));
    lin.push(id('numeric.lin'));
  }
  if (S.length === 0) throw new Error(`export: FM ${t.side} side reads no fields`);
  const s = addChain(S, id('S'), nodes);
  const sumSq = addChain(sq, id('sumSq'), nodes);
  const l = addChain(lin, id('lin'), nodes);
  nodes.push({ id: id('SS'), op: 'dot', a: s, b: s });
  nodes.push({ id: id('negSumSq'), op: 'scale', input: sumSq, factor: -1 });
  nodes.push({ id: id('pairs2'), op: 'add', a: id('SS'), b: id('negSumSq') });
  nodes.push({ id: id('pairs'), op: 'scale', input: id('pairs2'), factor: 0.5 });
  nodes.push({ id: id('a'), op: 'add', a: l, b: id('pairs') });
  nodes.push({ id: id('one'), op: 'constant', values: [1] });
  let a = id('a');
  if (t.side === 'user') {
    if (t.bias === undefined) throw new Error('export: FM user side has no global bias w0');
    // a + w0 as a·[1] + w0: a linear layer whose 1×1 weight is the constant 1 and bias is w0.
    const oneName = id('const.one');
    constants[oneName] = { shape: [1, 1], values: [1] };
    nodes.push({ id: id('a.w0'), op: 'linear', input: a, weight: oneName, bias: t.bias });
    a = id('a.w0');
  }
  const parts = t.side === 'user' ? [s, a, id('one')] : [s, id('one'), a];
  nodes.push({ id: id('vector'), op: 'concat', inputs: parts });
  return id('vector');
}

function isPreRankMlp(m: Model): m is PreRankMlp {
  return m.kind === 'prerank-mlp';
}

function isFm(m: Model): m is Fm {
  return m.kind === 'fm';
}

/**
 * The pre-ranker as one graph over user, context and item fields; output `[B, 1]` logits. A
 * prerank-mlp, or an FM: its two sides and their dot product, which is the FM logit (fm.ts).
 */
export function preRankGraph(model: Model): GraphDesc {
  if (isFm(model)) {
    const towers = model.exportTowers();
    const nodes: GraphNode[] = [];
    const constants: Record<string, GraphConstant> = {};
    const u = fmSideNodes(towers.user as ExportedFmTower, 'user.', nodes, constants, model.store);
    const i = fmSideNodes(towers.item as ExportedFmTower, 'item.', nodes, constants, model.store);
    nodes.push({ id: 'logit', op: 'dot', a: u, b: i });
    return { format: GRAPH_FORMAT, name: 'prerank', nodes, output: 'logit', outDim: 1, constants };
  }
  if (!isPreRankMlp(model)) {
    throw new Error(
      `export: the pre-ranker must be a 'prerank-mlp' or 'fm' model, got '${model.kind}' (${model.name}); a two-tower student is exported as the recall stage`,
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
  if (isMmoeEsmm(model)) return mmoeEsmmGraph(model);
  if (!isRankingDnn(model)) {
    throw new Error(
      `export: the ranker must be a 'ranking-dnn' or 'mmoe-esmm' model, got '${model.kind}' (${model.name}); the portable graph covers DCN-v2 and MMoE+ESMM ranking teachers`,
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

function isMmoeEsmm(m: Model): m is MmoeEsmm {
  return m.kind === 'mmoe-esmm';
}

/**
 * MMoE+ESMM (src/models/mmoeEsmm.ts) over every field it reads: experts `<name>.expert.<e>` (ReLU
 * after every layer), a gate `<name>.gate.<task>` per task with a softmax, the mixture, tower
 * `<name>.tower.<task>` (ReLU between layers, none after the last) → the task logit; ctcvr from
 * ctr and cvr. Output `[B, 1]` = ctr (the model's main output); `outputs` names all three heads.
 */
function mmoeEsmmGraph(model: MmoeEsmm): GraphDesc {
  const p = model.name;
  const has = (n: string) => model.store.has(n);
  const nodes: GraphNode[] = [];
  const x = inputNodes(model.embedder.describe(), '', nodes);
  const mlp = (name: string, input: string, id: string, reluLast: boolean): string => {
    let h = input;
    let l = 0;
    for (; has(`${name}.${l}.W`); l++) {
      nodes.push({
        id: `${id}.${l}`,
        op: 'linear',
        input: h,
        weight: `${name}.${l}.W`,
        bias: `${name}.${l}.b`,
      });
      h = `${id}.${l}`;
      if (reluLast || has(`${name}.${l + 1}.W`)) {
        nodes.push({ id: `${id}.${l}.relu`, op: 'relu', input: h });
        h = `${id}.${l}.relu`;
      }
    }
    if (l === 0) throw new Error(`export: ${p} (mmoe-esmm) has no '${name}.0.W' parameter`);
    return h;
  };
  const experts: string[] = [];
  for (let e = 0; has(`${p}.expert.${e}.0.W`); e++)
    experts.push(mlp(`${p}.expert.${e}`, x, `expert${e}`, true));
  if (experts.length === 0) throw new Error(`export: ${p} (mmoe-esmm) has no experts ('${p}.expert.0.0.W')`);
  const logits: Record<string, string> = {};
  for (const task of ['ctr', 'cvr']) {
    const gate = `${p}.gate.${task}`;
    nodes.push({ id: `gate.${task}`, op: 'linear', input: x, weight: `${gate}.W`, bias: `${gate}.b` });
    nodes.push({ id: `gate.${task}.softmax`, op: 'softmax', input: `gate.${task}` });
    nodes.push({ id: `mixed.${task}`, op: 'mix', gate: `gate.${task}.softmax`, inputs: experts });
    logits[task] = mlp(`${p}.tower.${task}`, `mixed.${task}`, `tower.${task}`, false);
  }
  nodes.push({ id: 'ctcvr', op: 'ctcvr', ctr: logits['ctr']!, cvr: logits['cvr']! });
  return {
    format: GRAPH_FORMAT,
    name: 'rank',
    nodes,
    output: logits['ctr']!,
    outDim: 1,
    outputs: [
      { name: 'ctr', node: logits['ctr']! },
      { name: 'cvr', node: logits['cvr']! },
      { name: 'ctcvr', node: 'ctcvr' },
    ],
  };
}

/** Names of every weight a graph reads from the weights file (its own `constants` excluded). */
export function graphWeightNames(g: GraphDesc): string[] {
  const out = new Set<string>();
  for (const n of g.nodes) {
    if (n.op === 'embed') out.add(n.table);
    if (n.op === 'linear') {
      out.add(n.weight);
      if (n.bias !== undefined) out.add(n.bias);
    }
  }
  for (const c of Object.keys(g.constants ?? {})) out.delete(c);
  return [...out];
}

/** The graph with its weight names mapped through `renamed` (names not in it are kept). */
export function renameGraphWeights(g: GraphDesc, renamed: ReadonlyMap<string, string>): GraphDesc {
  const own = g.constants ?? {};
  const to = (n: string) => (n in own ? n : (renamed.get(n) ?? n));
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
