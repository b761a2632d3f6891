/**
 * The library entry points behind `kdrec train`, `kdrec teacher train` and `kdrec teacher score`:
 * config → data → models → training loop → run directory; and a finished run → its trained models.
 */
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Batch, ColumnarDataset } from '../data/batch.js';
import type { LoadedDataset } from '../data/dataset.js';
import { PREPARED_KIND, parseDatasetSpec } from '../data/loaders/index.js';
import { openPrepared } from '../data/prepared.js';
import type { ShardSpec } from '../data/stream.js';
import { Rng } from '../engine/rng.js';
import type { ModelContext } from '../models/index.js';
import { type ExperimentConfig, parseConfig } from '../run/config.js';
import { loadConfigDataset } from '../run/dataset.js';
import { loadRun } from '../run/loadRun.js';
import { buildModels } from '../run/models.js';
import { newRunDir, readRunConfig } from '../run/runDir.js';
import { type PreparedRunData, prepareRunData, type SampleKind, samplesOf } from './data.js';
import type { DistillStep, StepParts } from './distillStep.js';
import { accumulatingRunner } from './distributed.js';
import { scoreTeacher, writeStreamedTeacherScores, writeTeacherScores } from './teacherScores.js';
import {
  type AucFn,
  type DistributedTraining,
  type EvalRecord,
  type TrainProgress,
  type TrainResult,
  trainAsync,
} from './trainer.js';

export interface RunOptions {
  /** Run directory; default `<config.outDir>/<config.name>-<UTC timestamp>`. */
  runDir?: string;
  /** Write no run directory at all (library use, tests). */
  noRunDir?: boolean;
  resume?: boolean;
  /** The config file, copied into the run directory as written. */
  configFile?: string;
  teacherScores?: string;
  /** An already loaded dataset (the experiment runner loads once for many runs). */
  dataset?: LoadedDataset;
  auc?: AucFn;
  /** Train on shard i of n of the training split. */
  shard?: ShardSpec;
  /**
   * Read the global batches of an N-rank job in this process (TrainData.interleave) and compute
   * each step as the N ranks do, summing their gradients in rank order (distributed.ts
   * `accumulatingRunner`); with `interleaveConcat`, as one batch of B rows instead.
   */
  interleave?: number;
  interleaveConcat?: boolean;
  /** This process is a rank of a distributed job (src/train/distributed.ts `mpiTraining`). */
  distributed?: DistributedTraining;
  /** Sees each training batch before its step runs (the sample trace of `KDREC_TRACE_SAMPLES`). */
  onBatch?: (step: number, batch: Batch) => void;
  onProgress?: (p: TrainProgress) => void;
  onEval?: (r: EvalRecord) => void;
  log?: (msg: string) => void;
}

export interface RunResult extends TrainResult {
  prepared: PreparedRunData;
  runDir: string | null;
}

/** `kdrec teacher train`: the same config, training only its teacher (on exposures). */
export function teacherOnly(cfg: ExperimentConfig): ExperimentConfig {
  if (cfg.teacher === undefined) throw new Error("teacher: the config has no 'teacher' block to train");
  return parseConfig({
    ...cfg,
    mode: 'teacher',
    name: `${cfg.name}-teacher`,
    distill: [],
    hint: undefined,
    rankDistill: undefined,
  });
}

/**
 * The config with its dataset path made absolute, so the copy in the run directory still finds the
 * data when `kdrec teacher score --run RUN` runs from another working directory.
 */
export function withAbsoluteDataset(cfg: ExperimentConfig): ExperimentConfig {
  const spec = parseDatasetSpec(cfg.dataset.spec);
  if (spec.path === undefined) return cfg;
  return { ...cfg, dataset: { ...cfg.dataset, spec: `${spec.kind}:${spec.path}` } };
}

export async function runFromConfig(cfg: ExperimentConfig, opts: RunOptions = {}): Promise<RunResult> {
  cfg = withAbsoluteDataset(cfg);
  const prepared = await prepareRunData(cfg, {
    teacherScores: opts.teacherScores,
    log: opts.log,
    dataset: opts.dataset,
    ...(opts.shard !== undefined ? { shard: opts.shard } : {}),
  });
  try {
    return await trainPrepared(cfg, prepared, opts);
  } finally {
    // The run's sources are closed with it (a streamed dataset holds a DuckDB instance open).
    await prepared.close();
  }
}

async function trainPrepared(
  cfg: ExperimentConfig,
  prepared: PreparedRunData,
  opts: RunOptions,
): Promise<RunResult> {
  const modelContext: ModelContext = { labels: prepared.dataset.labels };
  const models = buildModels(cfg, prepared.dataset.schema, new Rng(cfg.seed).fork('models'), modelContext);
  const runDir = opts.noRunDir ? null : (opts.runDir ?? newRunDir(cfg.outDir, cfg.name));
  const configSource =
    opts.configFile !== undefined
      ? { text: readFileSync(opts.configFile, 'utf8'), ext: extname(opts.configFile) }
      : undefined;
  const res = await trainAsync({
    config: cfg,
    data: opts.interleave !== undefined ? { ...prepared.data, interleave: opts.interleave } : prepared.data,
    ...(opts.distributed !== undefined ? { distributed: opts.distributed } : {}),
    ...(opts.interleave !== undefined && opts.interleave > 1 && !opts.interleaveConcat
      ? {
          stepRunner: (parts: StepParts, step: DistillStep, c: ExperimentConfig) =>
            accumulatingRunner(parts, step, c, c.seed, opts.interleave!),
        }
      : {}),
    ...(opts.onBatch !== undefined ? { onBatch: opts.onBatch } : {}),
    models: { teacher: models.teacher, student: models.student },
    modelContext,
    ...(runDir !== null ? { runDir } : {}),
    ...(configSource !== undefined ? { configSource } : {}),
    resume: opts.resume ?? false,
    ...(opts.auc !== undefined ? { auc: opts.auc } : {}),
    ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
    ...(opts.onEval !== undefined ? { onEval: opts.onEval } : {}),
  });
  return { ...res, prepared, runDir };
}

