/**
 * `threads: N` for the training loop: the step of distillStep.ts as an engine `Trainable`
 * (src/engine/parallel.ts), and the translation between data/batch.ts batches and the engine's
 * flat columns.
 *
 * What N > 1 means (parallel.ts has the protocol): each batch is cut into N contiguous row shards;
 * every rank builds the same L (distillStep.ts) on its shard, with the same λ (a function of the
 * step number, which every rank is given); the gradients are summed with weights n_r / B, which is
 * the full batch's gradient because every term is a row mean. The logged terms are combined the
 * same way. Results are bit-identical for a given (seed, N) and differ from another N only by float
 * rounding, except for dropout: each rank draws its own masks, a function of (seed, rank, step)
 * (so the masks, not only their rounding, depend on N, and a checkpoint holds no dropout stream).
 *
 * Workers rebuild the models from the experiment config and the fitted schema (buildModels with the
 * run's seed; their own initial values are then replaced by rank 0's shared parameters), so a
 * config's models must be what `buildModels` makes of it: true for `kdrec train` and the
 * experiment runner.
 */
import type { Batch, Columns, SeqColumn } from '../data/batch.js';
import { Schema } from '../data/schema.js';
import type { Graph } from '../engine/graph.js';
import type { ParamStore } from '../engine/nn.js';
import {
  type Column,
  type ColumnBatch,
  type ColumnSpec,
  type FactoryRef,
  MAX_AUX,
  type Trainable,
} from '../engine/parallel.js';
import { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import type { ModelContext } from '../models/index.js';
import type { ExperimentConfig } from '../run/config.js';
import { buildModels } from '../run/models.js';
import { assembleStep, DistillStep } from './distillStep.js';

const GROUPS = ['cat', 'num', 'labels', 'extra'] as const;
const KEYS = ['userKey', 'itemKey', 'requestId'] as const;

/** The engine column layout of a dataset's batches: `cat.<name>`, `seq.<name>`, …, `ts`. */
export function batchColumns(c: Columns): Record<string, ColumnSpec> {
  const out: Record<string, ColumnSpec> = {};
  for (const k of Object.keys(c.cat)) out[`cat.${k}`] = { type: 'i32', width: 1 };
  for (const [k, s] of Object.entries(c.seq)) out[`seq.${k}`] = { type: 'i32', width: s.maxLen };
  for (const g of ['num', 'labels', 'extra'] as const)
    for (const k of Object.keys(c[g])) out[`${g}.${k}`] = { type: 'f32', width: 1 };
  for (const k of KEYS) if (c[k] !== undefined) out[k] = { type: 'i32', width: 1 };
  if (c.ts !== undefined) out['ts'] = { type: 'f64', width: 1 };
  return out;
}

/** A batch as the engine's flat columns (views, no copy). */
export function toColumnBatch(b: Batch): ColumnBatch {
  const cols: Record<string, Column> = {};
  for (const g of GROUPS) for (const [k, v] of Object.entries(b[g])) cols[`${g}.${k}`] = v;
  for (const [k, s] of Object.entries(b.seq)) cols[`seq.${k}`] = s.ids;
  for (const k of KEYS) {
    const v = b[k];
    if (v !== undefined) cols[k] = v;
  }
  if (b.ts !== undefined) cols['ts'] = b.ts;
  return { rows: b.size, cols };
}

/** The inverse of toColumnBatch for a layout from batchColumns (views, no copy). */
export function fromColumnBatch(cb: ColumnBatch, columns: Record<string, ColumnSpec>): Batch {
  const b: Batch = { size: cb.rows, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
  for (const [name, spec] of Object.entries(columns)) {
    const v = cb.cols[name]!;
    const dot = name.indexOf('.');
    if (dot < 0) {
      if (name === 'ts') b.ts = v as Float64Array;
      else b[name as (typeof KEYS)[number]] = v as Int32Array;
      continue;
    }
    const group = name.slice(0, dot);
    const key = name.slice(dot + 1);
    if (group === 'seq') b.seq[key] = { ids: v as Int32Array, maxLen: spec.width } satisfies SeqColumn;
    else if (group === 'cat') b.cat[key] = v as Int32Array;
    else b[group as 'num' | 'labels' | 'extra'][key] = v as Float32Array;
  }
  return b;
}

/** What a worker needs to rebuild rank 0's step; structured-cloneable. */
export interface DistillTrainableConfig {
  experiment: ExperimentConfig;
  schema: ReturnType<Schema['toJSON']>;
  ctx: ModelContext;
  /** The hint regressor's widths, measured by rank 0 (null without hint distillation). */
  hintWidths: { student: number; teacher: number } | null;
  columns: Record<string, ColumnSpec>;
}

/** The distillation step as a data-parallel Trainable; the logged terms are its aux values. */
export class DistillTrainable implements Trainable {
  private readonly values = new Float64Array(MAX_AUX);

  constructor(
    readonly store: ParamStore,
    readonly step: DistillStep,
    private readonly columns: Record<string, ColumnSpec>,
  ) {}

  /** The engine numbers steps from 1; the loop (λ schedules, messages) from 0. */
  loss(g: Graph, batch: ColumnBatch, step: number): Tensor {
    return this.step.loss(g, fromColumnBatch(batch, this.columns), step - 1);
  }

  auxValues(): Float64Array {
    const terms = this.step.terms;
    if (terms.length > MAX_AUX)
      throw new Error(`training logs ${terms.length} loss terms; data-parallel training supports ${MAX_AUX}`);
    for (let i = 0; i < terms.length; i++) this.values[i] = terms[i]!.loss.data[0]!;
    return this.values.subarray(0, terms.length);
  }
}

/** The factory every worker imports (parallel.ts): the models rebuilt from the config. */
export function createDistillTrainable(config: unknown): DistillTrainable {
  const c = config as DistillTrainableConfig;
  const cfg = c.experiment;
  const schema = Schema.fromJSON(c.schema);
  const built = buildModels(cfg, schema, new Rng(cfg.seed).fork('models'), c.ctx);
  const parts = assembleStep(cfg, built, new Rng(cfg.seed), c.hintWidths);
  return new DistillTrainable(parts.store, new DistillStep(cfg, parts), c.columns);
}

export function distillTrainableFactory(config: DistillTrainableConfig): FactoryRef {
  return { moduleUrl: import.meta.url, exportName: 'createDistillTrainable', config };
}
