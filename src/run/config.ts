/**
 * The experiment / training config: one YAML or JSON file says which data, which teacher and
 * student, which training mode, which distillation terms and how to optimise. Validated with zod;
 * every problem is reported at once, each with its path (`distill[1].temperature must be > 0`), so
 * a user fixes the whole file in one go instead of one error per run.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { userStateOptionsSchema } from '../data/userState.js';
import { rankDistillProblems, rankDistillSchema } from '../distill/rankTerms.js';
import { modelSpecSchema } from '../models/index.js';

export const MODES = ['teacher', 'student', 'joint', 'two-stage', 'dmtl', 'pfd', 'pfd-md'] as const;
export type Mode = (typeof MODES)[number];

/**
 * A model spec is the models folder's own schema (src/models/index.ts), so a bad model option is
 * reported with its config path like any other (`student.userHidden[0] must be > 0`). The trainer
 * sets each model's `name` (teacher / student), which prefixes its parameters in checkpoints.
 */
const modelSpec = modelSpecSchema;

const kdTerm = z.strictObject({
  pred: z.string().min(1),
  target: z.string().min(1),
  loss: z.enum(['bce_soft', 'kl', 'mse']),
  weight: z.number().min(0).default(1),
  temperature: z.number().gt(0).default(1),
  t2Scale: z.boolean().optional(),
  sampleWeight: z.string().min(1).optional(),
});

const lambdaSchedule = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant'), value: z.number().min(0) }),
  z.strictObject({ kind: z.literal('step'), value: z.number().min(0), startStep: z.int().min(0) }),
  z.strictObject({
    kind: z.literal('linear'),
    value: z.number().min(0),
    startStep: z.int().min(0),
    endStep: z.int().min(1),
  }),
]);

const hintSpec = z.strictObject({
  /** Student hidden layer name (ModelOutput.hidden key). */
  student: z.string().min(1),
  /** Teacher hidden layer name. */
  teacher: z.string().min(1),
  weight: z.number().min(0).default(1),
});

const optimizerSpec = z.strictObject({
  /** Dense parameters. */
  dense: z.enum(['adam', 'adamw', 'adagrad']).default('adam'),
  lr: z.number().gt(0).default(1e-3),
  weightDecay: z.number().min(0).default(0),
  /** Embedding tables (lazy: only touched rows are updated). */
  sparse: z.enum(['sparse_adam', 'sparse_adagrad']).default('sparse_adam'),
  sparseLr: z.number().gt(0).optional(),
  /** Global gradient-norm clip over dense parameters; 0 = off. */
  clipNorm: z.number().min(0).default(0),
});

const simulateSpec = z.strictObject({
  users: z.int().gt(0).optional(),
  items: z.int().gt(0).optional(),
  days: z.int().gt(0).optional(),
  seed: z.int().optional(),
});

const datasetSpec = z.strictObject({
  /** `KIND:PATH` as every kdrec command takes it: `sim:DIR`, `movielens-100k:PATH`, ... */
  spec: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*:.+$/, { error: 'must look like KIND:PATH, e.g. sim:runs/sim-small' }),
  /** For `sim:DIR`: simulate a world into DIR first when DIR does not exist yet. */
  simulate: simulateSpec.optional(),
  /** Which samples train the student: exposures, or recall samples (clicks + random negatives). */
  studentSamples: z.enum(['exposure', 'recall']).default('exposure'),
  /** Random negatives per positive for recall samples. */
  negatives: z.int().min(1).default(4),
  /** How recall negatives are drawn from the catalogue: uniformly, or by popularity^0.75. */
  negativeSampler: z.enum(['uniform', 'popularity']).default('uniform'),
  /** Two-stage: the file written by `kdrec teacher score` (also settable with --teacher-scores). */
  teacherScores: z.string().min(1).optional(),
  /** Cap on training rows (for quick runs and tests); all rows by default. */
  maxTrainRows: z.int().gt(0).optional(),
  maxValidRows: z.int().gt(0).optional(),
  /** As-of-request user-state features for the user tower (src/data/userState.ts), e.g. `{ lastN: 20, windows: [1d, 7d] }`. */
  userState: userStateOptionsSchema.optional(),
  /**
   * `prepared:DIR` only (the folder `kdrec data prepare` writes): stream the splits from Parquet a
   * window at a time (true, the default: memory flat in the number of events) or load them into
   * memory first (false: a full shuffle each epoch).
   */
  stream: z.boolean().optional(),
  /**
   * Rows of the streamed shuffle buffer (src/data/stream.ts): each epoch permutes the row groups and
   * shuffles windows of this many rows. Ignored in memory, where every epoch is a full shuffle.
   */
  shuffleBuffer: z.int().min(1).default(262_144),
});

