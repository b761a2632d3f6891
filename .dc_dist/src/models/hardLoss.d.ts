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
export declare function labelColumn(batch: Batch, name: string, consumer: string): Float32Array;
/** Σ over `supervised` (output → label) of BCE-with-logits(out.logits[output], batch.labels[label]). */
export declare function bceHardLoss(g: Graph, out: ModelOutput, batch: Batch, supervised: Readonly<Record<string, string>>, consumer: string, weights?: Float32Array): HardLoss;
