/**
 * The training loops: one model on hard labels (`teacher`, `student`), teacher and student together
 * on the same batches (`joint`, `pfd`, `pfd-md`, `dmtl`), and a student against precomputed teacher
 * logit columns (`two-stage`, after `kdrec teacher score`).
 *
 * A step's loss is distillStep.ts's L (hard losses plus λ-weighted distillation terms). The teacher
 * side of every distillation term is detached, so ∂L/∂θ_teacher comes from the teacher's own hard
 * loss only (and through embedding tables shared on purpose, from the student's use of them). One
 * backward pass over the summed loss, then one optimiser step over the union of both models'
 * parameters — on this thread (`train`), or with `threads: N` on N data-parallel ranks
 * (`trainAsync`, dataParallel.ts), which only the step itself differs between.
 *
 * The loop is synchronous and silent: progress and eval records go to callbacks (the CLI draws the
 * bar), so the library can train inside tests and the experiment runner. Validation AUC is computed
 * by a scorer passed in (`TrainOptions.auc`), because metrics live in src/eval, which imports train.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type Batch, ColumnarDataset } from '../data/batch.js';
import type { LoadedDataset } from '../data/dataset.js';
import type { Schema } from '../data/schema.js';
import { type BatchSource, MemorySource, type ShardSpec, shardRows } from '../data/stream.js';
import { COLUMN_PREFIX, type KdTermSpec } from '../distill/kdTerms.js';
import { type LambdaSchedule, warmupEndStep } from '../distill/lambdaSchedule.js';
import { RankDistiller } from '../distill/rankDistiller.js';
import type { RankLists } from '../distill/rankLists.js';
import { loadCheckpoint, saveCheckpoint } from '../engine/checkpoint.js';
import type { EmbeddingTable } from '../engine/embedding.js';
import { Graph } from '../engine/graph.js';
import type { ParamStore } from '../engine/nn.js';
import {
  Adagrad,
  Adam,
  AdamW,
  clipGradNorm,
  type Optimizer,
  SparseAdagrad,
  SparseAdam,
} from '../engine/optim.js';
import { ParallelTrainer } from '../engine/parallel.js';
import { Rng } from '../engine/rng.js';
import type { ModelContext } from '../models/index.js';
import type { Model } from '../models/types.js';
import type { ExperimentConfig, Mode } from '../run/config.js';
import {
  appendMetrics,
  checkpointPath,
  initRunDir,
  latestCheckpoint,
  listCheckpoints,
  type RunPaths,
  readMetrics,
  runPaths,
  writeJsonAtomic,
} from '../run/runDir.js';
import { batchColumns, DistillTrainable, distillTrainableFactory, toColumnBatch } from './dataParallel.js';
import { assembleStep, DistillStep, modeRoles, type StepParts, stepLambda } from './distillStep.js';
import {
  interleavedStream,
  type RankCollectives,
  rankStream,
  type StreamState,
  singleStream,
  type TrainStream,
} from './trainStream.js';

/** The data a run trains on: a fitted schema and batch sources (in memory or streamed from Parquet). */
export interface TrainData {
  /** Fitted on the train split (table sizes, numeric stats). */
  schema: Schema;
  train: ColumnarDataset | BatchSource;
  valid?: ColumnarDataset | BatchSource;
  /**
   * Rows of the training shuffle buffer (src/data/stream.ts): Infinity (the default) shuffles the
   * whole training set each epoch; a streamed source shuffles windows of this many rows.
   */
  shuffleBuffer?: number;
  /** Train on shard i of n of the training source (a distributed rank's part). */
  shard?: ShardSpec;
  /**
   * Read the global batches of an N-rank job in this one process (`interleavedStream`): batch t is
   * batch t of each of the N shards, batchSize / N rows each. The single-process reference a
   * distributed run must equal.
   */
  interleave?: number;
  /** Validate on at most this many rows (the first ones, in file order). */
  maxValidRows?: number;
  /** The loaded dataset (catalogue, window features): needed by rank distillation to build list rows. */
  dataset?: LoadedDataset;
  /** Lists read from `rankDistill.lists.file` (by prepareRunData), when the config names one. */
  rankLists?: RankLists;
}

/** (labels, scores) → AUC; pass `auc` from src/eval/metrics/auc.ts. */
export type AucFn = (labels: Float32Array, scores: Float32Array) => number;

export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  lambda: number;
  samplesPerSec: number;
  etaSeconds: number;
  /** Latest value of each loss term (with its config weight, before the λ / objective factor), plus `total`. */
  losses: Record<string, number>;
}

/** Validation of one model output: AUC (when a scorer was given) and log loss. */
export interface OutputMetrics {
  label: string;
  auc?: number;
  logloss: number;
  rows: number;
}