const selectionSpec = z.strictObject({
  /** Metric that selects the checkpoint written as `best`: the student's (or the single model's) validation AUC. */
  metric: z.enum(['auc', 'loss']).default('auc'),
  /** In joint modes, allow a step before the λ warm-up ends to be selected (issue 9 item 4). */
  allowBeforeWarmup: z.boolean().default(false),
});

export const configSchema = z
  .strictObject({
    name: z.string().min(1).default('run'),
    seed: z.int().default(1),
    threads: z.int().min(1).default(1),
    /**
     * How an MPI job (mpirun -np N) stores the trainable embedding tables (src/engine/rowShard.ts):
     * 'replicated' (default) keeps every table on every rank and allgathers the sparse gradients;
     * 'row' shards a table by rows, rank id mod N owning row id (TorchRec row-wise sharding,
     * HugeCTR's model-parallel embedding); a record chooses per table by name (e.g.
     * { emb.item_id: row }; tables not named stay replicated). Ignored by a single process.
     */
    sharding: z
      .union([z.enum(['replicated', 'row']), z.record(z.string(), z.enum(['replicated', 'row']))])
      .default('replicated'),
    dataset: datasetSpec,
    mode: z.enum(MODES),
    teacher: modelSpec.optional(),
    student: modelSpec.optional(),
    /** Logit distillation terms (EasyRec `kd` style). */
    distill: z.array(kdTerm).default([]),
    hint: hintSpec.optional(),
    /** Rank-based distillation from teacher-ranked lists (src/distill/rankTerms.ts). */
    rankDistill: rankDistillSchema.optional(),
    lambda: lambdaSchedule.default({ kind: 'constant', value: 1 }),
    objective: z.enum(['hard_plus_kd', 'convex']).default('hard_plus_kd'),
    /** Give the student its own user-id table instead of sharing the teacher's (shared by default per the schema). */
    separateStudentUserId: z.boolean().default(false),
    optimizer: optimizerSpec.default({
      dense: 'adam',
      lr: 1e-3,
      weightDecay: 0,
      sparse: 'sparse_adam',
      clipNorm: 0,
    }),
    batchSize: z.int().min(1).default(512),
    steps: z.int().min(1).optional(),
    epochs: z.number().gt(0).optional(),
    /** Validate (and append to metrics.jsonl) every N steps; 0 = only at the end. */
    evalEvery: z.int().min(0).default(0),
    /** Keep a checkpoint every N steps (and always at the end); 0 = only at eval steps and the end. */
    checkpointEvery: z.int().min(0).default(0),
    selection: selectionSpec.default({ metric: 'auc', allowBeforeWarmup: false }),
    /** Parent folder of run directories. */
    outDir: z.string().min(1).default('runs'),
  })
  .superRefine((c, ctx) => {
    const need = (cond: boolean, path: (string | number)[], message: string) => {
      if (!cond) ctx.addIssue({ code: 'custom', path, message });
    };
    if (c.steps === undefined && c.epochs === undefined) {
      need(false, ['steps'], 'or epochs must be given (how long to train)');
    }
    const withTeacher = c.mode !== 'student';
    const withStudent = c.mode !== 'teacher';
    need(!withTeacher || c.teacher !== undefined, ['teacher'], `is required for mode '${c.mode}'`);
    need(!withStudent || c.student !== undefined, ['student'], `is required for mode '${c.mode}'`);
    if (c.lambda.kind === 'linear' && c.lambda.endStep <= c.lambda.startStep) {
      need(false, ['lambda', 'endStep'], `must be > lambda.startStep (${c.lambda.startStep})`);
    }
    if (c.objective === 'convex' && c.lambda.value > 1) {
      need(
        false,
        ['lambda', 'value'],
        "must be <= 1 with objective 'convex' (the hard loss gets 1 - lambda)",
      );
    }
    c.distill.forEach((t, i) => {
      if (t.loss === 'mse' && t.temperature !== 1) {
        need(false, ['distill', i, 'temperature'], 'must be 1 for loss mse (mse matches raw logits)');
      }
      if (c.mode === 'two-stage' && !t.target.startsWith('column:')) {
        need(
          false,
          ['distill', i, 'target'],
          "must be 'column:NAME' in mode two-stage (the teacher is not run; its logits come from 'kdrec teacher score')",
        );
      }
    });
    const distilling = ['joint', 'two-stage', 'dmtl', 'pfd', 'pfd-md'].includes(c.mode);
    if (distilling && c.distill.length === 0 && c.hint === undefined && c.rankDistill === undefined) {
      need(false, ['distill'], `must list at least one term in mode '${c.mode}'`);
    }
    if (!distilling && c.distill.length > 0) {
      need(false, ['distill'], `must be empty in mode '${c.mode}' (nothing is distilled)`);
    }
    if (c.rankDistill !== undefined) {
      need(distilling, ['rankDistill'], `is not used in mode '${c.mode}' (nothing is distilled)`);
      for (const [path, msg] of rankDistillProblems(c.rankDistill))
        need(false, ['rankDistill', ...path], msg);
    }
    if (c.mode === 'dmtl') {
      need(c.teacher?.type === 'mmoe-esmm', ['teacher', 'type'], "must be 'mmoe-esmm' in mode dmtl");
      need(
        c.student?.type === 'two-tower' || c.student?.type === 'fm',
        ['student', 'type'],
        "must be 'two-tower' or 'fm' in mode dmtl",
      );
    }
    if (
      (c.mode === 'pfd' || c.mode === 'pfd-md') &&
      (c.lambda.kind === 'constant' || c.lambda.startStep === 0)
    ) {
      need(
        false,
        ['lambda'],
        `must start with a warm-up in mode ${c.mode} (kind step or linear with startStep > 0): ` +
          "synchronous PFD keeps λ = 0 until the teacher has learnt something (Xu et al., KDD'20, §3.3)",
      );
    }
    if (c.mode === 'pfd-md') {
      need(c.teacher?.type === 'ranking-dnn', ['teacher', 'type'], "must be 'ranking-dnn' in mode pfd-md");
      need(c.student?.type === 'two-tower', ['student', 'type'], "must be 'two-tower' in mode pfd-md");
    }
    if (c.hint !== undefined && !['joint', 'pfd', 'pfd-md'].includes(c.mode)) {
      need(false, ['hint'], `needs a live teacher: use mode joint, pfd or pfd-md (got '${c.mode}')`);
    }
    if (c.hint !== undefined) {
      need(
        c.student?.type === 'prerank-mlp',
        ['hint'],
        `is only for a prerank-mlp student (got '${c.student?.type ?? 'none'}'): ` +
          'a two-tower student keeps user and item apart until the final dot product, so none of its ' +
          "layers corresponds to the teacher's joint user-item layers",
      );
    }
  });

