/**
 * Dense layers and the parameter registry of a model.
 *
 * `ParamStore` is the single list of a model's trainable state — dense parameters (Tensor) and
 * sparse embedding tables — keyed by unique names. Optimisers, gradient clipping, checkpoints and
 * the data-parallel trainer all walk it, so a layer is "part of the model" exactly when it has been
 * added to the store.
 */
import type { EmbeddingTable } from './embedding.js';
import type { Graph } from './graph.js';
import { heUniform, type Initializer, xavierUniform, zeros } from './init.js';
import type { Rng } from './rng.js';
import { Tensor } from './tensor.js';

/** Anything that owns dense parameters (layers); ParamStore.add registers all of them. */
export interface Module {
  parameters(): Tensor[];
}

function isModule(x: unknown): x is Module {
  return typeof (x as Module).parameters === 'function';
}

function isTable(x: unknown): x is EmbeddingTable {
  return typeof (x as EmbeddingTable).sparseGrad === 'function';
}

export class ParamStore {
  private readonly dense = new Map<string, Tensor>();
  private readonly sparse = new Map<string, EmbeddingTable>();

  /** Registers a parameter tensor, a table or a module's parameters; returns its argument. */
  add<T extends Tensor | EmbeddingTable | Module>(item: T): T {
    if (item instanceof Tensor) this.addParam(item);
    else if (isTable(item)) this.addTable(item);
    else if (isModule(item)) for (const p of item.parameters()) this.addParam(p);
    else
      throw new Error('ParamStore.add: expected a Tensor, an EmbeddingTable or a module with parameters()');
    return item;
  }

  private checkName(name: string, kind: string): void {
    if (name === '') throw new Error(`ParamStore: a ${kind} needs a non-empty name`);
    if (this.dense.has(name) || this.sparse.has(name)) {
      throw new Error(`ParamStore: duplicate name '${name}' (every parameter and table needs a unique name)`);
    }
  }

  addParam(p: Tensor): Tensor {
    this.checkName(p.name, 'parameter');
    if (!p.requiresGrad) throw new Error(`ParamStore: parameter '${p.name}' must have requiresGrad = true`);
    this.dense.set(p.name, p);
    return p;
  }

  addTable(t: EmbeddingTable): EmbeddingTable {
    this.checkName(t.name, 'table');
    this.sparse.set(t.name, t);
    return t;
  }

  /** Dense parameters in registration order. */
  params(): Tensor[] {
    return [...this.dense.values()];
  }

  /** Embedding tables in registration order. */
  tables(): EmbeddingTable[] {
    return [...this.sparse.values()];
  }

  get(name: string): Tensor | EmbeddingTable {
    const x = this.dense.get(name) ?? this.sparse.get(name);
    if (x === undefined) {
      const known = [...this.dense.keys(), ...this.sparse.keys()];
      throw new Error(`ParamStore: no parameter or table named '${name}' (known: ${known.join(', ')})`);
    }
    return x;
  }

  has(name: string): boolean {
    return this.dense.has(name) || this.sparse.has(name);
  }

  /** Number of scalars over all parameters and tables. */
  count(): number {
    let n = 0;
    for (const p of this.dense.values()) n += p.size;
    for (const t of this.sparse.values()) n += t.weight.size;
    return n;
  }

  /** Clears dense gradients and the tables' sparse gradients. */
  zeroGrad(): void {
    for (const p of this.dense.values()) p.zeroGrad();
    for (const t of this.sparse.values()) t.zeroGrad();
  }
}

/** Creates a named, trainable parameter of the given shape filled by `init`. */
export function parameter(
  name: string,
  shape: readonly number[],
  init: Initializer,
  fanIn: number,
  fanOut: number,
  rng: Rng,
): Tensor {
  const t = Tensor.zeros(shape, true, name);
  init(t.data, fanIn, fanOut, rng);
  return t;
}

/** y = x·W + b with W [in, out] (so a row-major x [B, in] multiplies without a transpose). */
export class Linear implements Module {
  readonly W: Tensor;
  readonly b: Tensor;

  constructor(
    readonly name: string,
    readonly inDim: number,
    readonly outDim: number,
    rng: Rng,
    init: Initializer = xavierUniform,
  ) {
    if (!Number.isInteger(inDim) || inDim < 1 || !Number.isInteger(outDim) || outDim < 1) {
      throw new Error(`Linear '${name}': dimensions must be positive integers, got ${inDim} → ${outDim}`);
    }
    this.W = parameter(`${name}.W`, [inDim, outDim], init, inDim, outDim, rng);
    this.b = parameter(`${name}.b`, [outDim], zeros, inDim, outDim, rng);
  }

  parameters(): Tensor[] {
    return [this.W, this.b];
  }

