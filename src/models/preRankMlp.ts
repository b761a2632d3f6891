/**
 * Pre-ranking MLP student: a small joint model that, unlike a two-tower, may see user × item cross
 * features, but never a privileged field.
 *
 * Papers: Z. Wang et al., "COLD: Towards the Next Generation of Pre-Ranking System", DLP-KDD'20
 * (pre-ranking need not be two-tower: a light MLP over user, item AND cross features, §3.1);
 * the explicit user × item interaction is the element-wise product of the projected user and item
 * representations, the interaction used by NCF's GMF branch (He et al., "Neural Collaborative
 * Filtering", WWW'17, eq. 9) and by DCN/DeepFM-style cross terms.
 *
 *   u = embed(user + context fields), i = embed(item fields)
 *   c = (u P_u) ⊙ (i P_i)                              (cross features, width crossDim)
 *   h = MLP_relu([u, i, c]),  logit = h·w + b
 *
 * Hidden layers are exposed as `mlp.<i>` for hint distillation (FitNets, Romero et al., ICLR'15):
 * this joint model has layers comparable to the teacher's joint layers, which a two-tower lacks.
 */
import type { Batch } from '../data/batch.js';
import type { FieldGroup, Schema } from '../data/schema.js';
import type { Graph } from '../engine/graph.js';
import { Linear, MLP, ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { buildEmbedders, type FeatureEmbedder, type TableRegistry } from './featureEmbedder.js';
import { bceHardLoss, type HardLoss } from './hardLoss.js';
import type { Model, ModelOutput } from './types.js';

export interface PreRankMlpOptions {
  name: string;
  embeddingDim: number;
  /** Subset of groups among user, item, context (privileged is refused). */
  groups: FieldGroup[];
  fields?: string[];
  separateTables?: string[];
  /** Width of the user × item product features; 0 disables them. */
  crossDim: number;
  hidden: number[];
  dropout: number;
  output: string;
  label: string;
}

export class PreRankMlp implements Model {
  readonly kind = 'prerank-mlp';
  readonly name: string;
  readonly store = new ParamStore();
  readonly outputNames: string[];
  readonly supervised: Readonly<Record<string, string>>;
  readonly userEmbedder: FeatureEmbedder;
  readonly itemEmbedder: FeatureEmbedder;
  private readonly projUser: Linear | null;
  private readonly projItem: Linear | null;
  private readonly mlp: MLP;
  private readonly head: Linear;

  constructor(opts: PreRankMlpOptions, schema: Schema, registry: TableRegistry, rng: Rng) {
    this.name = opts.name;
    this.outputNames = [opts.output];
    this.supervised = { [opts.output]: opts.label };
    const consumer = `${opts.name} (prerank-mlp)`;
    if (opts.groups.includes('privileged')) {
      throw new Error(
        `${consumer}: a pre-ranking student may not read privileged fields — they are unavailable at serving time (privileged features distillation, Xu et al., KDD'20); only the teacher sees them`,
      );
    }
    const view = schema.view(opts.groups, consumer);
    const userGroups = opts.groups.filter((g) => g === 'user' || g === 'context');
    if (userGroups.length === 0 || !opts.groups.includes('item')) {
      throw new Error(
        `${consumer}: groups must include item and at least one of user, context (got ${opts.groups.join(', ')})`,
      );
    }
    const userView = view.narrow(userGroups, `${opts.name}.user`);
    const itemView = view.narrow(['item'], `${opts.name}.item`);
    const pick = (v: typeof view) => opts.fields?.filter((f) => v.has(f));
    for (const f of opts.fields ?? []) view.field(f);
    [this.userEmbedder, this.itemEmbedder] = buildEmbedders(schema, registry, rng, opts, [
      { view: userView, fields: pick(userView) },
      { view: itemView, fields: pick(itemView) },
    ]) as [FeatureEmbedder, FeatureEmbedder];
    const du = this.userEmbedder.outDim;
    const di = this.itemEmbedder.outDim;
    this.projUser =
      opts.crossDim > 0
        ? new Linear(`${opts.name}.crossUser`, du, opts.crossDim, rng.fork(`${opts.name}.crossUser`))
        : null;
    this.projItem =
      opts.crossDim > 0
        ? new Linear(`${opts.name}.crossItem`, di, opts.crossDim, rng.fork(`${opts.name}.crossItem`))
        : null;
    if (opts.hidden.length === 0) throw new Error(`${consumer}: hidden needs at least one width`);
    const mn = `${opts.name}.mlp`;
    this.mlp = new MLP(
      mn,
      [du + di + opts.crossDim, ...opts.hidden],
      { activation: 'relu', finalActivation: 'relu', dropout: opts.dropout },
      rng.fork(mn),
    );
    this.head = new Linear(`${opts.name}.head`, this.mlp.outDim, 1, rng.fork(`${opts.name}.head`));
    for (const t of new Set([...this.userEmbedder.distinctTables(), ...this.itemEmbedder.distinctTables()]))
      this.store.add(t);
    for (const m of [this.projUser, this.projItem, this.mlp, this.head]) if (m) this.store.add(m);
  }

  get fields(): string[] {
    return [...this.userEmbedder.fieldNames, ...this.itemEmbedder.fieldNames];
  }

  forward(g: Graph, batch: Batch): ModelOutput {
    const u = this.userEmbedder.forward(g, batch);
    const i = this.itemEmbedder.forward(g, batch);
    const parts = [u, i];
    const hidden: Record<string, Tensor> = {};
    if (this.projUser && this.projItem) {
      const c = g.mul(this.projUser.forward(g, u), this.projItem.forward(g, i));
      hidden.cross = c;
      parts.push(c);
    }
    const { out, hidden: hs } = this.mlp.forwardWithHidden(g, g.concat(parts));
    hs.forEach((h, k) => {
      hidden[`mlp.${k}`] = h;
    });
    hidden[`mlp.${hs.length}`] = out;
    const logit = g.reshape(this.head.forward(g, out), [batch.size]);
    return { logits: { [this.outputNames[0]!]: logit }, hidden };
  }

  hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss {
    return bceHardLoss(g, out, batch, this.supervised, this.name, weights);
  }
}
