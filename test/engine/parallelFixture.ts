/**
 * Model factories for the data-parallel tests (imported by worker threads by URL, so this must not
 * be a test file itself): dssm-ref-tiny whose WORKER ranks end their thread with process.exit()
 * when a batch's first label is 0.5 — a worker dying without an exception; and dssm-ref-tiny
 * reporting auxiliary values (the mean of a Float64 column, the step number) to check that
 * f64 columns reach the workers and aux values are combined like the loss.
 */
import { isMainThread } from 'node:worker_threads';
import type { Graph } from '../../src/engine/graph.js';
import type { ColumnBatch, ColumnSpec, FactoryRef, Trainable } from '../../src/engine/parallel.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { DssmRef, type DssmRefConfig, dssmRefColumns } from '../../src/models/dssmRef.js';

export const EXIT_LABEL = 0.5;

class ExitingDssm extends DssmRef {
  override loss(g: Graph, batch: ColumnBatch): Tensor {
    if (!isMainThread && (batch.cols['label'] as Float32Array)[0] === EXIT_LABEL) process.exit(3);
    return super.loss(g, batch);
  }
}

export function createExitingDssm(config: unknown): Trainable {
  return new ExitingDssm(config as DssmRefConfig);
}

export function exitingDssmFactory(config: DssmRefConfig): FactoryRef {
  return { moduleUrl: import.meta.url, exportName: 'createExitingDssm', config };
}

class AuxDssm extends DssmRef {
  private readonly values = new Float64Array(2);
  override loss(g: Graph, batch: ColumnBatch, step = 0): Tensor {
    const ts = batch.cols['ts'] as Float64Array;
    let sum = 0;
    for (let i = 0; i < batch.rows; i++) sum += ts[i]!;
    this.values[0] = sum / batch.rows;
    this.values[1] = step;
    return super.loss(g, batch);
  }
  auxValues(): Float64Array {
    return this.values;
  }
}

export function createAuxDssm(config: unknown): Trainable {
  return new AuxDssm(config as DssmRefConfig);
}

export function auxDssmFactory(config: DssmRefConfig): FactoryRef {
  return { moduleUrl: import.meta.url, exportName: 'createAuxDssm', config };
}

export function auxDssmColumns(config: DssmRefConfig): Record<string, ColumnSpec> {
  return { ...dssmRefColumns(config), ts: { type: 'f64', width: 1 } };
}
