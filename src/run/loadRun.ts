/**
 * A finished run's models with their trained weights: what export, serving-side tools and the
 * evaluators need from a run directory, without the training loop.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Schema } from '../data/schema.js';
import { loadCheckpoint } from '../engine/checkpoint.js';
import { Rng } from '../engine/rng.js';
import type { ModelContext } from '../models/index.js';
import type { Model } from '../models/types.js';
import { type ExperimentConfig, parseConfig } from './config.js';
import { buildModels, combinedStore } from './models.js';
import { latestCheckpoint, readRunConfig, runPaths } from './runDir.js';

export interface LoadedRun {
  config: ExperimentConfig;
  teacher: Model | null;
  student: Model | null;
  /** The checkpoint the weights came from. */
  checkpoint: string;
}

/**
 * Rebuilds a finished run's models and loads its selected weights (`best.safetensors`, else the
 * latest checkpoint). The schema must be the one the run trained with (same dataset and split):
 * a mismatch in any table or layer shape is refused by the checkpoint loader, naming the tensor.
 */
export function loadRun(runDir: string, schema: Schema, ctx: ModelContext = {}): LoadedRun {
  const config = parseConfig(readRunConfig(runDir), join(runDir, 'config.json'));
  const models = buildModels(config, schema, new Rng(config.seed).fork('models'), ctx);
  const paths = runPaths(runDir);
  const best = join(runDir, 'best.safetensors');
  const ckpt = existsSync(best) ? best : latestCheckpoint(paths)?.path;
  if (ckpt === undefined) throw new Error(`${runDir}: no best.safetensors and no checkpoint to load`);
  // The checkpoint holds what the run trained: in mode teacher only the teacher, and so on.
  const trained = [
    config.mode === 'student' || config.mode === 'two-stage' ? null : models.teacher,
    config.mode === 'teacher' ? null : models.student,
  ];
  const store = combinedStore(trained);
  // Only the models' weights are wanted: optimiser and RNG state, and training-only parameters
  // (the hint regressor), stay in the file. Every model tensor must still match.
  loadCheckpoint(
    ckpt,
    store,
    {},
    {},
    { weightsOnly: true, ignore: (name) => name.startsWith('param/hint.') },
  );
  return {
    config,
    teacher: trained[0] ?? null,
    student: trained[1] ?? null,
    checkpoint: ckpt,
  };
}
