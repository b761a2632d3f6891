/**
 * `threads: N` in the training loop (src/train/dataParallel.ts): the same run on 1, 2 and 3
 * threads follows the same trajectory up to float rounding (λ schedule, hint regressor, clipping,
 * every logged term), a 2-thread run resumes bit-exactly, a checkpoint refuses another thread
 * count, and batches survive the trip to the engine's flat columns.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { Batch } from '../../src/data/batch.js';
import type { LoadedDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { simulate } from '../../src/data/simulator.js';
import { checkBatch } from '../../src/engine/parallel.js';
import { Rng } from '../../src/engine/rng.js';
import { auc } from '../../src/eval/metrics/auc.js';
import { type ExperimentConfig, parseConfig } from '../../src/run/config.js';
import { buildModels } from '../../src/run/models.js';
import { listCheckpoints, runPaths } from '../../src/run/runDir.js';
import { prepareRunData } from '../../src/train/data.js';
import { batchColumns, fromColumnBatch, toColumnBatch } from '../../src/train/dataParallel.js';
import { runFromConfig } from '../../src/train/run.js';
import { trainAsync } from '../../src/train/trainer.js';

let root = '';
let dataset: LoadedDataset;
let simDir = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'kdrec-dp-'));
  simDir = join(root, 'world');
  await simulate({ out: simDir, users: 300, items: 400, days: 2, seed: 9 });
  dataset = await loadDataset(`sim:${simDir}`);
});

const small = { embeddingDim: 8 };

/** PFD with a hint regressor, a λ warm-up, clipping and an odd batch size (unequal shards). */
function pfd(over: Record<string, unknown> = {}): ExperimentConfig {
  return parseConfig({
    dataset: { spec: `sim:${simDir}` },
    mode: 'pfd',
    teacher: { type: 'ranking-dnn', ...small, hidden: [32, 16] },
    student: { type: 'prerank-mlp', ...small, hidden: [16] },
    distill: [{ pred: 'ctr', target: 'ctr', loss: 'bce_soft', temperature: 2 }],
    hint: { student: 'mlp.0', teacher: 'deep.0', weight: 0.5 },
    lambda: { kind: 'step', value: 0.5, startStep: 8 },
    optimizer: { lr: 0.005, clipNorm: 5 },
    batchSize: 255,
    steps: 24,
    evalEvery: 8,
    seed: 4,
    outDir: join(root, 'runs'),
    ...over,
  });
}

const run = (c: ExperimentConfig, runDir?: string, resume = false) =>
  runFromConfig(c, {
    dataset,
    ...(runDir !== undefined ? { runDir } : { noRunDir: true }),
    resume,
    auc: (y, s) => auc(y, s),
  });

