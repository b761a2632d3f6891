/**
 * The model interface every teacher and student implements, so the trainer, the distillation
 * terms and the serving exporter handle any model the same way.
 *
 * - Logits are `[B]` tensors named by task (`ctr`; `ctr`, `cvr`, `ctcvr` for MMoE+ESMM). The
 *   distillation config refers to them by these names (`pred: ctr`, `target: teacher.ctcvr`).
 * - Hidden layers are exposed by name for hint (intermediate-layer) distillation (FitNets,
 *   Romero et al., ICLR'15), which only the pre-ranking MLP may use as a student.
 * - Two-tower models (and FM, whose user and item parts decompose) also expose their towers on
 *   their own: the user tower answers online requests, the item tower fills the ANN index.
 */
import type { Batch } from '../data/batch.js';
import type { Graph } from '../engine/graph.js';
import type { ParamStore } from '../engine/nn.js';
import type { Tensor } from '../engine/tensor.js';
import type { HardLoss } from './hardLoss.js';

export interface ModelOutput {
  /** `[B]` logits by output name. */
  logits: Record<string, Tensor>;
  /** `[B, H]` hidden activations by layer name (e.g. `mlp.0`, `mlp.1`), for hint distillation. */
  hidden?: Record<string, Tensor>;
}

export interface Model {
  /** Instance name, used as the parameter prefix in checkpoints (`teacher`, `student`). */
  readonly name: string;
  /** Model type as in the config: 'ranking-dnn' | 'mmoe-esmm' | 'two-tower' | 'fm' | 'prerank-mlp' | ... */
  readonly kind: string;
  /** Dense parameters and embedding tables of this model (tables may be shared with another model). */
  readonly store: ParamStore;
  /** Names of the logits `forward` returns, in a stable order; the first is the main output. */
  readonly outputNames: string[];
  /** Schema fields this model reads (after group enforcement). */
  readonly fields: string[];
  /** Which label column each supervised output learns from (ESMM: ctr and ctcvr, never cvr). */
  readonly supervised: Readonly<Record<string, string>>;
  forward(g: Graph, batch: Batch): ModelOutput;
  /** The model's hard-label loss on a forward output (BCE per supervised output, summed). */
  hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss;
}

export interface TwoTowerModel extends Model {
  readonly scoreFn: 'dot' | 'cosine';
  /** Cosine scores are divided by this; 1 for dot. */
  readonly temperature: number;
  /** Fields read by the user tower (user + context groups only). */
  readonly userTowerFields: string[];
  /** Fields read by the item tower (item group only). */
  readonly itemTowerFields: string[];
  /**
   * `[B, D]` user vectors such that `score(u, i) = dot(userVectors[u], itemVectors[i])` equals the
   * model's logit (for cosine the rows are L2-normalised and the user side carries 1/temperature).
   */
  userVectors(g: Graph, batch: Batch): Tensor;
  /** `[B, D]` item vectors; only item fields of `batch` are read. */
  itemVectors(g: Graph, batch: Batch): Tensor;
  /** A description of both towers for export (layer parameter names, activations, inputs). */
  exportTowers(): TowerExport;
}

/** One input slot of an exported tower: how a field turns into its slice of the tower input. */
export interface ExportedInput {
  field: string;
  kind: 'categorical' | 'multi_hot' | 'sequence' | 'numeric';
  /** Parameter name of the embedding table in the model's ParamStore (absent for numerics). */
  table?: string;
  /** Width of this slice in the concatenated input. */
  dim: number;
  /** Pooling of multi-hot / sequence ids. */
  pooling?: 'sum' | 'mean';
  /**
   * For numerics: the schema's normalisation. Batches carry numerics already normalised with
   * train-split statistics (src/data/batch.ts), so a serving path must apply the same one first.
   */
  normalize?: 'none' | 'standard' | 'log1p' | 'minmax';
}

/** A dense layer of an exported tower: y = act(x · W + b), W stored `[in, out]`. */
export interface ExportedLayer {
  weight: string;
  bias?: string;
  inDim: number;
  outDim: number;
  activation: 'relu' | 'tanh' | 'sigmoid' | 'none';
}

/** An Embedding&MLP tower: input = concat(inputs) → layers → optional L2 normalisation → × scale. */
export interface ExportedMlpTower {
  kind: 'mlp';
  inputs: ExportedInput[];
  layers: ExportedLayer[];
  normalize: 'none' | 'l2';
  /** Multiplies the (normalised) output; the user side of a cosine model carries 1/temperature. */
  scale: number;
  outDim: number;
}

/**
 * One side of a decomposed FM (see fm.ts): with S = Σ latent vectors of the side's fields
 * (numerics: x·V[row]) and a = Σ linear weights + ½(|S|² − Σ|v|²) (+ the global bias on the user
 * side), the user vector is [S, a, 1] and the item vector [S, 1, a], so dot(u, i) is the FM logit.
 */
export interface ExportedFmTower {
  kind: 'fm';
  side: 'user' | 'item';
  /** Latent (k-dim) inputs, one per id field. */
  inputs: ExportedInput[];
  /** Dim-1 tables holding the linear weights, by field. */
  linearTables: Record<string, string>;
  /** Numeric fields, their latent matrix [n, k] and linear weights [n] (parameter names). */
  numericFields: string[];
  numericLatent?: string;
  numericLinear?: string;
  /** Global bias w0 (user side only). */
  bias?: string;
  outDim: number;
}

/** A tower that ignores its input and returns fixed values (the popularity baseline's user side). */
export interface ExportedConstantTower {
  kind: 'constant';
  values: number[];
  outDim: number;
}

export type ExportedTower = ExportedMlpTower | ExportedFmTower | ExportedConstantTower;

export interface TowerExport {
  kind: string;
  scoreFn: 'dot' | 'cosine';
  temperature: number;
  user: ExportedTower;
  item: ExportedTower;
}

/** A scorer without parameters (popularity): a user-independent score per item. */
export interface ItemScorer {
  readonly name: string;
  readonly kind: string;
  /** Score for each item index of the item-id vocabulary. */
  itemScores(): Float32Array;
}

export function isTwoTower(m: Model): m is TwoTowerModel {
  return typeof (m as Partial<TwoTowerModel>).userVectors === 'function';
}