/**
 * `kdrec teacher score` on a streamed prepared dataset: the run's teacher scores shard i of n of
 * the training split into OUT/part-I-of-N.parquet (run it once per shard, e.g. once per MPI rank).
 */
export async function teacherScoreStreamedRun(
  runDir: string,
  opts: { out: string; shard?: ShardSpec },
): Promise<{ rows: number; file: string; columns: string[] }> {
  const cfg = parseConfig(readRunConfig(runDir), join(runDir, 'config.json'));
  const spec = parseDatasetSpec(cfg.dataset.spec);
  if (spec.kind !== PREPARED_KIND)
    throw new Error(`${runDir}: its dataset ${cfg.dataset.spec} is not a prepared one`);
  const prep = await openPrepared(spec.path!);
  try {
    const run = loadRun(runDir, prep.schema, { labels: prep.labels });
    if (run.teacher === null)
      throw new Error(`${runDir}: mode '${run.config.mode}' has no trained teacher to score with`);
    return await writeStreamedTeacherScores({
      teacher: run.teacher,
      source: prep.splits.train,
      out: opts.out,
      shard: opts.shard ?? { index: 0, count: 1 },
    });
  } finally {
    await prep.close();
  }
}

function requireKey(k: Int32Array | undefined, name: string): Int32Array {
  if (k === undefined) throw new Error(`teacher score: the validation samples carry no ${name}`);
  return k;
}

export interface TeacherScoreResult {
  /** Rows scored (the training split's samples, which the student run will rebuild). */
  rows: number;
  columns: string[];
  /** Teacher logits (main output) and labels on the VALIDATION split's samples, for diagnostics. */
  diagnostic: {
    logits: Float32Array;
    labels: Float32Array;
    isRandomNegative: Uint8Array;
    userKey: Int32Array;
    itemKey: Int32Array;
    output: string;
    label: string;
  };
  samples: SampleKind;
}

/**
 * `kdrec teacher score`: scores the student's sample set of the training split with the run's
 * teacher and writes the logits file; also scores the validation split's samples so the caller can
 * report the teacher's AUC and calibration on random negatives it never saw as exposures.
 */
export async function teacherScoreRun(
  runDir: string,
  opts: { samples: SampleKind; out: string; dataset?: LoadedDataset; log?: (msg: string) => void },
): Promise<TeacherScoreResult> {
  const raw = parseConfig(readRunConfig(runDir), join(runDir, 'config.json'));
  const dataset = opts.dataset ?? (await loadConfigDataset(raw, opts.log));
  const run = loadRun(runDir, dataset.schema, { labels: dataset.labels });
  if (run.teacher === null)
    throw new Error(`${runDir}: mode '${run.config.mode}' has no trained teacher to score with`);
  const cfg = run.config;
  const limit = (d: ColumnarDataset, max: number | undefined) =>
    max === undefined || d.size <= max ? d : d.select(Int32Array.from({ length: max }, (_, i) => i));
  const trainSamples = limit(samplesOf(dataset, cfg, opts.samples, 'train'), cfg.dataset.maxTrainRows);
  const logits = await scoreTeacher(run.teacher, trainSamples);
  writeTeacherScores(opts.out, trainSamples, logits, {
    teacher_run: runDir,
    samples: opts.samples,
    dataset: cfg.dataset.spec,
    seed: String(cfg.seed),
    negatives: String(cfg.dataset.negatives),
  });
  const validSamples = limit(samplesOf(dataset, cfg, opts.samples, 'valid'), cfg.dataset.maxValidRows);
  const main = Object.keys(run.teacher.supervised)[0] ?? run.teacher.outputNames[0]!;
  const label = run.teacher.supervised[main] ?? dataset.labels.click;
  const vLogits = (await scoreTeacher(run.teacher, validSamples))[main]!;
  const labels = validSamples.columns.labels[label];
  if (labels === undefined) throw new Error(`validation samples have no label '${label}'`);
  // In recall samples each positive row is followed by its negatives; negatives carry label 0 for
  // every label and were drawn from the catalogue, not from the log.
  const isRandomNegative = new Uint8Array(validSamples.size);
  if (opts.samples === 'recall') {
    const click = validSamples.columns.labels[dataset.labels.click]!;
    for (let i = 0; i < click.length; i++) isRandomNegative[i] = click[i] === 0 ? 1 : 0;
  }
  return {
    rows: trainSamples.size,
    columns: Object.keys(logits).map((o) => `teacher_${o}`),
    diagnostic: {
      logits: vLogits,
      labels,
      isRandomNegative,
      userKey: requireKey(validSamples.columns.userKey, 'userKey'),
      itemKey: requireKey(validSamples.columns.itemKey, 'itemKey'),
      output: main,
      label,
    },
    samples: opts.samples,
  };
}