/** One line of metrics.jsonl. */
export interface EvalRecord {
  step: number;
  epoch: number;
  lambda: number;
  /** Mean of each training loss term since the previous eval record. */
  train: Record<string, number>;
  valid: { teacher?: Record<string, OutputMetrics>; student?: Record<string, OutputMetrics> };
  /** False while the λ warm-up has not ended (such steps are not selectable unless configured). */
  selectable: boolean;
  elapsedSeconds: number;
}

export interface FinalSummary {
  mode: Mode;
  steps: number;
  /** Step this session started from (0, or the checkpoint resumed); samplesPerSec and wallSeconds cover this session. */
  resumedFrom: number;
  warmupEndStep: number;
  /** Eval step whose weights the returned models hold (the best selectable one), or null without validation. */
  selectedStep: number | null;
  selectedMetric: string;
  selected: EvalRecord | null;
  /** The teacher's validation AUC at the selected step is more than 1% below its best: the student learnt from an under-fit teacher. */
  teacherUnderfitAtSelection: boolean | null;
  last: EvalRecord | null;
  samplesPerSec: number;
  wallSeconds: number;
  /** Seconds of this session spent validating (inside wallSeconds). */
  evalSeconds: number;
  /** Training samples per second outside validation: the rate of the training steps and their data. */
  trainSamplesPerSec: number;
  /** Peak resident set size of the process so far (process.resourceUsage().maxRSS), bytes. */
  peakRssBytes: number;
  /** Trained parameters (dense weights and embedding rows, every model the step updates). */
  parameters: number;
  /** Data-parallel threads the session trained on. */
  threads: number;
  /** MPI ranks of the job (1 for a single process). */
  ranks: number;
  /** A distributed job's communication figures (DistributedTraining.summary), rank 0's view. */
  distributed?: Record<string, number>;
  runDir: string | null;
}

export interface TrainOptions {
  config: ExperimentConfig;
  data: TrainData;
  /** Run directory to write (config copy, checkpoints, metrics.jsonl, final.json); none when absent. */
  runDir?: string;
  /** The config file as written, copied into the run directory. */
  configSource?: { text: string; ext: string };
  /** Continue from the latest checkpoint in runDir. */
  resume?: boolean;
  auc?: AucFn;
  onProgress?: (p: TrainProgress) => void;
  onEval?: (r: EvalRecord) => void;
  /**
   * The models, built from the config by `buildModels` (./models.ts) or loaded (a trained teacher).
   * `teacher` may be null in modes without a live teacher.
   */
  models: { teacher: Model | null; student: Model | null };
  /** The context `models` were built with; data-parallel workers rebuild them with it. */
  modelContext?: ModelContext;
  /** Called with each training batch before its step (0-based) runs; the batch is only valid during the call. */
  onBatch?: (step: number, batch: Batch) => void;
  /**
   * Rank of a distributed (MPI) job (src/train/distributed.ts): this process reads its shard and
   * steps through the job's collectives; only rank 0 writes the run directory and validates.
   */
  distributed?: DistributedTraining;
  /**
   * A step runner to use instead of the single-thread one (src/train/distributed.ts
   * `accumulatingRunner`: the single-process reference of an N-rank job).
   */
  stepRunner?: (parts: StepParts, step: DistillStep, cfg: ExperimentConfig) => StepRunner;
}

/** What the loop needs of a distributed job; built by src/train/distributed.ts. */
export interface DistributedTraining {
  collectives: RankCollectives;
  /** The step runner of this rank (gradient exchange over MPI). */
  runner(parts: StepParts, step: DistillStep, cfg: ExperimentConfig): StepRunner;
  /**
   * Called on every rank after the last step, before anything else (a collective): checks that the
   * ranks ended with the same parameters.
   */
  finish?(): void;
  /** What final.json records of the job's communication (e.g. mean bytes sent per step, by kind). */
  summary?(): Record<string, number>;
  /**
   * A collective called by every rank at the same steps, before rank 0 validates or writes a
   * checkpoint: brings rank 0's model up to date (row-sharded tables are assembled there), with the
   * optimiser state too when `withOptimizerState` (a checkpoint will be written).
   */
  sync?(withOptimizerState: boolean): void;
}

export interface TrainResult {
  teacher: Model | null;
  student: Model | null;
  history: EvalRecord[];
  final: FinalSummary;
}

export { modeRoles } from './distillStep.js';

