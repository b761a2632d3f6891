/**
 * `kdrec experiment`: the distillation matrix on one dataset, from one config file
 * (examples/experiment.yaml), evaluated on one fixed test set (./evaluate.ts), summarised over
 * seeds into DIR/results.json (./results.ts) and rendered by writeReport.
 *
 * Per seed: the teacher is trained once (mode `teacher`); then every student of the config's
 * `students` block: `plain` (the student on hard labels only), `logits-kd` (two-stage: the student
 * distils the trained teacher's logits on its own training samples, Hinton et al. 2015), rank-based
 * students (two-stage with a `rankDistill` block: the frozen teacher ranks lists, src/distill), and the
 * joint modes `dmtl`, `pfd`, `pfd-md`, which by their papers train their teacher together with the
 * student (PFD, Xu et al. KDD'20 §3.3: synchronous training; DMTL with an MMoE+ESMM teacher), so
 * those cells co-train their own teacher as the config's overlay declares it; plus the popularity
 * baseline. Every student trains on the same samples with the same seed and batch order as `plain`;
 * two-stage students also start from `plain`'s exact initialisation, while joint-mode students share
 * the schema's shared tables (user and item ids) with their co-trained teacher, which creates them.
 * Consistency metrics (overlap@K, Kendall tau) always compare with the standalone `teacher` row.
 *
 * Resumable: every finished (model, seed) cell is written atomically to DIR/cells/<model>.seed<S>.json
 * (and the teacher's weights to DIR/cells/teacher.seed<S>.safetensors, which later cells reload).
 * A cell file is only reused when its key (the cell's full config, the evaluation settings and the
 * data fingerprint) matches, so an edited config never mixes with old cells; a mismatch is an error
 * naming the file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ColumnarDataset } from '../data/batch.js';
import type { LoadedDataset } from '../data/dataset.js';
import { loadDataset, parseDatasetSpec } from '../data/loaders/index.js';
import { idField, type Schema } from '../data/schema.js';
import { SIMULATE_DEFAULTS, simulate } from '../data/simulator.js';
import { userStateOptionsSchema } from '../data/userState.js';
import { loadCheckpoint, saveCheckpoint } from '../engine/checkpoint.js';
import { Rng } from '../engine/rng.js';
import { Popularity } from '../models/popularity.js';
import type { Model } from '../models/types.js';
import { type ExperimentConfig, MODES, parseConfig } from '../run/config.js';
import { buildModels, combinedStore } from '../run/models.js';
import { type SampleKind, samplesOf } from '../train/data.js';
import { scoreTeacher, TEACHER_COLUMN_PREFIX } from '../train/teacherScores.js';
import { type EvalRecord, type TrainProgress, trainAsync } from '../train/trainer.js';
import { buildEvalSet, type EvalSet, type EvalSettings, evaluateModel } from './evaluate.js';
import { dataFingerprint, gitCommit, kdrecVersion, packageRoot } from './fingerprint.js';
import { auc } from './metrics/auc.js';
import { type CurvePoint, type ModelResult, type ModelRole, type Results, summarize } from './results.js';

// ---------------------------------------------------------------------------------------------
// The matrix config

const looseObject = z.record(z.string(), z.unknown());
const sampleKind = z.enum(['exposure', 'recall', 'auto']);
const simulateBlock = z.strictObject({
  users: z.int().gt(0).optional(),
  items: z.int().gt(0).optional(),
  days: z.int().gt(0).optional(),
  seed: z.int().optional(),
});
const evalBlock = z.strictObject({
  users: z.int().gt(0).optional(),
  maxCandidates: z.int().gt(0).optional(),
  k: z.int().gt(0).optional(),
  overlapKs: z.array(z.int().gt(0)).min(1).optional(),
  seed: z.int().optional(),
});
/** Train-config keys the matrix sets itself, per cell. */
const MATRIX_KEYS = ['name', 'seed', 'dataset', 'mode', 'teacher', 'student', 'outDir', 'threads'] as const;
const STUDENT_MODES = MODES.filter((m) => m !== 'teacher');
const RESERVED_NAMES = ['teacher', 'popularity'];

