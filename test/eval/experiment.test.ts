/**
 * The experiment runner on a tiny simulated world (1 seed, a handful of steps): results.json holds
 * every model with finite metrics and the reproducibility record, a second run reuses every cell
 * without retraining, a lost cell is retrained alone, and a changed config is refused instead of
 * mixing old cells with new ones.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  applyDemo,
  cellPath,
  defaultExperimentConfigPath,
  type ExperimentMatrixConfig,
  loadExperimentConfig,
  parseExperimentConfig,
  runExperiment,
} from '../../src/eval/experiment.js';
import { readResults, writeResults } from '../../src/eval/results.js';

const tiny = { embeddingDim: 4 };

function tinyConfig(steps = 6): ExperimentMatrixConfig {
  return parseExperimentConfig(
    {
      name: 'tiny',
      simulate: { users: 120, items: 80, days: 2, seed: 5 },
      train: { optimizer: { lr: 0.01 }, batchSize: 128, steps, evalEvery: 3 },
      teacher: { type: 'ranking-dnn', ...tiny, crossLayers: 1, hidden: [8] },
      student: { type: 'two-tower', ...tiny, userHidden: [8], itemHidden: [8] },
      students: {
        plain: { mode: 'student' },
        'logits-kd': {
          mode: 'two-stage',
          distill: [{ pred: 'ctr', target: 'column:teacher_ctr', loss: 'bce_soft' }],
        },
        'listwise-kd': {
          mode: 'two-stage',
          rankDistill: {
            pred: 'ctr',
            lists: { requests: 20, length: 10, random: 30 },
            listsPerBatch: 4,
            terms: [{ loss: 'listwise', target: 'teacher' }],
          },
        },
        dmtl: {
          mode: 'dmtl',
          teacher: { type: 'mmoe-esmm', ...tiny, experts: 2, expertHidden: [8], towerHidden: [4] },
          distill: [{ pred: 'ctr', target: 'ctcvr', loss: 'kl' }],
        },
        pfd: {
          mode: 'pfd',
          teacher: { hidden: [4], crossLayers: 0 },
          distill: [{ pred: 'ctr', target: 'ctr', loss: 'bce_soft' }],
          lambda: { kind: 'step', value: 1, startStep: 2 },
        },
        'pfd-md': {
          mode: 'pfd-md',
          distill: [{ pred: 'ctr', target: 'ctr', loss: 'bce_soft' }],
          lambda: { kind: 'step', value: 1, startStep: 2 },
        },
      },
      eval: { users: 40, k: 10, overlapKs: [5, 10] },
    },
    'tiny config',
  );
}

const MODELS = ['teacher', 'popularity', 'plain', 'logits-kd', 'listwise-kd', 'dmtl', 'pfd', 'pfd-md'];

describe('experiment runner', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kdrec-experiment-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('runs the matrix, resumes without retraining, retrains only a lost cell', async () => {
    const out = join(dir, 'exp');
    const started: string[] = [];
    const first = await runExperiment({
      dataset: 'sim',
      outDir: out,
      seeds: [1],
      config: tinyConfig(),
      events: { cellStart: (c) => started.push(c.model) },
    });
    assert.deepEqual(started, MODELS);
    assert.equal(first.trained, MODELS.length);
    const r = first.results;
    assert.deepEqual(
      r.models.map((m) => m.name),
      MODELS,
    );
    assert.deepEqual(r.seeds, [1]);
    assert.equal(r.primaryMetric, 'trueClicks@10');
    for (const m of r.models) {
      for (const metric of [
        'AUC',
        'GAUC',
        'Recall@10',
        'NDCG@10',
        'overlap@10',
        'trueClicks@10',
        'trueDwell@10',
      ]) {
        const s = m.metrics[metric];
        assert.ok(s !== undefined, `${m.name} lacks ${metric}`);
        assert.ok(Number.isFinite(s.mean), `${m.name} ${metric} = ${s.mean}`);
      }
      assert.ok(m.inferenceMsPer1k.mean > 0, `${m.name} inference cost`);
      assert.equal(m.overlapAtK?.length, 2);
    }
    const byName = Object.fromEntries(r.models.map((m) => [m.name, m]));
    assert.equal(byName['teacher']!.role, 'teacher');
    assert.equal(byName['teacher']!.metrics['overlap@10']!.mean, 1);
    assert.equal(byName['plain']!.role, 'baseline');
    assert.equal(byName['pfd']!.role, 'student');
    assert.ok(!('LogLoss' in byName['popularity']!.metrics), 'popularity scores are not probabilities');
    assert.ok(byName['plain']!.params > 0 && byName['plain']!.params === byName['logits-kd']!.params);
    // The ground truth is bounded by the best possible list over the same candidates.
    const oracle = (r.config['evaluation'] as { oracle: Record<string, number> }).oracle;
    for (const m of r.models) assert.ok(m.metrics['trueClicks@10']!.mean <= oracle['trueClicks@10']! + 1e-9);
    // Reproducibility record.
    assert.match(r.gitCommit, /^([0-9a-f]{40}(-dirty)?|unknown)$/);
    assert.match(r.kdrecVersion, /^\d+\.\d+\.\d+/);
    assert.match(r.dataset.fingerprint, /sha256 [0-9a-f]{64}/);
    assert.match(r.dataset.fingerprint, /simulator: world seed 5, 120 users × 80 items/);
    const fp = r.config['dataFingerprint'] as {
      files: { file: string; bytes: number }[];
      simulator: unknown;
    };
    assert.ok(fp.files.some((f) => f.file === 'events.csv' && f.bytes > 0));
    assert.ok(fp.simulator !== undefined);
    assert.ok((r.config['cells'] as Record<string, { mode: string }>)['pfd']!.mode === 'pfd');
    // results.json round-trips through its validator.
    writeResults(join(out, 'results.json'), r);
    assert.deepEqual(readResults(join(out, 'results.json')).models.length, MODELS.length);

    // Resume: nothing is retrained and the cell files are untouched.
    const mtimes = new Map(MODELS.map((m) => [m, statSync(cellPath(out, m, 1)).mtimeMs]));
    const again: string[] = [];
    const second = await runExperiment({
      dataset: 'sim',
      outDir: out,
      seeds: [1],
      config: tinyConfig(),
      events: { cellStart: (c) => again.push(c.model) },
    });
    assert.deepEqual(again, []);
    assert.equal(second.trained, 0);
    assert.equal(second.reused, MODELS.length);
    for (const m of MODELS) assert.equal(statSync(cellPath(out, m, 1)).mtimeMs, mtimes.get(m));
    assert.deepEqual(
      second.results.models.map((m) => m.metrics['AUC']!.mean),
      r.models.map((m) => m.metrics['AUC']!.mean),
    );

    // An interruption before the pfd cell was written: only pfd trains (the teacher is reloaded).
    unlinkSync(cellPath(out, 'pfd', 1));
    const third: string[] = [];
    const res3 = await runExperiment({
      dataset: 'sim',
      outDir: out,
      seeds: [1],
      config: tinyConfig(),
      events: { cellStart: (c) => third.push(c.model) },
    });
    assert.deepEqual(third, ['pfd']);
    assert.equal(res3.trained, 1);
    const pfdAgain = res3.results.models.find((m) => m.name === 'pfd')!;
    // Same seed, same data, same teacher scores: the retrained cell reproduces its ranking metrics.
    assert.equal(pfdAgain.metrics['overlap@10']!.mean, byName['pfd']!.metrics['overlap@10']!.mean);
    assert.ok(!readdirSync(join(out, 'cells')).some((f) => f.includes('.tmp-')), 'no temp files left');

    // A changed config never reuses old cells: the mismatch names the file.
    await assert.rejects(
      runExperiment({ dataset: 'sim', outDir: out, seeds: [1], config: tinyConfig(7) }),
      /teacher\.seed1\.json: this cell was trained with a different config/,
    );
  });

  test('config errors name the file and the student', () => {
    assert.throws(
      () =>
        parseExperimentConfig(
          { teacher: { type: 'ranking-dnn' }, student: { type: 'two-tower' }, students: {} },
          'x.yaml',
        ),
      /x\.yaml: .*students: must include 'plain'/s,
    );
    assert.throws(
      () =>
        parseExperimentConfig(
          {
            teacher: { type: 'ranking-dnn' },
            student: { type: 'two-tower' },
            train: { steps: 5 },
            students: {
              plain: { mode: 'student' },
              kd: {
                mode: 'pfd',
                distill: [{ pred: 'ctr', target: 'ctr', loss: 'nope' }],
                lambda: { kind: 'step', value: 1, startStep: 2 },
              },
            },
          },
          'x.yaml',
        ),
      /x\.yaml \(students\.kd\).*distill\[0\]\.loss/s,
    );
    assert.throws(
      () =>
        parseExperimentConfig(
          {
            teacher: { type: 'ranking-dnn' },
            student: { type: 'two-tower' },
            train: { steps: 5, seed: 3 },
            students: { plain: { mode: 'student' } },
          },
          'x.yaml',
        ),
      /train\.seed: set by the experiment per cell/,
    );
  });

  test('the shipped examples/experiment.yaml is valid and its demo block is applied', () => {
    const cfg = loadExperimentConfig(defaultExperimentConfigPath());
    for (const name of ['plain', 'logits-kd', 'listwise-kd', 'dmtl', 'pfd', 'pfd-md'])
      assert.ok(name in cfg.students, name);
    const { config, seeds } = applyDemo(cfg);
    assert.equal(seeds, cfg.demo?.seeds ?? 1);
    assert.ok((config.simulate.users ?? 0) <= (cfg.simulate.users ?? Infinity));
    assert.equal(config.teacher['type'], 'ranking-dnn');
  });
});
