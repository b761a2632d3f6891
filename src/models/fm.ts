/**
 * Factorization Machine student, decomposed into a user part and an item part for retrieval.
 *
 * Paper: S. Rendle, "Factorization Machines", ICDM'10. Eq. 1 and its O(kn) form (Lemma 3.1):
 *   ŷ(x) = w0 + Σ_i w_i x_i + Σ_{i<j} ⟨v_i, v_j⟩ x_i x_j,
 *   Σ_{i<j} ⟨v_i, v_j⟩ x_i x_j = ½ (|Σ_i v_i x_i|² − Σ_i |v_i x_i|²).
 * Here a "feature" is a field: a categorical field contributes its id's latent vector e_f = v_id
 * (x = 1); a multi-hot / sequence field its pooled vector e_f = Σ or mean of its ids' vectors and
 * the pooled linear weight (field-level FM, as the FM component of DeepFM, Guo et al., IJCAI'17,
 * treats pooled multi-valued fields); a numeric field x contributes x·v_x and x·w_x.
 *
 * Decomposition for retrieval (the user side U = user + context fields, item side I = item fields):
 *   with S_U = Σ_{f∈U} e_f, S_I = Σ_{f∈I} e_f, the pairs split into U×U, I×I and U×I, and
 *   Σ_{U×I} ⟨e_f, e_g⟩ = ⟨S_U, S_I⟩.  The rest folds into one scalar per side:
 *   a_U = w0 + Σ_{f∈U} w_f + ½(|S_U|² − Σ_{f∈U} |e_f|²),   a_I = Σ_{f∈I} w_f + ½(|S_I|² − Σ_{f∈I} |e_f|²).
 *   User vector u = [S_U, a_U, 1], item vector v = [S_I, 1, a_I]  ⇒  ⟨u, v⟩ = ŷ(x) EXACTLY.
 * So the logit used for distillation is the full FM score, while for retrieval a_U is constant per
 * user (it shifts every item's score equally) and the ANN index needs only the item vectors.
 * test/models/fm.test.ts checks ⟨u, v⟩ against a direct float64 evaluation of eq. 1.
 *
 * All latent vectors share the width k (= embeddingDim); a field declaring another embedding dim
 * in the schema is refused.
 */
import type { Batch } from '../data/batch.js';
import type { Schema, SchemaView } from '../data/schema.js';
import type { EmbeddingTable } from '../engine/embedding.js';
import type { Graph } from '../engine/graph.js';
import { normal, zeros } from '../engine/init.js';
import { ParamStore, parameter } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import {
  assertSeparateRead,
  FeatureEmbedder,
  type SeparateTables,
  separateTables,
  type TableRegistry,
} from './featureEmbedder.js';
import { bceHardLoss, type HardLoss } from './hardLoss.js';
import { ones } from './stableMath.js';
import type { ExportedFmTower, ModelOutput, TowerExport, TwoTowerModel } from './types.js';

export interface FmOptions {
  name: string;
  /** Latent width k. */
  embeddingDim: number;
  userFields?: string[];
  itemFields?: string[];
  separateTables?: string[];
  output: string;
  label: string;
}

/** One side's parameters: latent tables (via the embedder), linear tables, numeric weights. */
class FmSide {
  readonly embedder: FeatureEmbedder;
  readonly linear: EmbeddingTable[];
  readonly vNum: Tensor | null;
  readonly wNum: Tensor | null;

  constructor(
    readonly side: 'user' | 'item',
    view: SchemaView,
    fields: string[] | undefined,
    registry: TableRegistry,
    separate: SeparateTables | undefined,
    k: number,
    name: string,
    rng: Rng,
  ) {
    this.embedder = new FeatureEmbedder(view, registry, { dim: k, fields, separate }, rng);
    this.embedder.idFields.forEach((f, i) => {
      const d = this.embedder.tables[i]!.dim;
      if (d !== k) {
        throw new Error(
          `${name} (fm): field '${f.name}' has embedding dim ${d}, but every FM latent vector needs k = ${k}`,
        );
      }
    });
    this.linear = this.embedder.idFields.map((f) =>
      (separate?.tables.has(f.table) ? separate.registry : registry).getOrCreate(
        `${f.table}.fm_linear`,
        view.tableSize(f.table),
        1,
        rng,
      ),
    );
    const n = this.embedder.numericFields.length;
    this.vNum =
      n > 0
        ? parameter(
            `${name}.${side}.numLatent`,
            [n, k],
            normal(0.05),
            n,
            k,
            rng.fork(`${name}.${side}.numLatent`),
          )
        : null;
    this.wNum = n > 0 ? parameter(`${name}.${side}.numLinear`, [n, 1], zeros, n, 1, rng) : null;
  }