  forward(g: Graph, x: Tensor): Tensor {
    return g.linear(x, this.W, this.b);
  }
}

/** Layer normalisation over the feature axis (Ba, Kiros & Hinton, 2016): gain 1, bias 0 at start. */
export class LayerNorm implements Module {
  readonly gamma: Tensor;
  readonly beta: Tensor;

  constructor(
    readonly name: string,
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    this.gamma = new Tensor(new Float32Array(dim).fill(1), [dim], true, `${name}.gamma`);
    this.beta = new Tensor(new Float32Array(dim), [dim], true, `${name}.beta`);
  }

  parameters(): Tensor[] {
    return [this.gamma, this.beta];
  }

  forward(g: Graph, x: Tensor): Tensor {
    return g.layerNorm(x, this.gamma, this.beta, this.eps);
  }
}

export type Activation = 'relu' | 'tanh' | 'none';

export interface MLPOptions {
  /** Between layers. */
  activation: Activation;
  /** After the last layer; default 'none' (towers and logit heads end linear). */
  finalActivation?: Activation;
  /** Dropout probability after each hidden activation (training only); default 0. */
  dropout?: number;
  /** Layer norm after each hidden linear layer, before the activation. */
  layerNorm?: boolean;
  /** Weight initialiser; default He-uniform for relu, Xavier-uniform otherwise. */
  init?: Initializer;
}

/**
 * A stack of Linear layers: dims = [in, h1, ..., out]. `forwardWithHidden` also returns each hidden
 * layer's post-activation output, which hint-based distillation (FitNets-style) matches.
 */
export class MLP implements Module {
  readonly layers: Linear[] = [];
  readonly norms: LayerNorm[] = [];
  private readonly opts: Required<Omit<MLPOptions, 'init'>>;

  constructor(
    readonly name: string,
    readonly dims: readonly number[],
    opts: MLPOptions,
    rng: Rng,
  ) {
    if (dims.length < 2) throw new Error(`MLP '${name}': dims needs at least [in, out], got [${dims}]`);
    const dropout = opts.dropout ?? 0;
    if (!(dropout >= 0 && dropout < 1))
      throw new Error(`MLP '${name}': dropout must be in [0, 1), got ${dropout}`);
    this.opts = {
      activation: opts.activation,
      finalActivation: opts.finalActivation ?? 'none',
      dropout,
      layerNorm: opts.layerNorm ?? false,
    };
    const init = opts.init ?? (opts.activation === 'relu' ? heUniform : xavierUniform);
    for (let i = 0; i + 1 < dims.length; i++) {
      this.layers.push(new Linear(`${name}.${i}`, dims[i]!, dims[i + 1]!, rng, init));
      if (this.opts.layerNorm && i + 2 < dims.length)
        this.norms.push(new LayerNorm(`${name}.ln${i}`, dims[i + 1]!));
    }
  }

  get outDim(): number {
    return this.dims[this.dims.length - 1]!;
  }

  parameters(): Tensor[] {
    return [...this.layers.flatMap((l) => l.parameters()), ...this.norms.flatMap((n) => n.parameters())];
  }

  forward(g: Graph, x: Tensor): Tensor {
    return this.forwardWithHidden(g, x).out;
  }

  /** The output and the hidden activations (one per hidden layer, after activation and dropout). */
  forwardWithHidden(g: Graph, x: Tensor): { out: Tensor; hidden: Tensor[] } {
    const hidden: Tensor[] = [];
    let h = x;
    const last = this.layers.length - 1;
    for (let i = 0; i <= last; i++) {
      const layer = this.layers[i]!;
      const act = i < last ? this.opts.activation : this.opts.finalActivation;
      // A ReLU directly after the layer runs fused into it (Graph.linear: fewer passes, same values).
      const fuseRelu = act === 'relu' && !(i < last && this.opts.layerNorm);
      h = fuseRelu ? g.linear(h, layer.W, layer.b, 'relu') : layer.forward(g, h);
      if (i < last) {
        if (this.opts.layerNorm) h = this.norms[i]!.forward(g, h);
        if (!fuseRelu) h = activate(g, h, this.opts.activation);
        if (this.opts.dropout > 0) h = g.dropout(h, this.opts.dropout);
        hidden.push(h);
      } else if (!fuseRelu) {
        h = activate(g, h, this.opts.finalActivation);
      }
    }
    return { out: h, hidden };
  }
}

export function activate(g: Graph, x: Tensor, a: Activation): Tensor {
  switch (a) {
    case 'relu':
      return g.relu(x);
    case 'tanh':
      return g.tanh(x);
    case 'none':
      return x;
    default:
      throw new Error(`unknown activation '${String(a)}' (expected relu, tanh or none)`);
  }
}
