/**
 * Ranking DNN teacher with DCN-v2 cross layers.
 *
 * Paper: R. Wang, R. Shivanna, D. Cheng, S. Jain, D. Lin, L. Hong, E. Chi, "DCN V2: Improved Deep &
 * Cross Network and Practical Lessons for Web-scale Learning to Rank Systems", WWW'21.
 *
 * Input x0 = the concatenated embeddings of ALL the feature groups this teacher may see (user,
 * item, context and privileged by default: the ranking stage is where privileged features live,
 * Xu et al., KDD'20), built by FeatureEmbedder.
 *
 * Cross layer (DCN-v2 eq. 1):            x_{l+1} = x0 ⊙ (W_l x_l + b_l) + x_l
 * Low-rank cross layer (DCN-v2 eq. 2/§5): x_{l+1} = x0 ⊙ (U_l (V_lᵀ x_l) + b_l) + x_l, when crossRank > 0
 *
 * Structures (DCN-v2 Fig. 2): 'stacked'  — logit = head(deep(cross(x0)));
 *                             'parallel' — logit = head(concat(cross(x0), deep(x0))).
 * Deep network: ReLU MLP. Outputs the `ctr` logit (or the configured output name). Hidden layers are
 * exposed as `cross.<l>`, `deep.<i>` and `final` (the head's input) for hint distillation.
 */
import type { Batch } from '../data/batch.js';
import type { FieldGroup, Schema } from '../data/schema.js';
import type { Graph } from '../engine/graph.js';
import { xavierUniform, zeros } from '../engine/init.js';
import { Linear, MLP, ParamStore, parameter } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { buildEmbedders, type FeatureEmbedder, type TableRegistry } from './featureEmbedder.js';
import { bceHardLoss, type HardLoss } from './hardLoss.js';
import type { Model, ModelOutput } from './types.js';

export interface RankingDnnOptions {
  name: string;
  embeddingDim: number;
  groups: FieldGroup[];
  fields?: string[];
  separateTables?: string[];
  crossLayers: number;
  /** 0: full-rank W_l [D, D]; r > 0: W_l = U_l V_lᵀ with U, V [D, r]. */
  crossRank: number;
  structure: 'parallel' | 'stacked';
  hidden: number[];
  dropout: number;
  output: string;
  label: string;
}

/** One DCN-v2 cross layer. */
class CrossLayer {
  readonly params: Tensor[];
  private readonly W?: Tensor;
  private readonly V?: Tensor;
  private readonly U?: Tensor;
  private readonly b: Tensor;

  constructor(name: string, dim: number, rank: number, rng: Rng) {
    if (rank > 0) {
      this.V = parameter(`${name}.V`, [dim, rank], xavierUniform, dim, rank, rng);
      this.U = parameter(`${name}.U`, [rank, dim], xavierUniform, rank, dim, rng);
    } else {
      this.W = parameter(`${name}.W`, [dim, dim], xavierUniform, dim, dim, rng);
    }
    this.b = parameter(`${name}.b`, [dim], zeros, dim, dim, rng);
    this.params = [this.W ?? this.V!, ...(this.U ? [this.U] : []), this.b];
  }

  forward(g: Graph, x0: Tensor, xl: Tensor): Tensor {
    // Row-vector form of eq. 1: rows are samples, so W x_l is x_l·W with W stored [in, out].
    const proj = this.W ? g.linear(xl, this.W, this.b) : g.linear(g.matmul(xl, this.V!), this.U!, this.b);
    return g.add(g.mul(x0, proj), xl);
  }
}

export class RankingDnn implements Model {
  readonly kind = 'ranking-dnn';
  readonly name: string;
  readonly store = new ParamStore();
  readonly outputNames: string[];
  readonly supervised: Readonly<Record<string, string>>;
  readonly embedder: FeatureEmbedder;
  private readonly cross: CrossLayer[] = [];
  private readonly deep: MLP | null;
  private readonly head: Linear;
  private readonly opts: RankingDnnOptions;

  constructor(opts: RankingDnnOptions, schema: Schema, registry: TableRegistry, rng: Rng) {
    this.opts = opts;
    this.name = opts.name;
    this.outputNames = [opts.output];
    this.supervised = { [opts.output]: opts.label };
    [this.embedder] = buildEmbedders(schema, registry, rng, opts, [
      { view: schema.view(opts.groups, `${opts.name} (ranking-dnn)`), fields: opts.fields },
    ]);
    const D = this.embedder.outDim;
    for (let l = 0; l < opts.crossLayers; l++) {
      this.cross.push(
        new CrossLayer(`${opts.name}.cross.${l}`, D, opts.crossRank, rng.fork(`${opts.name}.cross.${l}`)),
      );
    }
    this.deep =
      opts.hidden.length > 0
        ? new MLP(
            `${opts.name}.deep`,
            [D, ...opts.hidden],
            { activation: 'relu', finalActivation: 'relu', dropout: opts.dropout },
            rng.fork(`${opts.name}.deep`),
          )
        : null;
    if (opts.crossLayers === 0 && this.deep === null) {
      throw new Error(`${opts.name} (ranking-dnn): needs crossLayers > 0 or a non-empty hidden list`);
    }
    const deepOut = this.deep ? this.deep.outDim : 0;
    const headIn = opts.structure === 'parallel' ? (opts.crossLayers > 0 ? D : 0) + deepOut : deepOut || D;
    this.head = new Linear(`${opts.name}.head`, headIn, 1, rng.fork(`${opts.name}.head`));
    for (const t of this.embedder.distinctTables()) this.store.add(t);
    for (const c of this.cross) for (const p of c.params) this.store.add(p);
    if (this.deep) this.store.add(this.deep);
    this.store.add(this.head);
  }

  get fields(): string[] {
    return this.embedder.fieldNames;
  }

  forward(g: Graph, batch: Batch): ModelOutput {
    const hidden: Record<string, Tensor> = {};
    const x0 = this.embedder.forward(g, batch);
    let xc = x0;
    for (let l = 0; l < this.cross.length; l++) {
      xc = this.cross[l]!.forward(g, x0, xc);
      hidden[`cross.${l}`] = xc;
    }
    let final: Tensor;
    const runDeep = (x: Tensor): Tensor => {
      const { out, hidden: hs } = this.deep!.forwardWithHidden(g, x);
      hs.forEach((h, i) => {
        hidden[`deep.${i}`] = h;
      });
      hidden[`deep.${hs.length}`] = out;
      return out;
    };
    if (this.opts.structure === 'stacked') {
      final = this.deep ? runDeep(xc) : xc;
    } else {
      const parts: Tensor[] = [];
      if (this.cross.length > 0) parts.push(xc);
      if (this.deep) parts.push(runDeep(x0));
      final = parts.length === 1 ? parts[0]! : g.concat(parts);
    }
    hidden.final = final;
    const logit = g.reshape(this.head.forward(g, final), [batch.size]);
    return { logits: { [this.opts.output]: logit }, hidden };
  }

  hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss {
    return bceHardLoss(g, out, batch, this.supervised, this.name, weights);
  }
}