/** Dense optimiser over the parameters, lazy sparse one over the tables, as the config says. */
export function buildOptimizers(
  store: ParamStore,
  cfg: ExperimentConfig['optimizer'],
  tables: EmbeddingTable[] = store.tables(),
): Record<string, Optimizer> {
  const params = store.params();
  const dense: Optimizer =
    cfg.dense === 'adagrad'
      ? new Adagrad(params, { lr: cfg.lr })
      : cfg.dense === 'adamw'
        ? new AdamW(params, { lr: cfg.lr, weightDecay: cfg.weightDecay })
        : new Adam(params, { lr: cfg.lr });
  const sparseLr = cfg.sparseLr ?? cfg.lr;
  const sparse: Optimizer =
    cfg.sparse === 'sparse_adagrad'
      ? new SparseAdagrad(tables, { lr: sparseLr })
      : new SparseAdam(tables, { lr: sparseLr });
  return { dense, sparse };
}

/**
 * Which (output, label) pairs validation scores per model. A student without hard labels (DMTL) is
 * scored on the label its distillation target is trained on (student ctr vs the ctcvr label when
 * it distils the teacher's ctcvr).
 */
export function evalPairs(
  supervised: Readonly<Record<string, string>>,
  kd: readonly KdTermSpec[],
  teacherLabels: Readonly<Record<string, string>>,
): Record<string, string> {
  if (Object.keys(supervised).length > 0) return { ...supervised };
  const out: Record<string, string> = {};
  for (const t of kd) {
    if (t.target.startsWith(COLUMN_PREFIX)) continue;
    const label = teacherLabels[t.target];
    if (label !== undefined && out[t.pred] === undefined) out[t.pred] = label;
  }
  return out;
}

interface Snapshot {
  step: number;
  data: Float32Array[];
}

function snapshot(store: ParamStore, step: number): Snapshot {
  return {
    step,
    data: [...store.params().map((p) => p.data.slice()), ...store.tables().map((t) => t.weight.data.slice())],
  };
}

function restore(store: ParamStore, s: Snapshot): void {
  const targets = [...store.params().map((p) => p.data), ...store.tables().map((t) => t.weight.data)];
  targets.forEach((d, i) => {
    d.set(s.data[i]!);
  });
}

/** A batch source over `d` (an in-memory dataset is a `MemorySource`). */
export function asSource(d: ColumnarDataset | BatchSource, name = 'dataset'): BatchSource {
  return d instanceof ColumnarDataset ? new MemorySource(d, name) : d;
}

export interface PredictOptions {
  batchSize?: number;
  shard?: ShardSpec;
  /** Score only the first `limit` rows (file order). */
  limit?: number;
  /** Sees every scored batch (its first `rows` rows were scored) before the next one is read. */
  onBatch?: (batch: Batch, rows: number, offset: number) => void;
  /**
   * Called before `onBatch` with the batch's logits (valid during the call). With it the scores are
   * not kept: the result holds empty arrays, so scoring a split of any size takes no memory per row.
   */
  onLogits?: (logits: Record<string, Float32Array>) => void;
}

/** Scores a model's outputs over a source in file order (no gradients). */
export async function predictLogits(
  model: Model,
  data: ColumnarDataset | BatchSource,
  outputs: readonly string[],
  opts: PredictOptions = {},
): Promise<Record<string, Float32Array>> {
  const source = asSource(data);
  const rows = Math.min(shardRows(source, opts.shard), opts.limit ?? Number.POSITIVE_INFINITY);
  const res: Record<string, Float32Array> = {};
  const keep = opts.onLogits === undefined;
  for (const o of outputs) {
    if (!model.outputNames.includes(o)) {
      throw new Error(`${model.name} has no output '${o}' (outputs: ${model.outputNames.join(', ')})`);
    }
    res[o] = new Float32Array(keep ? rows : 0);
  }
  const g = new Graph({ training: false });
  let offset = 0;
  const reader = source.open({
    batchSize: opts.batchSize ?? 4096,
    ...(opts.shard ? { shard: opts.shard } : {}),
  });
  try {
    while (offset < rows) {
      const nx = await reader.next();
      if (nx.done) break;
      const batch = nx.value;
      const n = Math.min(batch.size, rows - offset);
      g.reset();
      const out = model.forward(g, batch);
      if (keep) for (const o of outputs) res[o]!.set(out.logits[o]!.data.subarray(0, n), offset);
      else opts.onLogits!(Object.fromEntries(outputs.map((o) => [o, out.logits[o]!.data.subarray(0, n)])));
      opts.onBatch?.(batch, n, offset);
      offset += n;
    }
  } finally {
    await reader.close();
  }
  if (offset !== rows) throw new Error(`${source.name}: scored ${offset} rows, expected ${rows}`);
  return res;
}