export const experimentConfigSchema = z.strictObject({
  name: z.string().min(1).default('experiment'),
  /** The teacher-aligned metric of the report (default trueClicks@K on the simulator, overlap@K elsewhere). */
  primaryMetric: z.string().min(1).optional(),
  /** World for `--dataset sim` (and for `sim:DIR` when DIR does not exist yet). */
  simulate: simulateBlock.default({}),
  samples: z
    .strictObject({
      /** `auto`: exposures, unless the training exposures hold one class (MovieLens: clicks only), then recall samples. */
      teacher: sampleKind.default('auto'),
      student: sampleKind.default('auto'),
      negatives: z.int().min(1).default(4),
      negativeSampler: z.enum(['uniform', 'popularity']).default('uniform'),
      maxTrainRows: z.int().gt(0).optional(),
      maxValidRows: z.int().gt(0).optional(),
    })
    .default({ teacher: 'auto', student: 'auto', negatives: 4, negativeSampler: 'uniform' }),
  /** Training keys shared by every cell (optimizer, batchSize, steps or epochs, evalEvery, ...): the train config's. */
  train: looseObject.default({}),
  /** The teacher's and the student's model specs (src/models). */
  teacher: looseObject,
  student: looseObject,
  /** Student name → overlay on the cell config: `mode` plus distill, lambda, objective, hint, teacher/student changes, train keys. */
  students: z.record(
    z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a lower-case name like logits-kd'),
    looseObject,
  ),
  popularity: z.boolean().default(true),
  /** As-of-request user-state features added to the dataset (src/data/userState.ts); a student leaves them out with `student: { userFields: [...] }`. */
  userState: userStateOptionsSchema.optional(),
  eval: evalBlock.default({}),
  /** What `kdrec demo` changes: a smaller world, shorter training, fewer evaluated users, its seeds. */
  demo: z
    .strictObject({
      simulate: simulateBlock.optional(),
      train: looseObject.optional(),
      eval: evalBlock.optional(),
      seeds: z.int().gt(0).optional(),
    })
    .optional(),
});

export type ExperimentMatrixConfig = z.output<typeof experimentConfigSchema>;

const EVAL_DEFAULTS: EvalSettings = {
  users: 500,
  maxCandidates: 2000,
  k: 50,
  overlapKs: [5, 10, 20, 50, 100],
  seed: 7,
};

function zodProblems(err: z.ZodError): string[] {
  return err.issues.map((iss) => {
    const path = iss.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    return `${path || '(config)'}: ${iss.message}`;
  });
}

