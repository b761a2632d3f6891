/**
 * Every training mode on a tiny simulated world (built by the test, in a few seconds): each mode's
 * loss terms fall, and the modes that should produce a student do.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { LoadedDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { simulate } from '../../src/data/simulator.js';
import { auc } from '../../src/eval/metrics/auc.js';
import { isTwoTower } from '../../src/models/types.js';
import { type ExperimentConfig, parseConfig } from '../../src/run/config.js';
import { runFromConfig, teacherOnly, teacherScoreRun } from '../../src/train/run.js';
import type { EvalRecord } from '../../src/train/trainer.js';

let root = '';
let dataset: LoadedDataset;
let simDir = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'kdrec-modes-'));
  simDir = join(root, 'world');
  await simulate({ out: simDir, users: 400, items: 600, days: 2, seed: 7 });
  dataset = await loadDataset(`sim:${simDir}`);
});

const small = { embeddingDim: 8 };
const teacherDnn = { type: 'ranking-dnn', ...small, hidden: [32, 16] };
const twoTower = { type: 'two-tower', ...small, userHidden: [16], itemHidden: [16] };

function cfg(over: Record<string, unknown>): ExperimentConfig {
  return parseConfig({
    dataset: { spec: `sim:${simDir}` },
    batchSize: 256,
    steps: 100,
    evalEvery: 25,
    optimizer: { lr: 0.005 },
    seed: 3,
    outDir: join(root, 'runs'),
    ...over,
  });
}

function falls(history: EvalRecord[], term: string): void {
  const a = history[0]!.train[term];
  const b = history[history.length - 1]!.train[term];
  assert.ok(
    a !== undefined && b !== undefined,
    `no loss term '${term}' (have ${Object.keys(history[0]!.train).join(', ')})`,
  );
  assert.ok(b < a, `${term} did not fall: ${a} -> ${b}`);
}

const run = (c: ExperimentConfig) => runFromConfig(c, { dataset, noRunDir: true, auc: (y, s) => auc(y, s) });

test('teacher mode: the ranking DNN learns the click label', async () => {
  const res = await run(cfg({ mode: 'teacher', teacher: teacherDnn }));
  falls(res.history, 'teacher.hard.ctr');
  assert.equal(res.student, null);
  assert.ok(res.final.last!.valid.teacher!['ctr']!.auc! > 0.6);
});

test('joint logits KD (exposures): teacher, student and kd terms fall; a student is produced', async () => {
  const res = await run(
    cfg({
      mode: 'joint',
      teacher: teacherDnn,
      student: twoTower,
      distill: [{ pred: 'ctr', target: 'ctr', loss: 'bce_soft', temperature: 2 }],
    }),
  );
  for (const t of ['teacher.hard.ctr', 'student.hard.ctr', 'kd0.bce_soft(ctr<-ctr)']) falls(res.history, t);
  assert.ok(res.student !== null && isTwoTower(res.student));
  assert.ok(res.final.last!.valid.student!['ctr']!.auc! > 0.55);
});

test('PFD: λ warm-up, teacher with privileged features, pre-ranking student; selection after warm-up', async () => {
  const res = await run(
    cfg({
      mode: 'pfd',
      teacher: teacherDnn,
      student: { type: 'prerank-mlp', ...small, hidden: [16] },
      distill: [{ pred: 'ctr', target: 'ctr', loss: 'bce_soft' }],
      lambda: { kind: 'step', value: 0.5, startStep: 50 },
    }),
  );
  falls(res.history, 'teacher.hard.ctr');
  falls(res.history, 'student.hard.ctr');
  assert.ok(res.final.selectedStep! >= 50);
  assert.deepEqual(
    res.history.map((r) => r.lambda),
    [0, 0, 0.5, 0.5],
  );
});

test('PFD+MD: ranking DNN teacher and two-tower student share embeddings (recall samples)', async () => {
  const res = await run(
    cfg({
      mode: 'pfd-md',
      dataset: { spec: `sim:${simDir}`, studentSamples: 'recall', negatives: 3 },
      teacher: teacherDnn,
      student: twoTower,
      distill: [{ pred: 'ctr', target: 'ctr', loss: 'kl' }],
      lambda: { kind: 'linear', value: 1, startStep: 10, endStep: 40 },
    }),
  );
  falls(res.history, 'teacher.hard.ctr');
  falls(res.history, 'student.hard.ctr');
  const shared = res.teacher!.store.tables().filter((t) => res.student!.store.tables().includes(t));
  assert.ok(
    shared.some((t) => t.name === 'emb.user_id') && shared.some((t) => t.name === 'emb.item_id'),
    `shared tables: ${shared.map((t) => t.name).join(', ')}`,
  );
});

test('separateStudentUserId gives the student its own user-id table', async () => {
  const res = await run(
    cfg({
      mode: 'joint',
      steps: 20,
      evalEvery: 0,
      teacher: teacherDnn,
      student: twoTower,
      distill: [{ pred: 'ctr', target: 'ctr', loss: 'kl' }],
      separateStudentUserId: true,
    }),
  );
  const teacherTables = new Set(res.teacher!.store.tables().map((t) => t.name));
  const studentUser = res.student!.store.tables().filter((t) => t.name.endsWith('emb.user_id'));
  assert.equal(studentUser.length, 1);
  assert.ok(!teacherTables.has(studentUser[0]!.name), `student user table ${studentUser[0]!.name} is shared`);
});

test('DMTL: MMoE+ESMM teacher, two-tower student trained by KL to the ctcvr logit only', async () => {
  const res = await run(
    cfg({
      mode: 'dmtl',
      teacher: { type: 'mmoe-esmm', ...small, expertHidden: [16], towerHidden: [8] },
      student: twoTower,
      distill: [{ pred: 'ctr', target: 'ctcvr', loss: 'kl' }],
    }),
  );
  const terms = Object.keys(res.history[0]!.train);
  assert.ok(!terms.some((t) => t.startsWith('student.hard')), `student has a hard loss: ${terms.join(', ')}`);
  falls(res.history, 'teacher.hard.ctr');
  falls(res.history, 'teacher.hard.ctcvr');
  falls(res.history, 'kd0.kl(ctr<-ctcvr)');
  // The student is scored against the label its target learns: long engagement (ctcvr).
  assert.equal(res.final.last!.valid.student!['ctr']!.label, 'long_dwell');
});

test('hint on a pre-ranking MLP student trains; a two-tower student is refused with the reason', async () => {
  const res = await run(
    cfg({
      mode: 'joint',
      teacher: teacherDnn,
      student: { type: 'prerank-mlp', ...small, hidden: [16] },
      distill: [{ pred: 'ctr', target: 'ctr', loss: 'bce_soft' }],
      hint: { student: 'mlp.0', teacher: 'deep.0', weight: 1 },
    }),
  );
  assert.ok(res.history[0]!.train['hint'] !== undefined);
  assert.throws(
    () =>
      cfg({
        mode: 'joint',
        teacher: teacherDnn,
        student: twoTower,
        hint: { student: 'user.0', teacher: 'deep.0' },
      }),
    /hint is only for a prerank-mlp student.*separat|hint is only for a prerank-mlp student/s,
  );
});

test('two-stage: teacher train, teacher score on recall samples, student trains on the columns', async () => {
  const base = cfg({
    mode: 'two-stage',
    dataset: { spec: `sim:${simDir}`, negatives: 3 },
    teacher: teacherDnn,
    student: twoTower,
    distill: [{ pred: 'ctr', target: 'column:teacher_ctr', loss: 'bce_soft' }],
  });
  const teacherRun = join(root, 'runs', 'teacher');
  const t = await runFromConfig(teacherOnly(base), { dataset, runDir: teacherRun, auc: (y, s) => auc(y, s) });
  falls(t.history, 'teacher.hard.ctr');
  assert.ok(existsSync(join(teacherRun, 'best.safetensors')));
  const scores = join(root, 'teacher-scores.safetensors');
  const scored = await teacherScoreRun(teacherRun, { samples: 'recall', out: scores, dataset });
  assert.ok(scored.rows > 0 && scored.columns.includes('teacher_ctr'));
  assert.ok(scored.diagnostic.isRandomNegative.some((x) => x === 1));
  const s = await runFromConfig(base, {
    dataset,
    teacherScores: scores,
    noRunDir: true,
    auc: (y, sc) => auc(y, sc),
  });
  assert.equal(s.teacher, null);
  falls(s.history, 'student.hard.ctr');
  falls(s.history, 'kd0.bce_soft(ctr<-column:teacher_ctr)');
  assert.ok(s.student !== null);
  // A file scored on other samples is refused, naming the mismatch.
  await assert.rejects(
    runFromConfig(cfg({ ...base, seed: 4, dataset: { spec: `sim:${simDir}`, negatives: 3 } }), {
      dataset,
      teacherScores: scores,
      noRunDir: true,
    }),
    /was scored for \(user .*\) but the student's row .* is|scored \d+ samples but/,
  );
});
