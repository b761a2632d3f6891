/**
 * Two-tower (DSSM-style) retrieval student.
 *
 * Papers: P.-S. Huang et al., "Learning Deep Structured Semantic Models for Web Search using
 * Clickthrough Data", CIKM'13 (two towers, cosine relevance, eq. 5 with smoothing factor γ); X. Yi
 * et al., "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item Recommendations",
 * RecSys'19 (§3: L2-normalised tower outputs with a temperature τ, s(u, i) = ⟨u, i⟩ / τ).
 *
 * The user tower sees user and context fields ONLY, the item tower item fields ONLY; each gets a
 * SchemaView of its groups, so reading any other field throws, and no privileged field can enter
 * (PFD: privileged features are for the teacher, Xu et al., KDD'20). Each tower is
 * FeatureEmbedder → ReLU MLP (no activation after the last layer), so it can be exported on its own:
 * the user tower answers online requests, the item tower fills the ANN index.
 *
 * Score: 'dot'    s = ⟨u(x_u), v(x_i)⟩
 *        'cosine' s = ⟨u/|u|, v/|v|⟩ / τ   (the 1/τ is folded into the user vector, so the ANN index
 *                                           over normalised item vectors ranks by the same score)
 */
import type { Batch } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import type { Graph } from '../engine/graph.js';
import { MLP, ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { buildEmbedders, type FeatureEmbedder, type TableRegistry } from './featureEmbedder.js';
import { bceHardLoss, type HardLoss } from './hardLoss.js';
import type { ExportedMlpTower, ModelOutput, TowerExport, TwoTowerModel } from './types.js';

export interface TwoTowerOptions {
  name: string;
  embeddingDim: number;
  /** Subsets of the user+context and item fields (default: all of them). */
  userFields?: string[];
  itemFields?: string[];
  separateTables?: string[];
  /** Hidden widths then output width of each tower; the last widths must agree. */
  userHidden: number[];
  itemHidden: number[];
  dropout: number;
  scoreFn: 'dot' | 'cosine';
  /** τ for cosine (e.g. 0.05); must be 1 for dot. */
  temperature: number;
  output: string;
  label: string;
}

export class TwoTower implements TwoTowerModel {
  readonly kind = 'two-tower';
  readonly name: string;
  readonly store = new ParamStore();
  readonly outputNames: string[];
  readonly supervised: Readonly<Record<string, string>>;
  readonly scoreFn: 'dot' | 'cosine';
  readonly temperature: number;
  readonly userEmbedder: FeatureEmbedder;
  readonly itemEmbedder: FeatureEmbedder;
  readonly userTower: MLP;
  readonly itemTower: MLP;

  constructor(opts: TwoTowerOptions, schema: Schema, registry: TableRegistry, rng: Rng) {
    this.name = opts.name;
    this.outputNames = [opts.output];
    this.supervised = { [opts.output]: opts.label };
    this.scoreFn = opts.scoreFn;
    this.temperature = opts.temperature;
    if (!(opts.temperature > 0))
      throw new Error(`${opts.name} (two-tower): temperature must be > 0, got ${opts.temperature}`);
    if (opts.scoreFn === 'dot' && opts.temperature !== 1) {
      throw new Error(
        `${opts.name} (two-tower): temperature applies to scoreFn 'cosine' only (got ${opts.temperature} with 'dot')`,
      );
    }
    const uOut = opts.userHidden[opts.userHidden.length - 1];
    const iOut = opts.itemHidden[opts.itemHidden.length - 1];
    if (uOut === undefined || uOut !== iOut) {
      throw new Error(
        `${opts.name} (two-tower): the towers' output widths must be equal for a dot product (userHidden ends in ${uOut}, itemHidden in ${iOut})`,
      );
    }
    [this.userEmbedder, this.itemEmbedder] = buildEmbedders(schema, registry, rng, opts, [
      { view: schema.view(['user', 'context'], `${opts.name}.userTower`), fields: opts.userFields },
      { view: schema.view(['item'], `${opts.name}.itemTower`), fields: opts.itemFields },
    ]) as [FeatureEmbedder, FeatureEmbedder];
    const un = `${opts.name}.user`;
    const inn = `${opts.name}.item`;
    this.userTower = new MLP(
      un,
      [this.userEmbedder.outDim, ...opts.userHidden],
      { activation: 'relu', dropout: opts.dropout },
      rng.fork(un),
    );
    this.itemTower = new MLP(
      inn,
      [this.itemEmbedder.outDim, ...opts.itemHidden],
      { activation: 'relu', dropout: opts.dropout },
      rng.fork(inn),
    );
    for (const t of new Set([...this.userEmbedder.distinctTables(), ...this.itemEmbedder.distinctTables()]))
      this.store.add(t);
    this.store.add(this.userTower);
    this.store.add(this.itemTower);
  }

  get fields(): string[] {
    return [...this.userTowerFields, ...this.itemTowerFields];
  }
  get userTowerFields(): string[] {
    return this.userEmbedder.fieldNames;
  }
  get itemTowerFields(): string[] {
    return this.itemEmbedder.fieldNames;
  }

  userVectors(g: Graph, batch: Batch): Tensor {
    const u = this.userTower.forward(g, this.userEmbedder.forward(g, batch));
    return this.scoreFn === 'cosine' ? g.scale(g.l2Normalize(u), 1 / this.temperature) : u;
  }

  itemVectors(g: Graph, batch: Batch): Tensor {
    const v = this.itemTower.forward(g, this.itemEmbedder.forward(g, batch));
    return this.scoreFn === 'cosine' ? g.l2Normalize(v) : v;
  }

  forward(g: Graph, batch: Batch): ModelOutput {
    return {
      logits: { [this.outputNames[0]!]: g.rowDot(this.userVectors(g, batch), this.itemVectors(g, batch)) },
    };
  }

  hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss {
    return bceHardLoss(g, out, batch, this.supervised, this.name, weights);
  }

  exportTowers(): TowerExport {
    const tower = (emb: FeatureEmbedder, mlp: MLP, side: 'user' | 'item'): ExportedMlpTower => ({
      kind: 'mlp',
      inputs: emb.describe(),
      layers: mlp.layers.map((l, i) => ({
        weight: l.W.name,
        bias: l.b.name,
        inDim: l.inDim,
        outDim: l.outDim,
        activation: i < mlp.layers.length - 1 ? 'relu' : 'none',
      })),
      normalize: this.scoreFn === 'cosine' ? 'l2' : 'none',
      scale: side === 'user' && this.scoreFn === 'cosine' ? 1 / this.temperature : 1,
      outDim: mlp.outDim,
    });
    return {
      kind: this.kind,
      scoreFn: this.scoreFn,
      temperature: this.temperature,
      user: tower(this.userEmbedder, this.userTower, 'user'),
      item: tower(this.itemEmbedder, this.itemTower, 'item'),
    };
  }
}
