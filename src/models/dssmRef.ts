/**
 * dssm-ref: the fixed two-tower benchmark model of issue 2, after DSSM (Huang et al., "Learning
 * Deep Structured Semantic Models for Web Search using Clickthrough Data", CIKM 2013) as used for
 * recall in YouTube DNN-style two-tower retrieval: each side embeds its categorical fields,
 * concatenates them and runs an MLP tower; the score is the dot product of the two tower outputs,
 * trained with sigmoid BCE.
 *
 * Reference shape (issue 2): user side user_id (vocab 100,000) + 3 fields (vocab 100 each); item
 * side item_id (200,000), category (1,000), brand (10,000); embedding dim 32; towers 256-128-64
 * with relu between layers and none after the last; Adam lr 1e-3 (lazy Adam for the tables);
 * uniform random ids with random labels (10% positives). It measures the engine, not a
 * recommender: `kdrec bench train` and the data-parallel tests train it.
 */
import type { EmbeddingTable as EmbeddingTableT } from '../engine/embedding.js';
import { EmbeddingTable } from '../engine/embedding.js';
import type { Graph } from '../engine/graph.js';
import { normal } from '../engine/init.js';
import { MLP, ParamStore } from '../engine/nn.js';
import type { Column, ColumnBatch, ColumnSpec, FactoryRef, Trainable } from '../engine/parallel.js';
import { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';

export interface DssmRefConfig {
  /** Vocabulary of each user field; the first is user_id. */
  userVocabs: number[];
  /** Vocabulary of each item field; the first is item_id. */
  itemVocabs: number[];
  dim: number;
  /** Tower layer widths after the concatenated embeddings, e.g. [256, 128, 64]. */
  tower: number[];
  seed: number;
  /** Std of the normal embedding initialiser. */
  embeddingStd?: number;
  /** Dropout after each hidden tower layer (training only); 0 in the reference model. */
  dropout?: number;
}

export const DSSM_REF: DssmRefConfig = {
  userVocabs: [100_000, 100, 100, 100],
  itemVocabs: [200_000, 1_000, 10_000],
  dim: 32,
  tower: [256, 128, 64],
  seed: 1,
};

/** A small variant for tests: same structure, vocabularies and widths that train in milliseconds. */
export const DSSM_REF_TINY: DssmRefConfig = {
  userVocabs: [200, 8, 8, 8],
  itemVocabs: [300, 16, 32],
  dim: 8,
  tower: [16, 8],
  seed: 1,
};

export const USER_FIELDS = ['user_id', 'user_f1', 'user_f2', 'user_f3'];
export const ITEM_FIELDS = ['item_id', 'category', 'brand'];

/** Column layout of a dssm-ref batch: one int id per field and row, plus the label. */
export function dssmRefColumns(cfg: DssmRefConfig): Record<string, ColumnSpec> {
  const cols: Record<string, ColumnSpec> = {};
  for (const f of fieldNames(cfg)) cols[f] = { type: 'i32', width: 1 };
  cols['label'] = { type: 'f32', width: 1 };
  return cols;
}

function fieldNames(cfg: DssmRefConfig): { user: string[]; item: string[] } & Iterable<string> {
  const user = cfg.userVocabs.map((_, i) => USER_FIELDS[i] ?? `user_f${i}`);
  const item = cfg.itemVocabs.map((_, i) => ITEM_FIELDS[i] ?? `item_f${i}`);
  return Object.assign([...user, ...item], { user, item });
}

export class DssmRef implements Trainable {
  readonly store = new ParamStore();
  readonly userTables: EmbeddingTableT[];
  readonly itemTables: EmbeddingTableT[];
  readonly userTower: MLP;
  readonly itemTower: MLP;
  private readonly userFields: string[];
  private readonly itemFields: string[];

  constructor(readonly config: DssmRefConfig) {
    const rng = new Rng(config.seed);
    const initRng = rng.fork('embeddings');
    const std = config.embeddingStd ?? 0.05;
    const table = (name: string, vocab: number): EmbeddingTableT =>
      this.store.add(
        new EmbeddingTable(name, vocab, config.dim, (w) => normal(std)(w, vocab, config.dim, initRng)),
      );
    const names = fieldNames(config);
    this.userFields = names.user;
    this.itemFields = names.item;
    this.userTables = names.user.map((f, i) => table(`emb.${f}`, config.userVocabs[i]!));
    this.itemTables = names.item.map((f, i) => table(`emb.${f}`, config.itemVocabs[i]!));
    const towerRng = rng.fork('towers');
    this.userTower = this.store.add(
      new MLP(
        'user_tower',
        [config.dim * names.user.length, ...config.tower],
        { activation: 'relu', dropout: config.dropout ?? 0 },
        towerRng,
      ),
    );
    this.itemTower = this.store.add(
      new MLP(
        'item_tower',
        [config.dim * names.item.length, ...config.tower],
        { activation: 'relu', dropout: config.dropout ?? 0 },
        towerRng,
      ),
    );
  }

  private tower(g: Graph, batch: ColumnBatch, fields: string[], tables: EmbeddingTableT[], mlp: MLP): Tensor {
    const parts = fields.map((f, i) => {
      const ids = batch.cols[f];
      if (!(ids instanceof Int32Array))
        throw new Error(`dssm-ref: batch column '${f}' must be an Int32Array of ids`);
      return g.embeddingBag(tables[i]!, ids, batch.rows, 1, 'sum');
    });
    return mlp.forward(g, g.concat(parts));
  }

  /** [B] logits: dot product of the user and item tower outputs. */
  logits(g: Graph, batch: ColumnBatch): Tensor {
    const u = this.tower(g, batch, this.userFields, this.userTables, this.userTower);
    const v = this.tower(g, batch, this.itemFields, this.itemTables, this.itemTower);
    return g.rowDot(u, v);
  }

  /** Trainable.loss; dssm-ref has no schedule, so `_step` is unused (subclasses in tests use it). */
  loss(g: Graph, batch: ColumnBatch, _step?: number): Tensor {
    const label = batch.cols['label'];
    if (!(label instanceof Float32Array))
      throw new Error("dssm-ref: batch column 'label' must be a Float32Array");
    return g.bceWithLogits(this.logits(g, batch), label);
  }
}

/** The factory the data-parallel workers import (see parallel.ts). */
export function createDssmRef(config: unknown): DssmRef {
  return new DssmRef(config as DssmRefConfig);
}

export function dssmRefFactory(config: DssmRefConfig): FactoryRef {
  return { moduleUrl: import.meta.url, exportName: 'createDssmRef', config };
}

/**
 * `n` batches of uniform random ids and Bernoulli(positiveRate) labels, generated up front so that
 * the benchmark does not time the random number generator.
 */
export function randomDssmBatches(
  cfg: DssmRefConfig,
  rows: number,
  n: number,
  rng: Rng,
  positiveRate = 0.1,
): ColumnBatch[] {
  const names = fieldNames(cfg);
  const vocabs = [...cfg.userVocabs, ...cfg.itemVocabs];
  const out: ColumnBatch[] = [];
  for (let b = 0; b < n; b++) {
    const cols: Record<string, Column> = {};
    [...names].forEach((f, i) => {
      const ids = new Int32Array(rows);
      for (let r = 0; r < rows; r++) ids[r] = rng.int(vocabs[i]!);
      cols[f] = ids;
    });
    const label = new Float32Array(rows);
    for (let r = 0; r < rows; r++) label[r] = rng.nextFloat() < positiveRate ? 1 : 0;
    cols['label'] = label;
    out.push({ rows, cols });
  }
  return out;
}