async function validate(
  model: Model,
  pairs: Record<string, string>,
  data: BatchSource,
  auc: AucFn | undefined,
  batchSize: number,
  limit: number | undefined,
): Promise<Record<string, OutputMetrics>> {
  const outputs = Object.keys(pairs);
  const labelNames = [...new Set(Object.values(pairs))];
  for (const l of labelNames)
    if (data.layout.labels[l] === undefined) throw new Error(`validation data has no label column '${l}'`);
  const rows = Math.min(data.rows, limit ?? Number.POSITIVE_INFINITY);
  const labels = Object.fromEntries(labelNames.map((l) => [l, new Float32Array(rows)]));
  const logits = await predictLogits(model, data, outputs, {
    batchSize,
    ...(limit !== undefined ? { limit } : {}),
    onBatch: (b, n, at) => {
      for (const l of labelNames) labels[l]!.set(b.labels[l]!.subarray(0, n), at);
    },
  });
  const res: Record<string, OutputMetrics> = {};
  for (const o of outputs) {
    const label = pairs[o]!;
    const y = labels[label]!;
    const s = logits[o]!;
    // Log loss from logits, stable form: log(1 + e^{-|s|}) + max(s, 0) − y·s.
    let ll = 0;
    for (let i = 0; i < s.length; i++) {
      const z = s[i]!;
      ll += Math.log1p(Math.exp(-Math.abs(z))) + Math.max(z, 0) - y[i]! * z;
    }
    const m: OutputMetrics = { label, logloss: ll / Math.max(1, s.length), rows: s.length };
    // AUC needs both classes; a validation slice without positives (or negatives) reports log loss only.
    let pos = 0;
    for (let i = 0; i < y.length; i++) pos += y[i]! > 0 ? 1 : 0;
    if (auc !== undefined && pos > 0 && pos < y.length) m.auc = auc(y, s);
    res[o] = m;
  }
  return res;
}

/** The selection score of a record (higher is better); null when the record has no such metric. */
function selectionScore(r: EvalRecord, role: 'teacher' | 'student', metric: 'auc' | 'loss'): number | null {
  const m = r.valid[role];
  if (m === undefined) return null;
  const first = Object.values(m)[0];
  if (first === undefined) return null;
  if (metric === 'auc') return first.auc ?? null;
  return -first.logloss;
}

/** One training step on a batch: by this thread, or by N data-parallel ranks. */
export interface StepRunner {
  readonly optimizers: Record<string, Optimizer>;
  /** RNG streams a checkpoint holds so that a resumed run continues bit-exactly. */
  readonly rngs: Record<string, Rng>;
  /**
   * Forward, backward and update at (0-based) step `step`; returns the total loss. `partRows`: the
   * rows of each shard the batch concatenates (an interleaved stream's), for runners that need them.
   */
  run(batch: Batch, step: number, partRows?: readonly number[]): number;
  /** The named terms of the last step, with their values (combined over the shards). */
  terms(): { name: string; value: number }[];
  /** Rows the last step trained on over all processes (a rank's batch is only its part). */
  rows?(): number;
  /** After a checkpoint of step `step` has been loaded. */
  resumedAt(step: number): void;
  close(): Promise<void>;
}

/** What the loop needs besides the runner: the step's models and loss, and the dropout stream. */
interface Prepared {
  parts: StepParts;
  step: DistillStep;
  dropoutRng: Rng;
  graph: Graph;
}

async function prepare(opts: TrainOptions): Promise<Prepared> {
  const cfg = opts.config;
  const rootRng = new Rng(cfg.seed);
  const dropoutRng = rootRng.fork('dropout');
  const graph = new Graph({ training: true, rng: dropoutRng });
  // The first rows of the training source, for the one forward pass that sizes a hint regressor.
  const probeReader = asSource(opts.data.train).open({ batchSize: 2 });
  const first = await probeReader.next();
  const probe = first.done ? null : structuredCloneBatch(first.value);
  await probeReader.close();
  if (probe === null) throw new Error('the training split is empty');
  const parts = assembleStep(cfg, opts.models, rootRng, { probe, g: graph });
  // Rank distillation ranks candidates with the given teacher (co-trained in joint modes, frozen
  // otherwise) unless its lists come from a file; it never runs the teacher on the training batch.
  let rank: RankDistiller | null = null;
  if (cfg.rankDistill !== undefined && parts.student !== null) {
    if (cfg.threads > 1) {
      throw new Error(
        `threads: ${cfg.threads} — rankDistill runs on one thread (its candidate lists are drawn from the ` +
          'whole dataset each step, not from the batch the ranks share); set threads: 1',
      );
    }
    if (opts.distributed !== undefined || opts.stepRunner !== undefined) {
      throw new Error(
        'rankDistill runs in one process (its candidate lists are drawn from the whole dataset each step, ' +
          'not from the rank’s shard): train it without mpirun and without --interleave',
      );
    }
    if (opts.data.dataset === undefined) {
      throw new Error('rankDistill: TrainData.dataset (the loaded dataset) is required to build list rows');
    }
    rank = new RankDistiller(
      cfg.rankDistill,
      opts.data.dataset,
      opts.data.dataset.splits.train,
      rootRng.fork('rank'),
      opts.data.rankLists ?? null,
    );
  }
  if (cfg.threads > 1 && parts.teacher !== null && !parts.teacherTrains) {
    // The ranks rebuild the models from the config, which would not give them a loaded teacher.
    throw new Error(
      `threads: ${cfg.threads} — a frozen teacher (mode '${cfg.mode}') runs on one thread only; set threads: 1`,
    );
  }
  const step = new DistillStep(
    cfg,
    parts,
    rank !== null ? { distiller: rank, teacher: opts.models.teacher } : null,
  );
  return { parts, step, dropoutRng, graph };
}