export type ExperimentConfig = z.output<typeof configSchema>;
export type ModelSpec = z.output<typeof modelSpec>;

/** `['distill', 1, 'temperature']` → `distill[1].temperature`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(config)' : out;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/**
 * Messages phrased to follow the path: `<path> must be > 0`. Used as the parse-time error map so
 * the input value is still known and can be quoted.
 */
function issueMessage(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      return iss.input === undefined
        ? `is required (${iss.expected})`
        : `must be ${iss.expected}, got ${describe(iss.input)}`;
    case 'too_small': {
      if (iss.origin === 'array') return `must have at least ${iss.minimum} item(s)`;
      if (iss.origin === 'string') return 'must not be empty';
      return `must be ${iss.inclusive ? '>=' : '>'} ${iss.minimum}`;
    }
    case 'too_big':
      return `must be ${iss.inclusive ? '<=' : '<'} ${iss.maximum}`;
    case 'invalid_value':
      return `must be one of ${iss.values.map((v) => `'${String(v)}'`).join(', ')}, got ${describe(iss.input)}`;
    case 'unrecognized_keys':
      return `has unknown key(s) ${iss.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_union':
      if (iss.discriminator !== undefined) {
        const options = ((iss as { options?: unknown[] }).options ?? []).map((o) => `'${String(o)}'`);
        return `must be one of ${options.join(', ')}`;
      }
      return 'matches none of the allowed forms';
    case 'invalid_format':
      return undefined;
    default:
      return undefined;
  }
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem(s) in the config:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates a parsed config object; throws ConfigError listing every problem with its path. */
export function parseConfig(raw: unknown, file = '<config>'): ExperimentConfig {
  const res = configSchema.safeParse(raw, { error: issueMessage });
  if (res.success) return res.data;
  const problems = res.error.issues.map((iss) => {
    const p = formatPath(iss.path);
    return `${p} ${iss.message}`;
  });
  throw new ConfigError(file, problems);
}

/** Reads a `.yaml`/`.yml`/`.json` config file and validates it. */
export function loadConfig(file: string): ExperimentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config ${file}: ${(err as Error).message}`);
  }
  const ext = extname(file).toLowerCase();
  let raw: unknown;
  try {
    if (ext === '.json') raw = JSON.parse(text);
    else if (ext === '.yaml' || ext === '.yml') raw = parseYaml(text);
    else throw new Error(`expected a .yaml, .yml or .json file, got '${ext || 'no extension'}'`);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  return parseConfig(raw, file);
}
