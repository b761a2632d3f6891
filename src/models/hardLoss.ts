/**
 * Hard-label losses of the models: binary cross-entropy on logits against a label column of the
 * batch, one term per supervised output. Models own this mapping (which output learns from which
 * label) because it is part of the model's definition — ESMM's, for instance, supervises `ctr`
 * and `ctcvr` but never `cvr` (see mmoeEsmm.ts).
 */
import type { Batch } from '../data/batch.js';
import type { Graph } from '../engine/graph.js';
import type { Tensor } from '../engine/tensor.js';
import type { ModelOutput } from './types.js';

export interface HardLoss {
  /** Sum of the terms. */
  total: Tensor;
  /** One [1] loss per supervised output, keyed `hard.<output>` for progress and metrics. */
  terms: Record<string, Tensor>;
}

/** The label column `name` of a batch, or an error naming the consumer and the labels present. */
export function labelColumn(batch: Batch, name: string, consumer: string): Float32Array {
  const col = batch.labels[name];
  if (col === undefined) {
    throw new Error(
      `${consumer}: batch has no label column '${name}' (labels present: ${Object.keys(batch.labels).join(', ') || 'none'})`,
    );
  }
  if (col.length !== batch.size) {
    throw new Error(
      `${consumer}: label column '${name}' has ${col.length} values for a batch of ${batch.size} rows`,
    );
  }
  return col;
}

/** Σ over `supervised` (output → label) of BCE-with-logits(out.logits[output], batch.labels[label]). */
export function bceHardLoss(
  g: Graph,
  out: ModelOutput,
  batch: Batch,
  supervised: Readonly<Record<string, string>>,
  consumer: string,
  weights?: Float32Array,
): HardLoss {
  const terms: Record<string, Tensor> = {};
  let total: Tensor | null = null;
  for (const [output, label] of Object.entries(supervised)) {
    const logits = out.logits[output];
    if (logits === undefined)
      throw new Error(`${consumer}: no output '${output}' to supervise with label '${label}'`);
    const t = g.bceWithLogits(logits, labelColumn(batch, label, consumer), weights);
    terms[`hard.${output}`] = t;
    total = total === null ? t : g.add(total, t);
  }
  if (total === null) throw new Error(`${consumer}: no supervised outputs`);
  return { total, terms };
}