function singleThreadRunner(p: Prepared, cfg: ExperimentConfig): StepRunner {
  const { store, teacher, teacherTrains } = p.parts;
  const optimizers = buildOptimizers(store, cfg.optimizer);
  const g = p.graph;
  return {
    optimizers,
    rngs: { dropout: p.dropoutRng },
    run(batch, step) {
      g.reset();
      const total = p.step.loss(g, batch, step);
      g.backward(total);
      if (cfg.optimizer.clipNorm > 0) clipGradNorm(store.params(), store.tables(), cfg.optimizer.clipNorm);
      optimizers['dense']!.step();
      optimizers['sparse']!.step();
      // Tables of a live-but-frozen teacher (two-stage with a live teacher never happens; a loaded
      // teacher in a student-only mode might) accumulate sparse grads through lookups: clear them.
      if (!teacherTrains && teacher !== null) teacher.store.zeroGrad();
      return total.data[0]!;
    },
    terms: () => p.step.terms.map((t) => ({ name: t.name, value: t.loss.data[0]! })),
    resumedAt: () => {},
    close: async () => {},
  };
}

async function parallelRunner(p: Prepared, opts: TrainOptions): Promise<StepRunner> {
  const cfg = opts.config;
  if (opts.modelContext === undefined) {
    // Without it the workers could build models that differ from rank 0's in more than their
    // weights (which label an output learns from, say) while every shape still matches.
    throw new Error(
      `threads: ${cfg.threads} — trainAsync needs TrainOptions.modelContext, the context the models were built with`,
    );
  }
  const columns = batchColumns(asSource(opts.data.train).layout);
  const pt = await ParallelTrainer.create({
    factory: distillTrainableFactory({
      experiment: cfg,
      schema: opts.data.schema.toJSON(),
      ctx: opts.modelContext,
      hintWidths: p.parts.hintWidths,
      columns,
    }),
    model: new DistillTrainable(p.parts.store, p.step, columns),
    threads: cfg.threads,
    columns,
    maxRows: cfg.batchSize,
    makeOptimizers: (store) => buildOptimizers(store, cfg.optimizer),
    seed: cfg.seed,
    ...(cfg.optimizer.clipNorm > 0 ? { maxGradNorm: cfg.optimizer.clipNorm } : {}),
  });
  return {
    optimizers: pt.optimizers,
    // Dropout masks are a function of (seed, rank, step): nothing to save.
    rngs: {},
    run(batch, step) {
      if (pt.stepCount !== step)
        throw new Error(
          `internal: the data-parallel trainer is at step ${pt.stepCount}, the loop at ${step}`,
        );
      return pt.step(toColumnBatch(batch));
    },
    terms() {
      const v = pt.lastAux();
      return p.step.terms.map((t, i) => ({ name: t.name, value: v[i]! }));
    },
    resumedAt: (step) => pt.setStepCount(step),
    close: () => pt.close(),
  };
}