/** The same run on 1 thread and on `threads`: every eval record's terms, λ and validation agree. */
async function sameTrajectory(base: ExperimentConfig, threads: number): Promise<void> {
  const one = await run(base);
  const res = await run({ ...base, threads });
  assert.equal(res.history.length, one.history.length);
  res.history.forEach((r, i) => {
    const ref = one.history[i]!;
    const at = `${base.mode}, ${threads} threads, step ${r.step}`;
    assert.equal(r.lambda, ref.lambda, at);
    assert.deepEqual(Object.keys(r.train).sort(), Object.keys(ref.train).sort(), at);
    for (const [term, v] of Object.entries(ref.train)) {
      const got = r.train[term]!;
      assert.ok(Math.abs(got - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${at}, ${term}: ${got} vs ${v}`);
    }
    for (const role of ['teacher', 'student'] as const) {
      for (const [o, m] of Object.entries(ref.valid[role] ?? {})) {
        const a = r.valid[role]![o]!;
        assert.ok(
          Math.abs(a.logloss - m.logloss) < 1e-5,
          `${at}, ${role}.${o} logloss ${a.logloss} vs ${m.logloss}`,
        );
      }
    }
  });
}

test('1, 2 and 3 threads follow the same trajectory: every logged term, λ and validation', async () => {
  // PFD: ranking DNN (privileged features) + pre-ranking MLP, hint regressor, λ warm-up, clipping.
  for (const threads of [2, 3]) await sameTrajectory(pfd(), threads);
  const res = await run(pfd({ threads: 2 }));
  assert.ok(res.history[0]!.train['hint'] !== undefined);
  // The warm-up (λ = 0 up to step 8) and the steps after it are seen alike by every rank.
  assert.deepEqual(
    res.history.map((r) => r.lambda),
    [0, 0.5, 0.5],
  );
  // DMTL: MMoE+ESMM teacher, two-tower student distilled to the teacher's ctcvr by KL.
  await sameTrajectory(
    pfd({
      mode: 'dmtl',
      teacher: { type: 'mmoe-esmm', ...small, expertHidden: [16], towerHidden: [8] },
      student: { type: 'two-tower', ...small, userHidden: [16], itemHidden: [16] },
      distill: [{ pred: 'ctr', target: 'ctcvr', loss: 'kl' }],
      hint: undefined,
    }),
    2,
  );
  // A factorisation machine student alone.
  await sameTrajectory(
    pfd({
      mode: 'student',
      teacher: undefined,
      student: { type: 'fm', ...small },
      distill: [],
      hint: undefined,
    }),
    2,
  );
});

test('a 2-thread run resumes bit-exactly; its checkpoint refuses another thread count', async () => {
  const full = join(root, 'full');
  const cut = join(root, 'cut');
  await run(pfd({ threads: 2 }), full);
  await run(pfd({ threads: 2, steps: 16 }), cut);
  await run(pfd({ threads: 2 }), cut, true);
  const last = (dir: string) => readFileSync(listCheckpoints(runPaths(dir)).at(-1)!.path);
  assert.ok(last(full).equals(last(cut)), 'the resumed run ends with another checkpoint');
  await assert.rejects(
    run(pfd({ threads: 1, steps: 32 }), cut, true),
    /written by a run with threads: 2; resume it with --threads 2 \(this run has 1\)/,
  );
});

test('a NaN term on a data-parallel run stops training naming the step and the term', async () => {
  const c = pfd({ threads: 2 });
  const prepared = await prepareRunData(c, { dataset });
  const modelContext = { labels: dataset.labels };
  const built = buildModels(c, dataset.schema, new Rng(c.seed).fork('models'), modelContext);
  await assert.rejects(
    trainAsync({
      config: c,
      data: prepared.data,
      models: built,
      modelContext,
      onProgress: (p) => {
        // The parameters live in shared memory: every rank now reads a NaN teacher.
        if (p.step === 3) built.teacher!.store.params()[0]!.data.fill(Number.NaN);
      },
    }),
    /training stopped at step 3: loss term 'teacher\.hard\.ctr' is NaN/,
  );
});

test('rank distillation refuses threads > 1 with the reason', async () => {
  const c = pfd({ threads: 2, mode: 'joint', hint: undefined });
  const prepared = await prepareRunData(c, { dataset });
  const modelContext = { labels: dataset.labels };
  const built = buildModels(c, dataset.schema, new Rng(c.seed).fork('models'), modelContext);
  const opts = { config: c, data: prepared.data, models: built, modelContext };
  const rd = parseConfig({
    ...c,
    rankDistill: { lists: { requests: 8, length: 4, random: 4 }, terms: [{ loss: 'bpr' }] },
  });
  await assert.rejects(
    trainAsync({ ...opts, config: rd }),
    /threads: 2 — rankDistill runs on one thread \(its candidate lists are drawn from the whole dataset/,
  );
});

test('batches survive the trip to flat engine columns (sequences, Float64 timestamps, keys)', () => {
  const rows = 3;
  const b: Batch = {
    size: rows,
    cat: { user: Int32Array.from([1, 2, 3]) },
    seq: { hist: { ids: Int32Array.from([4, 5, -1, 6, -1, -1, 7, 8, 9]), maxLen: 3 } },
    num: { age: Float32Array.from([0.5, -1, 2]) },
    labels: { click: Float32Array.from([1, 0, 1]) },
    extra: { teacher_ctr: Float32Array.from([0.1, 0.2, 0.3]) },
    userKey: Int32Array.from([7, 8, 9]),
    itemKey: Int32Array.from([1, 1, 2]),
    requestId: Int32Array.from([0, 0, 1]),
    ts: Float64Array.from([1.7e9 + 0.5, 1.7e9 + 1, 1.7e9 + 2]),
  };
  const columns = batchColumns(b);
  assert.deepEqual(columns['seq.hist'], { type: 'i32', width: 3 });
  assert.deepEqual(columns['ts'], { type: 'f64', width: 1 });
  const cb = toColumnBatch(b);
  checkBatch(cb, columns);
  assert.deepEqual(fromColumnBatch(cb, columns), b);
});
