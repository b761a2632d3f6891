/**
 * A model factory for the data-parallel failure tests (imported by worker threads by URL, so it
 * must not be a test file itself): dssm-ref-tiny whose WORKER ranks end their thread with
 * process.exit() when a batch's first label is 0.5 — a worker dying without an exception.
 */
import { isMainThread } from 'node:worker_threads';
import type { Graph } from '../../src/engine/graph.js';
import type { ColumnBatch, FactoryRef, Trainable } from '../../src/engine/parallel.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { DssmRef, type DssmRefConfig } from '../../src/models/dssmRef.js';

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