/** A batch's columns copied (the probe outlives the reader that yielded it). */
function structuredCloneBatch(b: Batch): Batch {
  const copy = <T extends Int32Array | Float32Array | Float64Array>(a: T | undefined): T | undefined =>
    a === undefined ? undefined : (a.slice() as T);
  const rec = <T extends Int32Array | Float32Array>(r: Record<string, T>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.slice() as T]));
  const out: Batch = {
    size: b.size,
    cat: rec(b.cat),
    seq: Object.fromEntries(
      Object.entries(b.seq).map(([k, v]) => [k, { ids: v.ids.slice(), maxLen: v.maxLen }]),
    ),
    num: rec(b.num),
    labels: rec(b.labels),
    extra: rec(b.extra),
  };
  for (const k of ['userKey', 'itemKey', 'requestId'] as const) {
    const v = copy(b[k]);
    if (v !== undefined) out[k] = v;
  }
  for (const k of ['ts', 'sampleId'] as const) {
    const v = copy(b[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Trains on `config.threads` threads (data parallel when > 1; see dataParallel.ts). */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const p = await prepare(opts);
  if (opts.distributed !== undefined && opts.config.threads > 1)
    throw new Error(
      `threads: ${opts.config.threads} — an MPI rank trains on one thread; set threads: 1 (one rank per core)`,
    );
  const runner =
    opts.distributed !== undefined
      ? opts.distributed.runner(p.parts, p.step, opts.config)
      : opts.stepRunner !== undefined
        ? opts.stepRunner(p.parts, p.step, opts.config)
        : opts.config.threads > 1
          ? await parallelRunner(p, opts)
          : singleThreadRunner(p, opts.config);
  try {
    return await trainLoop(opts, p, runner);
  } finally {
    await runner.close();
  }
}

/** The same as `train` (the name the data-parallel callers use). */
export const trainAsync = train;

async function trainLoop(opts: TrainOptions, p: Prepared, runner: StepRunner): Promise<TrainResult> {
  const cfg = opts.config;
  const trainSet = asSource(opts.data.train, 'training samples');
  const valid = opts.data.valid !== undefined ? asSource(opts.data.valid, 'validation samples') : undefined;
  const shard = opts.data.shard;
  const roles = modeRoles(cfg.mode);
  const { teacher, student, store } = p.parts;
  const teacherLabels = teacher?.supervised ?? {};
  const studentHard = student !== null && cfg.mode !== 'dmtl';
  const lambda: LambdaSchedule = cfg.lambda;
  const warmupEnd = roles.joint ? warmupEndStep(lambda) : 0;
  const trainRows = shardRows(trainSet, shard);
  if (trainRows === 0) throw new Error('the training split is empty');
  const dataRng = new Rng(cfg.seed).fork('data');
  const shuffle = { rng: dataRng, bufferRows: opts.data.shuffleBuffer ?? Number.POSITIVE_INFINITY };
  const dist = opts.distributed;
  const isRoot = dist === undefined || dist.collectives.rank === 0;
  const stream: TrainStream =
    dist !== undefined
      ? rankStream(trainSet, { batchSize: cfg.batchSize, shuffle, mpi: dist.collectives })
      : (opts.data.interleave ?? 1) > 1
        ? interleavedStream(trainSet, { batchSize: cfg.batchSize, shuffle, ways: opts.data.interleave! })
        : singleStream(trainSet, {
            batchSize: cfg.batchSize,
            shuffle,
            ...(shard !== undefined ? { shard } : {}),
          });
  const stepsPerEpoch = stream.stepsPerEpoch;
  const totalSteps = cfg.steps ?? Math.ceil((cfg.epochs ?? 1) * stepsPerEpoch);
  const optimizers = runner.optimizers;

  let paths: RunPaths | null = null;
  let startStep = 0;
  let resumeStream: StreamState | null = null;
  let resumeFrom = '';
  if (opts.runDir !== undefined) {
    if (opts.resume) {
      paths = runPaths(opts.runDir);
      const latest = latestCheckpoint(paths);
      if (latest === null) throw new Error(`--resume: ${opts.runDir} has no checkpoint to resume from`);
      resumeFrom = latest.path;
      const loaded = loadCheckpoint(latest.path, store, optimizers, runner.rngs, {
        checkMetadata: (m) => {
          // The dropout streams and the shard sums depend on N: continuing with another N would
          // not be the run the checkpoint belongs to.
          const ranks = Number(m['ranks'] ?? '1');
          const size = dist?.collectives.size ?? 1;
          if (ranks !== size) {
            throw new Error(
              `${latest.path}: written by a job of ${ranks} MPI rank(s); resume it with ` +
                (ranks > 1 ? `mpirun -np ${ranks}` : 'a single process (no mpirun)') +
                ` (this run has ${size})`,
            );
          }
          const threads = Number(m['threads'] ?? '1');
          if (threads !== cfg.threads) {
            throw new Error(
              `${latest.path}: written by a run with threads: ${threads}; resume it with --threads ${threads} (this run has ${cfg.threads})`,
            );
          }
        },
      });
      startStep = loaded.step;
      const st = loaded.metadata['stream'];
      if (st !== undefined) resumeStream = JSON.parse(st) as StreamState;
      runner.resumedAt(startStep);
    } else {
      const p = runPaths(opts.runDir);
      if (listCheckpoints(p).length > 0 || existsSync(p.metrics) || existsSync(p.final)) {
        throw new Error(
          `${opts.runDir} already holds a run; pass --resume to continue it, or choose another directory`,
        );
      }
      // Every rank of a job checks the folder above; rank 0 alone creates and writes it.
      paths = isRoot ? initRunDir(opts.runDir, cfg, opts.configSource) : null;
    }
    if (!isRoot) paths = null;
  }

  const history: EvalRecord[] = [];
  if (paths !== null && opts.resume) {
    // The records of the session being resumed (a crash may have left records past the checkpoint).
    for (const r of readMetrics(paths))
      if ((r as unknown as EvalRecord).step <= startStep) history.push(r as unknown as EvalRecord);
  }
  const running = new Map<string, { sum: number; n: number }>();
  const lastLoss: Record<string, number> = {};
  const selectRole: 'teacher' | 'student' = student !== null ? 'student' : 'teacher';
  const studentPairs =
    student !== null ? evalPairs(studentHard ? student.supervised : {}, cfg.distill, teacherLabels) : {};
  // The selected weights: in memory without a run directory, in RUN/best.safetensors with one.
  let best: { score: number; snap: Snapshot | null; record: EvalRecord } | null = null;
  let bestTeacherAuc = -Infinity;
  const bestPath = paths !== null ? join(paths.dir, 'best.safetensors') : null;
  const consider = (rec: EvalRecord, step: number | null) => {
    const tAuc = rec.valid.teacher !== undefined ? Object.values(rec.valid.teacher)[0]?.auc : undefined;
    if (tAuc !== undefined && tAuc > bestTeacherAuc) bestTeacherAuc = tAuc;
    const score = selectionScore(rec, selectRole, cfg.selection.metric);
    if (!rec.selectable || score === null || (best !== null && score <= best.score)) return;
    if (step === null) {
      // A record of the resumed session: its weights were saved to best.safetensors back then.
      best = { score, snap: null, record: rec };
    } else if (bestPath !== null) {
      saveCheckpoint(bestPath, {
        store,
        step,
        metadata: { mode: cfg.mode, run: cfg.name, selected: 'true' },
      });
      best = { score, snap: null, record: rec };
    } else {
      best = { score, snap: snapshot(store, step), record: rec };
    }
  };
  for (const r of history) consider(r, null);
  const t0 = performance.now();
  let samplesSeen = 0;

  let evalMs = 0;
  const doEval = async (step: number, epoch: number): Promise<EvalRecord> => {
    const te = performance.now();
    try {
      return await evalAt(step, epoch);
    } finally {
      evalMs += performance.now() - te;
    }
  };
  const evalAt = async (step: number, epoch: number): Promise<EvalRecord> => {
    const rec: EvalRecord = {
      step,
      epoch,
      lambda: stepLambda(cfg, Math.max(0, step - 1)),
      train: Object.fromEntries([...running].map(([k, v]) => [k, v.sum / Math.max(1, v.n)])),
      valid: {},
      selectable: !roles.joint || cfg.selection.allowBeforeWarmup || step >= warmupEnd,
      elapsedSeconds: (performance.now() - t0) / 1000,
    };
    running.clear();
    // Rank 0 validates for the job (the others go on to the next step and wait for it there).
    if (valid !== undefined && valid.rows > 0 && isRoot) {
      const limit = opts.data.maxValidRows;
      if (teacher !== null && Object.keys(teacherLabels).length > 0) {
        rec.valid.teacher = await validate(
          teacher,
          { ...teacherLabels },
          valid,
          opts.auc,
          cfg.batchSize * 4,
          limit,
        );
      }
      if (student !== null && Object.keys(studentPairs).length > 0) {
        rec.valid.student = await validate(student, studentPairs, valid, opts.auc, cfg.batchSize * 4, limit);
      }
    }
    history.push(rec);
    if (paths !== null) appendMetrics(paths, rec);
    opts.onEval?.(rec);
    consider(rec, step);
    return rec;
  };

  const saveAt = (step: number) => {
    // A collective on a rank stream: every rank asks, at the same steps; rank 0 writes.
    const streamState = stream.state();
    if (paths === null) return;
    saveCheckpoint(checkpointPath(paths, step), {
      store,
      optimizers,
      step,
      rngs: runner.rngs,
      metadata: {
        mode: cfg.mode,
        run: cfg.name,
        threads: String(cfg.threads),
        ranks: String(dist?.collectives.size ?? 1),
        stream: JSON.stringify(streamState),
      },
    });
    // Keep the three most recent checkpoints; the selected weights are in best.safetensors.
    const all = listCheckpoints(paths);
    for (const old of all.slice(0, Math.max(0, all.length - 3))) {
      if (old.step !== step) rmFile(old.path);
    }
  };

  let step = startStep;
  let epoch: number;
  if (resumeStream !== null) {
    // The checkpoint says where in its epoch the stream stood: reopen there, nothing replayed.
    epoch = resumeStream.epoch;
    try {
      stream.open(epoch, resumeStream, step - epoch * stepsPerEpoch);
    } catch (e) {
      throw new Error(`${resumeFrom}: ${(e as Error).message}`);
    }
  } else {
    // A checkpoint without a stream position (written before kdrec recorded one): replay the
    // epoch's batches up to the step.
    epoch = Math.floor(step / stepsPerEpoch);
    stream.open(epoch);
    for (let s = epoch * stepsPerEpoch; s < step; s++) await stream.next();
  }
  const evalEvery = cfg.evalEvery;
  let lastEvalStep = -1;

  try {
    while (step < totalSteps) {
      let batch = await stream.next();
      if (batch === null) {
        await stream.close();
        epoch++;
        stream.open(epoch);
        batch = await stream.next();
        if (batch === null) throw new Error('the training split yielded no batch');
      }
      opts.onBatch?.(step, batch);
      const lam = stepLambda(cfg, step);
      const total = runner.run(batch, step, stream.partRows?.());
      for (const { name, value } of runner.terms()) {
        lastLoss[name] = value;
        const r = running.get(name);
        if (r === undefined) running.set(name, { sum: value, n: 1 });
        else {
          r.sum += value;
          r.n++;
        }
      }
      lastLoss['total'] = total;
      step++;
      samplesSeen += runner.rows?.() ?? batch.size;

      if (opts.onProgress !== undefined) {
        const secs = (performance.now() - t0) / 1000;
        const sps = samplesSeen / Math.max(secs, 1e-9);
        opts.onProgress({
          step,
          totalSteps,
          epoch,
          lambda: lam,
          samplesPerSec: sps,
          etaSeconds: ((totalSteps - step) * cfg.batchSize) / Math.max(sps, 1e-9),
          losses: { ...lastLoss },
        });
      }
      const isEval = evalEvery > 0 && step % evalEvery === 0;
      if (isEval || step === totalSteps) {
        // Every rank at the same steps (the run directory is the same on all ranks, paths only on rank 0).
        dist?.sync?.(opts.runDir !== undefined);
        await doEval(step, epoch);
        lastEvalStep = step;
        saveAt(step);
      } else if (cfg.checkpointEvery > 0 && step % cfg.checkpointEvery === 0) {
        if (opts.runDir !== undefined) dist?.sync?.(true);
        saveAt(step);
      }
    }
  } finally {
    await stream.close();
  }
  dist?.finish?.();
  if (lastEvalStep !== step && history.length === 0) await doEval(step, epoch);

  const wallSeconds = (performance.now() - t0) / 1000;
  const last = history[history.length - 1] ?? null;
  const chosen = best as { score: number; snap: Snapshot | null; record: EvalRecord } | null;
  // Hand back the selected weights (not the last ones) unless they are the same step.
  if (chosen !== null && chosen.record.step !== step) {
    if (chosen.snap !== null) restore(store, chosen.snap);
    else if (bestPath !== null) loadCheckpoint(bestPath, store);
  }
  let underfit: boolean | null = null;
  if (roles.joint && chosen !== null) {
    const tAuc =
      chosen.record.valid.teacher !== undefined
        ? Object.values(chosen.record.valid.teacher)[0]?.auc
        : undefined;
    if (tAuc !== undefined && Number.isFinite(bestTeacherAuc)) underfit = tAuc < 0.99 * bestTeacherAuc;
  }
  const final: FinalSummary = {
    mode: cfg.mode,
    steps: step,
    resumedFrom: startStep,
    warmupEndStep: warmupEnd,
    selectedStep: chosen?.record.step ?? null,
    selectedMetric: `${selectRole}.${cfg.selection.metric}`,
    selected: chosen?.record ?? null,
    teacherUnderfitAtSelection: underfit,
    last,
    samplesPerSec: (samplesSeen / Math.max(wallSeconds, 1e-9)) | 0,
    wallSeconds,
    evalSeconds: evalMs / 1000,
    trainSamplesPerSec: (samplesSeen / Math.max(wallSeconds - evalMs / 1000, 1e-9)) | 0,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    parameters: store.count(),
    threads: cfg.threads,
    ranks: dist?.collectives.size ?? 1,
    ...(dist?.summary !== undefined ? { distributed: dist.summary() } : {}),
    runDir: paths?.dir ?? null,
  };
  if (paths !== null) writeJsonAtomic(paths.final, final);
  return { teacher, student, history, final };
}

function rmFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone (e.g. removed by hand): nothing to prune.
  }
}