/** Validates a parsed matrix config; `file` prefixes every error. Every cell config is validated too. */
export function parseExperimentConfig(raw: unknown, file = '<experiment config>'): ExperimentMatrixConfig {
  const res = experimentConfigSchema.safeParse(raw);
  if (!res.success) {
    throw new Error(
      `${file}: ${res.error.issues.length} problem(s):\n  ${zodProblems(res.error).join('\n  ')}`,
    );
  }
  const cfg = res.data;
  const problems: string[] = [];
  for (const key of MATRIX_KEYS) {
    if (key in cfg.train) problems.push(`train.${key}: set by the experiment per cell; remove it`);
  }
  if (Object.keys(cfg.students).length === 0) problems.push('students: must name at least one student');
  if (!('plain' in cfg.students))
    problems.push(
      "students: must include 'plain' (the student on hard labels only, the reference of every comparison)",
    );
  for (const [name, o] of Object.entries(cfg.students)) {
    if (RESERVED_NAMES.includes(name)) problems.push(`students.${name}: the name is reserved`);
    for (const key of ['name', 'seed', 'dataset', 'outDir', 'threads']) {
      if (key in o) problems.push(`students.${name}.${key}: set by the experiment per cell; remove it`);
    }
    const mode = o['mode'];
    if (typeof mode !== 'string' || !(STUDENT_MODES as readonly string[]).includes(mode)) {
      problems.push(
        `students.${name}.mode: must be one of ${STUDENT_MODES.join(', ')}, got ${JSON.stringify(mode)}`,
      );
    }
  }
  if (problems.length > 0)
    throw new Error(`${file}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  // Validate every cell now, so a typo in the last student fails before an hour of training.
  const probe = { kind: 'exposure' as SampleKind, spec: 'sim:config-check' };
  cellConfig(cfg, 'teacher', 1, probe.spec, probe.kind, file);
  for (const name of Object.keys(cfg.students)) cellConfig(cfg, name, 1, probe.spec, probe.kind, file);
  return cfg;
}

export function loadExperimentConfig(file: string): ExperimentMatrixConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read experiment config ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  return parseExperimentConfig(raw, file);
}

/** examples/experiment.yaml of the installed package. */
export function defaultExperimentConfigPath(): string {
  return join(packageRoot(), 'examples', 'experiment.yaml');
}

/** The config as `kdrec demo` runs it: the `demo` block's world, training, eval and seeds applied. */
export function applyDemo(cfg: ExperimentMatrixConfig): { config: ExperimentMatrixConfig; seeds: number } {
  const d = cfg.demo ?? {};
  return {
    config: {
      ...cfg,
      simulate: { ...cfg.simulate, ...d.simulate },
      train: { ...cfg.train, ...d.train },
      eval: { ...cfg.eval, ...d.eval },
    },
    seeds: d.seeds ?? 1,
  };
}

/** A model spec overlay: a different `type` replaces the base spec, the same type is merged onto it. */
function mergeSpec(base: Record<string, unknown>, over: unknown): Record<string, unknown> {
  if (over === undefined) return base;
  if (typeof over !== 'object' || over === null || Array.isArray(over))
    return over as Record<string, unknown>;
  const o = over as Record<string, unknown>;
  return o['type'] !== undefined && o['type'] !== base['type'] ? o : { ...base, ...o };
}

/** The full train config of one cell (model, seed), validated by the train config schema. */
export function cellConfig(
  cfg: ExperimentMatrixConfig,
  model: string,
  seed: number,
  datasetSpec: string,
  studentSamples: SampleKind,
  file = '<experiment config>',
): ExperimentConfig {
  const dataset = {
    spec: datasetSpec,
    studentSamples,
    negatives: cfg.samples.negatives,
    negativeSampler: cfg.samples.negativeSampler,
    ...(cfg.samples.maxTrainRows !== undefined ? { maxTrainRows: cfg.samples.maxTrainRows } : {}),
    ...(cfg.samples.maxValidRows !== undefined ? { maxValidRows: cfg.samples.maxValidRows } : {}),
    ...(cfg.userState !== undefined ? { userState: cfg.userState } : {}),
  };
  const common = { name: `${cfg.name}-${model}-seed${seed}`, seed, threads: 1, dataset, ...cfg.train };
  if (model === 'teacher') {
    return parseConfig({ ...common, mode: 'teacher', teacher: cfg.teacher }, `${file} (teacher)`);
  }
  const overlay = cfg.students[model];
  if (overlay === undefined) throw new Error(`${file}: no student named '${model}'`);
  const { teacher, student, ...rest } = overlay;
  const raw: Record<string, unknown> = {
    ...common,
    ...rest,
    student: mergeSpec(cfg.student, student),
  };
  if (rest['mode'] !== 'student') raw['teacher'] = mergeSpec(cfg.teacher, teacher);
  return parseConfig(raw, `${file} (students.${model})`);
}

// ---------------------------------------------------------------------------------------------
// Cells

/** One finished (model, seed) cell, as stored in DIR/cells/. */
export interface CellRecord {
  model: string;
  seed: number;
  role: ModelRole;
  /** Hash of everything the cell's numbers depend on; a stored cell is reused only when it matches. */
  key: string;
  metrics: Record<string, number>;
  params: number;
  trainSeconds: number;
  inferenceMsPer1k: number;
  curves?: Record<string, CurvePoint[]>;
  overlapAtK: { k: number; overlap: number }[];
  flags: string[];
  /**
   * Training facts: steps, the selected step, samples per second, and the validation AUC at the
   * selected step of the trained model and (joint modes) of its co-trained teacher, so a weak
   * distilled student can be traced to a weak teacher.
   */
  training?: {
    steps: number;
    selectedStep: number | null;
    samplesPerSec: number;
    samples: SampleKind;
    validAuc: number | null;
    coTeacherValidAuc: number | null;
  };
  finishedAt: string;
}

export function cellPath(dir: string, model: string, seed: number): string {
  return join(dir, 'cells', `${model}.seed${seed}.json`);
}

function teacherWeightsPath(dir: string, seed: number): string {
  return join(dir, 'cells', `teacher.seed${seed}.safetensors`);
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

/** The stored cell, or null when absent; throws when it exists for a different configuration. */
export function readCell(dir: string, model: string, seed: number, key: string): CellRecord | null {
  const path = cellPath(dir, model, seed);
  if (!existsSync(path)) return null;
  let cell: CellRecord;
  try {
    cell = JSON.parse(readFileSync(path, 'utf8')) as CellRecord;
  } catch (err) {
    throw new Error(
      `${path}: unreadable cell file (${(err as Error).message}); delete it to retrain the cell`,
    );
  }
  if (cell.key !== key) {
    throw new Error(
      `${path}: this cell was trained with a different config, evaluation or dataset (key ${String(cell.key).slice(0, 12)}…, ` +
        `now ${key.slice(0, 12)}…); use another --out directory, or delete the cells/ folder to retrain`,
    );
  }
  return cell;
}

function hashKey(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** Loss-term names of the trainer, grouped for the learning-curve panels (same panel across models). */
function curveTerm(term: string): string | null {
  if (term === 'total') return null;
  if (term.startsWith('teacher.hard.')) return 'teacher hard';
  if (term.startsWith('student.hard.')) return 'student hard';
  if (/^kd\d*\./.test(term)) return 'kd';
  return term;
}

function curvesOf(history: EvalRecord[]): Record<string, CurvePoint[]> {
  const curves: Record<string, CurvePoint[]> = {};
  for (const rec of history) {
    const sums = new Map<string, number>();
    for (const [term, v] of Object.entries(rec.train)) {
      const name = curveTerm(term);
      if (name !== null && Number.isFinite(v)) sums.set(name, (sums.get(name) ?? 0) + v);
    }
    for (const [name, v] of sums) (curves[name] ??= []).push({ step: rec.step, value: v });
  }
  return curves;
}

/** Validation AUC of a role's main output in an eval record (null without one). */
function selectedAuc(rec: EvalRecord | null, role: 'teacher' | 'student'): number | null {
  const first = rec?.valid[role] !== undefined ? Object.values(rec.valid[role]!)[0] : undefined;
  return first?.auc ?? null;
}

/** The categorical item-group field holding item ids (named like item_id), else the first one. */
function requireItemIdField(schema: Schema): string {
  const f = idField(schema.features, 'item');
  if (f === null) throw new Error('popularity baseline: the schema has no categorical item field');
  return f;
}

// ---------------------------------------------------------------------------------------------
// The runner

export interface CellInfo {
  model: string;
  seed: number;
  /** 1-based position among all cells, and the number of cells. */
  index: number;
  count: number;
}

export interface ExperimentEvents {
  log?(message: string): void;
  cellStart?(cell: CellInfo): void;
  progress?(cell: CellInfo, p: TrainProgress): void;
  /** `reused`: the cell was read from DIR/cells/, not trained. */
  cellEnd?(cell: CellInfo, record: CellRecord, reused: boolean): void;
}

export interface ExperimentOptions {
  /** `sim`, `sim:DIR`, `movielens-100k:PATH`, `ali-ccp:PATH`, `kuairand:PATH`. */
  dataset: string;
  outDir: string;
  seeds: number[];
  config: ExperimentMatrixConfig;
  /** The config file (recorded in results.json). */
  configFile?: string;
  events?: ExperimentEvents;
  /**
   * Data-parallel training threads per cell (default 1). Cells with rank distillation train on one
   * thread (it does not run data parallel). Not part of a cell's key: N changes results only by
   * float rounding (and dropout masks), so cells trained with another N are reused.
   */
  threads?: number;
}

/** Simulates `dir` (atomically: into a temp folder, then renamed) unless it already exists. */
async function ensureSimulated(
  dir: string,
  s: ExperimentMatrixConfig['simulate'],
  log: (m: string) => void,
): Promise<void> {
  if (existsSync(dir)) return;
  const opts = {
    users: s.users ?? SIMULATE_DEFAULTS.users,
    items: s.items ?? SIMULATE_DEFAULTS.items,
    days: s.days ?? SIMULATE_DEFAULTS.days,
    seed: s.seed ?? SIMULATE_DEFAULTS.seed,
  };
  log(
    `simulating ${opts.users} users × ${opts.items} items × ${opts.days} days (seed ${opts.seed}) into ${dir}`,
  );
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const t0 = performance.now();
  const res = await simulate({ out: tmp, ...opts });
  renameSync(tmp, dir);
  log(
    `simulated ${res.events} exposures, ${res.clicks} clicks in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

/** Resolves the --dataset argument to a spec with a path, simulating a world first for `sim`. */
export async function resolveDataset(
  dataset: string,
  outDir: string,
  cfg: ExperimentMatrixConfig,
  log: (m: string) => void,
): Promise<string> {
  const spec = parseDatasetSpec(dataset);
  if (spec.kind !== 'sim') return `${spec.kind}:${spec.path}`;
  const dir = spec.path ?? resolve(outDir, 'data', 'sim');
  await ensureSimulated(dir, cfg.simulate, log);
  return `sim:${dir}`;
}

function resolveKind(kind: 'exposure' | 'recall' | 'auto', ds: LoadedDataset): SampleKind {
  if (kind !== 'auto') return kind;
  const y = ds.splits.train.columns.labels[ds.labels.click];
  if (y === undefined) throw new Error(`${ds.name}: no click label '${ds.labels.click}'`);
  let pos = 0;
  for (let i = 0; i < y.length; i++) if (y[i]! > 0) pos++;
  return pos === 0 || pos === y.length ? 'recall' : 'exposure';
}

function capRows(d: ColumnarDataset, max: number | undefined): ColumnarDataset {
  if (max === undefined || d.size <= max) return d;
  return d.select(Int32Array.from({ length: max }, (_, i) => i));
}

/** Adds the trained teacher's logits as `teacher_<output>` columns to a copy of `d` (two-stage KD). */
async function withTeacherColumns(d: ColumnarDataset, teacher: Model): Promise<ColumnarDataset> {
  const logits = await scoreTeacher(teacher, d);
  const extra = { ...d.columns.extra };
  for (const [o, v] of Object.entries(logits)) extra[`${TEACHER_COLUMN_PREFIX}${o}`] = v;
  return new ColumnarDataset({ ...d.columns, extra }, 'two-stage training samples');
}

function flagsOf(model: string, cfg: ExperimentConfig): string[] {
  const flags: string[] = [];
  if (cfg.mode === 'dmtl') {
    const targets = cfg.distill.map((t) => t.target).join(', ');
    flags.push(
      `trained only on the teacher's ${targets} (no hard labels): its LogLoss measures that probability against clicks`,
    );
  }
  if (['joint', 'dmtl', 'pfd', 'pfd-md'].includes(cfg.mode)) {
    flags.push(
      `co-trains its own ${cfg.teacher?.type ?? ''} teacher (mode ${cfg.mode}); overlap is with the 'teacher' row`,
    );
  }
  return model === 'plain' ? [] : flags;
}

export interface ExperimentOutcome {
  results: Results;
  /** Cells trained in this call and cells reused from DIR/cells/. */
  trained: number;
  reused: number;
  evalSet: EvalSet;
}

/** Runs (or resumes) the matrix and returns the assembled results (not yet written; see writeResults). */
export async function runExperiment(opts: ExperimentOptions): Promise<ExperimentOutcome> {
  const cfg = opts.config;
  const ev = opts.events ?? {};
  const log = (m: string) => ev.log?.(m);
  if (opts.seeds.length === 0) throw new Error('experiment: no seeds');
  const outDir = resolve(opts.outDir);
  mkdirSync(join(outDir, 'cells'), { recursive: true });

  const spec = await resolveDataset(opts.dataset, outDir, cfg, log);
  let t0 = performance.now();
  const ds = await loadDataset(spec, cfg.userState !== undefined ? { userState: cfg.userState } : {});
  log(
    `loaded ${ds.name}: ${ds.stats.splitRows.train} train / ${ds.stats.splitRows.valid} valid / ${ds.stats.splitRows.test} test rows, ` +
      `${ds.userIds.length} users, ${ds.items.size} items (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const fp = dataFingerprint(ds);
  const teacherKind = resolveKind(cfg.samples.teacher, ds);
  const studentKind = resolveKind(cfg.samples.student, ds);
  const settings: EvalSettings = { ...EVAL_DEFAULTS, ...cfg.eval };
  t0 = performance.now();
  const set = buildEvalSet(ds, settings, studentKind, {
    count: cfg.samples.negatives,
    sampler: cfg.samples.negativeSampler,
  });
  log(
    `test set: ${set.classification.size} classification rows, ${set.users.length} users × ${set.candidates.length} candidates ` +
      `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );

  const students = Object.keys(cfg.students);
  const models = ['teacher', ...(cfg.popularity ? ['popularity'] : []), ...students];
  const count = models.length * opts.seeds.length;
  const evalKey = { settings, studentKind, teacherKind, data: fp.sha256, negatives: cfg.samples };
  const cells = new Map<string, CellRecord>();
  let trained = 0;
  let reused = 0;
  let index = 0;

  for (const seed of opts.seeds) {
    const configs = new Map<string, ExperimentConfig>();
    for (const m of ['teacher', ...students]) {
      configs.set(
        m,
        cellConfig(cfg, m, seed, spec, m === 'teacher' ? teacherKind : studentKind, opts.configFile),
      );
    }
    const keyOf = (m: string) =>
      hashKey({ model: m, config: m === 'popularity' ? null : configs.get(m), ...evalKey });
    // Lazily: the teacher (trained or reloaded) and its candidate scores, needed by any student cell.
    let teacher: { model: Model; scores: Float32Array } | null = null;
    const samplesCache = new Map<string, ColumnarDataset>();
    const samples = (c: ExperimentConfig, kind: SampleKind, split: 'train' | 'valid') => {
      const id = `${kind}/${split}`;
      let d = samplesCache.get(id);
      if (d === undefined) {
        d = capRows(
          samplesOf(ds, c, kind, split),
          split === 'train' ? c.dataset.maxTrainRows : c.dataset.maxValidRows,
        );
        samplesCache.set(id, d);
      }
      return d;
    };
    const loadTeacher = async (): Promise<{ model: Model; scores: Float32Array }> => {
      if (teacher !== null) return teacher;
      const c = configs.get('teacher')!;
      const built = buildModels(c, ds.schema, new Rng(c.seed).fork('models'), { labels: ds.labels });
      const path = teacherWeightsPath(outDir, seed);
      loadCheckpoint(path, combinedStore([built.teacher]), {}, {}, { weightsOnly: true });
      const scores = (await evaluateModel(built.teacher!, set, null)).candidateScores;
      teacher = { model: built.teacher!, scores };
      return teacher;
    };

    for (const m of models) {
      index++;
      const info: CellInfo = { model: m, seed, index, count };
      const key = keyOf(m);
      const stored = readCell(outDir, m, seed, key);
      if (stored !== null && (m !== 'teacher' || existsSync(teacherWeightsPath(outDir, seed)))) {
        cells.set(`${m}/${seed}`, stored);
        reused++;
        ev.cellEnd?.(info, stored, true);
        continue;
      }
      ev.cellStart?.(info);
      let record: CellRecord;
      if (m === 'popularity') {
        const t = performance.now();
        const pop = new Popularity(
          {
            name: 'popularity',
            itemField: requireItemIdField(ds.schema),
            label: ds.labels.click,
            output: 'ctr',
          },
          ds.schema,
          ds.splits.train.columns,
        );
        const seconds = (performance.now() - t) / 1000;
        const e = await evaluateModel(pop, set, (await loadTeacher()).scores, { probabilistic: false });
        record = {
          model: m,
          seed,
          role: 'baseline',
          key,
          metrics: e.metrics,
          params: 0,
          trainSeconds: seconds,
          inferenceMsPer1k: e.inferenceMsPer1k,
          overlapAtK: e.overlapAtK,
          flags: ['item popularity (training-period clicks), no parameters trained'],
          finishedAt: new Date().toISOString(),
        };
      } else {
        const c = configs.get(m)!;
        const kind = m === 'teacher' ? teacherKind : studentKind;
        // Two-stage builds only the student: the same initialisation as `plain` (a built teacher would
        // create the shared tables first, from its own generator).
        const build = c.mode === 'two-stage' ? { ...c, mode: 'student' as const } : c;
        const built = buildModels(build, ds.schema, new Rng(c.seed).fork('models'), { labels: ds.labels });
        let trainSet = samples(c, kind, 'train');
        if (c.mode === 'two-stage' && c.distill.length > 0)
          trainSet = await withTeacherColumns(trainSet, (await loadTeacher()).model);
        // Rank distillation (issue 5) in two-stage ranks its lists with the trained, frozen teacher;
        // in joint modes with the co-trained one. Either way it builds list rows from the dataset.
        const liveTeacher =
          c.mode === 'two-stage'
            ? c.rankDistill !== undefined
              ? (await loadTeacher()).model
              : null
            : built.teacher;
        const threads = c.rankDistill !== undefined ? 1 : (opts.threads ?? 1);
        const res = await trainAsync({
          config: { ...c, threads },
          data: { schema: ds.schema, train: trainSet, valid: samples(c, kind, 'valid'), dataset: ds },
          models: { teacher: liveTeacher, student: built.student },
          modelContext: { labels: ds.labels },
          auc: (y, s) => auc(y, s),
          onProgress: (p) => ev.progress?.(info, p),
        });
        const evaluated = m === 'teacher' ? res.teacher! : res.student!;
        const flags = flagsOf(m, c);
        const coTeacher = selectedAuc(res.final.selected, 'teacher');
        if (m !== 'teacher' && coTeacher !== null) {
          flags.push(
            `seed ${seed}: co-trained teacher's validation AUC ${coTeacher.toFixed(4)} at the selected step`,
          );
        }
        if (res.final.teacherUnderfitAtSelection) {
          flags.push(`seed ${seed}: the co-trained teacher was under-fit at the selected step`);
        }
        let e: Awaited<ReturnType<typeof evaluateModel>>;
        if (m === 'teacher') {
          e = await evaluateModel(evaluated, set, null);
          saveCheckpoint(teacherWeightsPath(outDir, seed), {
            store: combinedStore([evaluated]),
            step: res.final.steps,
            metadata: { experiment: cfg.name, seed: String(seed), role: 'teacher' },
          });
          teacher = { model: evaluated, scores: e.candidateScores };
        } else {
          e = await evaluateModel(evaluated, set, (await loadTeacher()).scores);
        }
        record = {
          model: m,
          seed,
          role: m === 'teacher' ? 'teacher' : m === 'plain' ? 'baseline' : 'student',
          key,
          metrics: e.metrics,
          params: evaluated.store.count(),
          trainSeconds: res.final.wallSeconds,
          inferenceMsPer1k: e.inferenceMsPer1k,
          curves: curvesOf(res.history),
          overlapAtK: e.overlapAtK,
          flags,
          training: {
            steps: res.final.steps,
            selectedStep: res.final.selectedStep,
            samplesPerSec: res.final.samplesPerSec,
            samples: kind,
            validAuc: selectedAuc(res.final.selected, m === 'teacher' ? 'teacher' : 'student'),
            coTeacherValidAuc: m === 'teacher' ? null : selectedAuc(res.final.selected, 'teacher'),
          },
          finishedAt: new Date().toISOString(),
        };
      }
      writeJsonAtomic(cellPath(outDir, m, seed), record);
      cells.set(`${m}/${seed}`, record);
      trained++;
      ev.cellEnd?.(info, record, false);
    }
  }

  const results = assembleResults({
    cfg,
    models,
    seeds: opts.seeds,
    cells,
    datasetName: ds.name,
    fingerprintText: fp.text,
    extraConfig: {
      configFile: opts.configFile ?? null,
      dataset: spec,
      samples: { teacher: teacherKind, student: studentKind },
      evaluation: { ...settings, protocol: set.protocol, oracle: set.oracle },
      dataFingerprint: fp,
      cells: Object.fromEntries(
        ['teacher', ...students].map((m) => {
          const {
            seed: _seed,
            name: _name,
            ...rest
          } = cellConfig(
            cfg,
            m,
            opts.seeds[0]!,
            spec,
            m === 'teacher' ? teacherKind : studentKind,
            opts.configFile,
          );
          return [m, rest];
        }),
      ),
    },
    primaryMetric:
      cfg.primaryMetric ?? (set.truth !== null ? `trueClicks@${settings.k}` : `overlap@${settings.k}`),
  });
  return { results, trained, reused, evalSet: set };
}

/** Summarises cells over seeds into the results.json record. */
export function assembleResults(a: {
  cfg: ExperimentMatrixConfig;
  models: string[];
  seeds: number[];
  cells: Map<string, CellRecord>;
  datasetName: string;
  fingerprintText: string;
  extraConfig: Record<string, unknown>;
  primaryMetric: string;
}): Results {
  const out: ModelResult[] = [];
  for (const m of a.models) {
    const per = a.seeds.map((s) => {
      const c = a.cells.get(`${m}/${s}`);
      if (c === undefined) throw new Error(`experiment: cell ${m} seed ${s} is missing`);
      return c;
    });
    const first = per[0]!;
    // A metric enters the summary only when every seed has it (e.g. kendallTau of a constant scorer does not).
    const names = Object.keys(first.metrics).filter((k) => per.every((c) => Number.isFinite(c.metrics[k])));
    const metrics = Object.fromEntries(names.map((k) => [k, summarize(per.map((c) => c.metrics[k]!))]));
    const ms = (xs: number[]) => {
      const s = summarize(xs);
      return { mean: s.mean, std: s.std };
    };
    const ks = first.overlapAtK.map((p) => p.k);
    const result: ModelResult = {
      name: m,
      role: first.role,
      metrics,
      params: first.params,
      trainSeconds: ms(per.map((c) => c.trainSeconds)),
      inferenceMsPer1k: ms(per.map((c) => c.inferenceMsPer1k)),
      overlapAtK: ks.map((k) => ({
        k,
        overlap:
          per.reduce((acc, c) => acc + (c.overlapAtK.find((p) => p.k === k)?.overlap ?? 0), 0) / per.length,
      })),
    };
    if (first.curves !== undefined && Object.keys(first.curves).length > 0) result.curves = first.curves;
    const flags = [...new Set(per.flatMap((c) => c.flags))];
    // Issue 9: a model that does not beat item popularity on NDCG@K in every seed is marked as such.
    const ndcgKey = Object.keys(first.metrics).find((k) => /^NDCG@\d+$/.test(k));
    const pop = a.seeds.map((s) => a.cells.get(`popularity/${s}`)?.metrics[ndcgKey ?? '']);
    if (m !== 'popularity' && ndcgKey !== undefined && pop.every((v) => v !== undefined)) {
      const wins = per.filter((c, i) => c.metrics[ndcgKey]! > pop[i]!).length;
      if (wins < per.length) {
        flags.push(
          wins === 0
            ? `does not beat popularity on ${ndcgKey} (in no seed)`
            : `beats popularity on ${ndcgKey} in only ${wins} of ${per.length} seeds`,
        );
      }
    }
    // Issue 9: the paired per-seed comparison with `plain`; "beyond seed noise" only when the sign
    // of the difference is the same in every seed.
    if (m !== 'plain' && m !== 'popularity' && m !== 'teacher' && a.seeds.length > 1) {
      for (const key of [...new Set([a.primaryMetric, ndcgKey])]) {
        const plain = a.seeds.map((s) => a.cells.get(`plain/${s}`)?.metrics[key ?? '']);
        const mine = per.map((c) => c.metrics[key ?? '']);
        if (key === undefined || plain.some((v) => v === undefined) || mine.some((v) => v === undefined))
          continue;
        const p = pairedComparison(mine as number[], plain as number[]);
        const ds = p.deltas.map((d) => `${d >= 0 ? '+' : ''}${d.toFixed(4)}`).join(', ');
        flags.push(
          `vs plain on ${key}, per seed: ${ds} — ${p.verdict === 'within seed noise' ? 'within seed noise' : `${p.verdict}, beyond seed noise`}`,
        );
      }
    }
    if (flags.length > 0) result.flags = flags;
    out.push(result);
  }
  const present = out.some((m) => a.primaryMetric in m.metrics);
  return {
    kdrecVersion: kdrecVersion(),
    gitCommit: gitCommit(),
    createdAt: new Date().toISOString(),
    dataset: { name: a.datasetName, fingerprint: a.fingerprintText },
    config: { experiment: a.cfg as unknown as Record<string, unknown>, ...a.extraConfig },
    seeds: a.seeds,
    ...(present ? { primaryMetric: a.primaryMetric } : {}),
    models: out,
  };
}

/**
 * Per-seed paired difference a − b of one metric (same seeds, same order). The verdict says
 * 'better' or 'worse' only when the sign holds in every seed; otherwise 'within seed noise'.
 */
export function pairedComparison(
  a: readonly number[],
  b: readonly number[],
): { deltas: number[]; mean: number; verdict: 'better' | 'worse' | 'within seed noise' } {
  if (a.length !== b.length || a.length === 0)
    throw new Error(`paired comparison needs the same seeds on both sides (${a.length} vs ${b.length})`);
  const deltas = a.map((x, i) => x - b[i]!);
  const mean = deltas.reduce((s, d) => s + d, 0) / deltas.length;
  const verdict = deltas.every((d) => d > 0)
    ? 'better'
    : deltas.every((d) => d < 0)
      ? 'worse'
      : 'within seed noise';
  return { deltas, mean, verdict };
}
