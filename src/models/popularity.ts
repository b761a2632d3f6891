/**
 * Most-popular baseline: every user gets the items with the most interactions in the training period.
 *
 * The standard non-personalised reference in recommender evaluation (e.g. Cremonesi, Koren, Turrin,
 * "Performance of Recommender Algorithms on Top-N Recommendation Tasks", RecSys'10, §3 "MostPopular";
 * Ji et al., "A Critical Study on Data Leakage in Recommender System Offline Evaluation", TOIS'23,
 * on counting popularity from the training period only, as done here). A distilled student that
 * does not beat it has learned nothing personal.
 *
 * Score of item i: log(1 + count_i), count_i = Σ over training rows with item i of the weight
 * column (clicks by default; exposures when `label` is null). The log keeps the score on a logit-like
 * scale; ranking is by count either way. It fits the two-tower scoring interface: the user vector is
 * the constant [1] and the item vector [score_i], so ANN export and retrieval eval treat it like any
 * student. The scores live in a frozen dim-1 embedding table (`<name>.score`): nothing trains.
 */
import type { Batch, Columns } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import { EmbeddingTable } from '../engine/embedding.js';
import type { Graph } from '../engine/graph.js';
import { ParamStore } from '../engine/nn.js';
import type { Tensor } from '../engine/tensor.js';
import { bceHardLoss, type HardLoss, labelColumn } from './hardLoss.js';
import { ones } from './stableMath.js';
import type { ItemScorer, ModelOutput, TowerExport, TwoTowerModel } from './types.js';

export interface PopularityOptions {
  name: string;
  /** The categorical item-id field (item group). */
  itemField: string;
  /** Label whose sum counts an interaction (e.g. 'click'); null counts exposures. */
  label: string | null;
  output: string;
}

export class Popularity implements TwoTowerModel, ItemScorer {
  readonly kind = 'popularity';
  readonly name: string;
  readonly store = new ParamStore();
  readonly outputNames: string[];
  readonly supervised: Readonly<Record<string, string>>;
  readonly scoreFn = 'dot' as const;
  readonly temperature = 1;
  readonly itemField: string;
  /** Raw counts per item-id table row. */
  readonly counts: Float64Array;
  private readonly table: EmbeddingTable;

  /** Counts the training rows of `train` (e.g. `dataset.splits.train.columns`). */
  constructor(opts: PopularityOptions, schema: Schema, train: Columns) {
    this.name = opts.name;
    this.itemField = opts.itemField;
    this.outputNames = [opts.output];
    this.supervised = opts.label ? { [opts.output]: opts.label } : {};
    const field = schema.view(['item'], `${opts.name} (popularity)`).field(opts.itemField);
    if (field.kind !== 'categorical') {
      throw new Error(
        `${opts.name} (popularity): itemField '${opts.itemField}' must be categorical, is ${field.kind}`,
      );
    }
    const n = schema.tableSize(field.table);
    const ids = train.cat[opts.itemField];
    if (ids === undefined) {
      throw new Error(
        `${opts.name} (popularity): training columns have no categorical column '${opts.itemField}'`,
      );
    }
    const w = opts.label ? labelColumn(train, opts.label, opts.name) : null;
    this.counts = new Float64Array(n);
    for (let r = 0; r < train.size; r++) {
      const id = ids[r]!;
      if (id < 0 || id >= n)
        throw new Error(
          `${opts.name} (popularity): row ${r}: ${opts.itemField} = ${id}, expected 0..${n - 1}`,
        );
      this.counts[id]! += w ? w[r]! : 1;
    }
    this.table = new EmbeddingTable(`${opts.name}.score`, n, 1, (t) => {
      for (let i = 0; i < n; i++) t[i] = Math.log1p(this.counts[i]!);
    });
    this.table.trainable = false;
    this.store.add(this.table);
  }

  get fields(): string[] {
    return [this.itemField];
  }
  get userTowerFields(): string[] {
    return [];
  }
  get itemTowerFields(): string[] {
    return [this.itemField];
  }

  itemScores(): Float32Array {
    return this.table.weight.data;
  }

  /** The constant [1] per row. */
  userVectors(g: Graph, batch: Batch): Tensor {
    return ones(g, [batch.size, 1]);
  }

  /** [score_i] per row, [B, 1]. */
  itemVectors(g: Graph, batch: Batch): Tensor {
    const ids = batch.cat[this.itemField];
    if (ids === undefined)
      throw new Error(`${this.name} (popularity): batch has no categorical column '${this.itemField}'`);
    return g.embeddingBag(this.table, ids, batch.size, 1, 'sum');
  }

  forward(g: Graph, batch: Batch): ModelOutput {
    return { logits: { [this.outputNames[0]!]: g.reshape(this.itemVectors(g, batch), [batch.size]) } };
  }

  /** The BCE of the popularity score (for reporting; nothing here has a gradient). */
  hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss {
    if (Object.keys(this.supervised).length === 0) {
      throw new Error(
        `${this.name} (popularity): counts exposures (label: null), so it has no label to compute a loss against`,
      );
    }
    return bceHardLoss(g, out, batch, this.supervised, this.name, weights);
  }

  exportTowers(): TowerExport {
    return {
      kind: this.kind,
      scoreFn: 'dot',
      temperature: 1,
      user: { kind: 'constant', values: [1], outDim: 1 },
      item: {
        kind: 'mlp',
        inputs: [{ field: this.itemField, kind: 'categorical', table: this.table.name, dim: 1 }],
        layers: [],
        normalize: 'none',
        scale: 1,
        outDim: 1,
      },
    };
  }
}