  /** S = Σ e_f [B, k] and a = Σ w_f + ½(|S|² − Σ|e_f|²) [B]. */
  forward(g: Graph, batch: Batch): { S: Tensor; a: Tensor } {
    const B = batch.size;
    const { ids, numeric } = this.embedder.embed(g, batch);
    let S: Tensor | null = null;
    let sq: Tensor | null = null;
    let lin: Tensor | null = null;
    const acc = (x: Tensor | null, y: Tensor) => (x === null ? y : g.add(x, y));
    for (let i = 0; i < ids.length; i++) {
      const e = ids[i]!;
      S = acc(S, e.out);
      sq = acc(sq, g.rowDot(e.out, e.out));
      const { ids: col, bagLen } = this.embedder.idsOf(batch, e.field);
      const w = g.embeddingBag(
        this.linear[i]!,
        col,
        B,
        bagLen,
        e.field.kind === 'categorical' ? 'sum' : e.field.pooling,
      );
      lin = acc(lin, g.reshape(w, [B]));
    }
    if (numeric && this.vNum && this.wNum) {
      // Numerics: Σ_i x_i v_i = X·V, Σ_i |x_i v_i|² = (X⊙X)·rowSq(V), Σ_i x_i w_i = X·w.
      const n = this.vNum.shape[0]!;
      S = acc(S, g.matmul(numeric, this.vNum));
      const rowSq = g.reshape(g.sum(g.mul(this.vNum, this.vNum), 1), [n, 1]);
      sq = acc(sq, g.reshape(g.matmul(g.mul(numeric, numeric), rowSq), [B]));
      lin = acc(lin, g.reshape(g.matmul(numeric, this.wNum), [B]));
    }
    if (S === null || sq === null || lin === null) throw new Error(`FM ${this.side} side reads no fields`);
    const within = g.scale(g.sub(g.rowDot(S, S), sq), 0.5);
    return { S, a: g.add(lin, within) };
  }

  describe(k: number, bias?: string): ExportedFmTower {
    return {
      kind: 'fm',
      side: this.side,
      inputs: this.embedder.describe().filter((d) => d.kind !== 'numeric'),
      linearTables: Object.fromEntries(this.embedder.idFields.map((f, i) => [f.name, this.linear[i]!.name])),
      numericFields: this.embedder.numericFields.map((f) => f.name),
      ...(this.vNum ? { numericLatent: this.vNum.name, numericLinear: this.wNum!.name } : {}),
      ...(bias ? { bias } : {}),
      outDim: k + 2,
    };
  }
}

export class Fm implements TwoTowerModel {
  readonly kind = 'fm';
  readonly name: string;
  readonly store = new ParamStore();
  readonly outputNames: string[];
  readonly supervised: Readonly<Record<string, string>>;
  readonly scoreFn = 'dot' as const;
  readonly temperature = 1;
  readonly k: number;
  private readonly user: FmSide;
  private readonly item: FmSide;
  private readonly w0: Tensor;

  constructor(opts: FmOptions, schema: Schema, registry: TableRegistry, rng: Rng) {
    this.name = opts.name;
    this.k = opts.embeddingDim;
    this.outputNames = [opts.output];
    this.supervised = { [opts.output]: opts.label };
    const userView = schema.view(['user', 'context'], `${opts.name}.userSide`);
    const itemView = schema.view(['item'], `${opts.name}.itemSide`);
    const sep = separateTables(schema, opts.separateTables, registry, opts.name);
    this.user = new FmSide('user', userView, opts.userFields, registry, sep, this.k, opts.name, rng);
    this.item = new FmSide('item', itemView, opts.itemFields, registry, sep, this.k, opts.name, rng);
    assertSeparateRead(sep, [this.user.embedder, this.item.embedder], opts.name);
    this.w0 = parameter(`${opts.name}.w0`, [1], zeros, 1, 1, rng);
    const tables = new Set([
      ...this.user.embedder.distinctTables(),
      ...this.user.linear,
      ...this.item.embedder.distinctTables(),
      ...this.item.linear,
    ]);
    for (const t of tables) this.store.add(t);
    for (const p of [this.user.vNum, this.user.wNum, this.item.vNum, this.item.wNum, this.w0])
      if (p) this.store.add(p);
  }

  get fields(): string[] {
    return [...this.userTowerFields, ...this.itemTowerFields];
  }
  get userTowerFields(): string[] {
    return this.user.embedder.fieldNames;
  }
  get itemTowerFields(): string[] {
    return this.item.embedder.fieldNames;
  }

  /** [S_U, a_U + w0, 1], [B, k + 2]. */
  userVectors(g: Graph, batch: Batch): Tensor {
    const { S, a } = this.user.forward(g, batch);
    const aU = g.add(a, this.w0);
    return g.concat([S, aU, ones(g, aU.shape)]);
  }

  /** [S_I, 1, a_I], [B, k + 2]. */
  itemVectors(g: Graph, batch: Batch): Tensor {
    const { S, a } = this.item.forward(g, batch);
    return g.concat([S, ones(g, a.shape), a]);
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
    return {
      kind: this.kind,
      scoreFn: 'dot',
      temperature: 1,
      user: this.user.describe(this.k, this.w0.name),
      item: this.item.describe(this.k),
    };
  }
}
