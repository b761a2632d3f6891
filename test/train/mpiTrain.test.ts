/**
 * `mpirun -np 2 kdrec train` (issue 16) on a prepared dataset, through the compiled CLI:
 * - the 2-rank job ends with exactly the parameters of the single process that computes each step
 *   as the 2 ranks do (`--interleave 2`), within 1e-5 relative of the one that trains on each
 *   global batch as one batch (`--interleave-concat`), and both ranks end bit-identical (the job
 *   checks that itself and fails otherwise);
 * - the bytes a rank sends per step are what the model implies;
 * - a rank killed mid-run ends the job quickly, naming the rank; `--resume` with 2 ranks continues
 *   to exactly the uninterrupted run's parameters, and resuming with 1 process or 3 ranks is refused;
 * - ranks started with different configs stop at start.
 * Skipped, with the reason, where mpirun or the MPI addon is missing. Slow end-to-end (~15 s).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { prepareDataset } from '../../src/data/loaders/index.js';
import { simulate } from '../../src/data/simulator.js';
import { readSafetensors } from '../../src/engine/safetensors.js';
import { checkpointParamDiff } from '../../src/train/parity.js';
import { tempDir } from '../data/fixtures.js';
import { mpirunContexts, mpiSkipReason, rankEnv } from '../engine/mpiHarness.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const HANG_MS = 60_000;

const skip = mpiSkipReason();

let dir = '';
let cfg = '';

before(async () => {
  if (skip !== null) return;
  dir = tempDir('mpi-train');
  await simulate({ out: join(dir, 'sim'), users: 300, items: 500, days: 2, seed: 5, requestsPerUserDay: 5 });
  const prep = join(dir, 'prep');
  await prepareDataset(`sim:${join(dir, 'sim')}`, { out: prep, rowGroupRows: 2048, partRows: 6000 });
  cfg = config('a', prep, 0.01);
});

function config(name: string, prep: string, lr: number, dropout = 0): string {
  const path = join(dir, `${name}.yaml`);
  // Adagrad: with Adam, a 1-ulp difference in a gradient grows chaotically (its update is ~lr·sign
  // for small second moments), so the JS kernels' float64 sums diverge by 1e-3 after 50 steps even
  // between two single processes on different kernel providers (BENCHMARKS.md).
  writeFileSync(
    path,
    [
      'name: mpi',
      'seed: 3',
      `dataset: { spec: 'prepared:${prep}', shuffleBuffer: 4096, maxValidRows: 2000 }`,
      'mode: student',
      `student: { type: two-tower, embeddingDim: 8, userHidden: [32, 16], itemHidden: [32, 16], dropout: ${dropout} }`,
      `optimizer: { dense: adagrad, sparse: sparse_adagrad, lr: ${lr} }`,
      'batchSize: 240', // a multiple of 2 and 3 ranks
      'steps: 50',
      'evalEvery: 0',
      'checkpointEvery: 25',
    ].join('\n'),
  );
  return path;
}

const mpirun = (contexts: { np: number; argv: string[] }[]) => mpirunContexts(contexts, HANG_MS);

const train = (...flags: string[]) => [process.execPath, CLI, 'train', '--config', cfg, '--quiet', ...flags];

function single(...flags: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'train', '--config', cfg, '--quiet', ...flags], {
    encoding: 'utf8',
    env: rankEnv(),
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const ckpt = (run: string, step: number) =>
  join(run, 'checkpoints', `step-${String(step).padStart(9, '0')}.safetensors`);

test('2 ranks equal the single process on the same global batches; bytes per step match the model', (t) => {
  if (skip !== null) return t.skip(skip);
  const ref = join(dir, 'ref');
  const one = single('--run-dir', ref, '--interleave', '2');
  assert.equal(one.code, 0, one.out);
  const whole = join(dir, 'whole');
  const w = single('--run-dir', whole, '--interleave', '2', '--interleave-concat');
  assert.equal(w.code, 0, w.out);
  const job = join(dir, 'job');
  const r = mpirun([{ np: 2, argv: train('--run-dir', job) }]);
  assert.equal(r.code, 0, r.out);
  // Rank 0 alone prints the summary.
  assert.equal(r.out.match(/student: 50 steps/g)?.length, 1, r.out);
  assert.match(r.out, /2 MPI ranks/);
  for (const step of [25, 50]) {
    // The process that computes each step as the 2 ranks do, summing in rank order: bit for bit.
    const d = checkpointParamDiff(ckpt(ref, step), ckpt(job, step));
    assert.ok(d.tensors > 5);
    assert.equal(d.maxRelInf, 0, `step ${step}: ${JSON.stringify(d)}`);
    // One batch of B rows: the same training up to float reassociation of the batch sums.
    const dw = checkpointParamDiff(ckpt(whole, step), ckpt(job, step));
    assert.ok(dw.maxRelL2 <= 1e-5, `step ${step}, whole batch: ${JSON.stringify(dw)}`);
  }
  // Loss terms logged by the job are the global batch's, as the single process logs them.
  const loss = (run: string) => JSON.parse(readFileSync(join(run, 'final.json'), 'utf8')).last.train;
  for (const [k, v] of Object.entries(loss(ref) as Record<string, number>))
    assert.ok(Math.abs(loss(job)[k] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `${k}: ${loss(job)[k]} vs ${v}`);
  const final = JSON.parse(readFileSync(join(job, 'final.json'), 'utf8'));
  assert.equal(final.ranks, 2);
  // Dense gradients: every float of every dense parameter, once a step.
  const dense = Object.entries(readSafetensors(ckpt(job, 50)).tensors)
    .filter(([n]) => n.startsWith('param/'))
    .reduce((s, [, x]) => s + x.data.length * 4, 0);
  assert.equal(final.distributed.denseBytesPerStep, dense);
  assert.ok(final.distributed.sparseBytesPerStep > 0);
  assert.equal(
    final.distributed.bytesPerStep,
    final.distributed.denseBytesPerStep +
      final.distributed.sparseBytesPerStep +
      final.distributed.controlBytesPerStep,
  );
});

test('with dropout, 2 ranks still equal --interleave 2 bit for bit (masks drawn per rank and step)', (t) => {
  if (skip !== null) return t.skip(skip);
  const withDropout = config('dropout', join(dir, 'prep'), 0.01, 0.3);
  const ref = join(dir, 'dropout-ref');
  const one = spawnSync(
    process.execPath,
    [CLI, 'train', '--config', withDropout, '--quiet', '--run-dir', ref, '--interleave', '2'],
    { encoding: 'utf8', env: rankEnv() },
  );
  assert.equal(one.status, 0, `${one.stdout}${one.stderr}`);
  const job = join(dir, 'dropout-job');
  const argv = [process.execPath, CLI, 'train', '--config', withDropout, '--quiet', '--run-dir', job];
  const r = mpirun([{ np: 2, argv }]);
  assert.equal(r.code, 0, r.out);
  const d = checkpointParamDiff(ckpt(ref, 50), ckpt(job, 50));
  assert.equal(d.maxRelInf, 0, JSON.stringify(d));
  // …and dropout did act: the run differs from the one without it.
  const plain = checkpointParamDiff(ckpt(join(dir, 'ref'), 50), ckpt(ref, 50));
  assert.ok(plain.maxRelL2 > 1e-3, JSON.stringify(plain));
});

test('a killed rank ends the job naming it; --resume with 2 ranks continues exactly, another N is refused', (t) => {
  if (skip !== null) return t.skip(skip);
  const full = join(dir, 'full');
  assert.equal(mpirun([{ np: 2, argv: train('--run-dir', full) }]).code, 0);
  const run = join(dir, 'killed');
  const trace = join(dir, 'trace.txt');
  // Rank 1 kills itself with SIGKILL as step 30 starts (after the step-25 checkpoint).
  const dead = mpirun([
    { np: 1, argv: train('--run-dir', run) },
    {
      np: 1,
      argv: ['env', `KDREC_TRACE_SAMPLES=${trace}`, 'KDREC_TRACE_KILL_AT=30', ...train('--run-dir', run)],
    },
  ]);
  assert.notEqual(dead.code, 0, dead.out);
  assert.match(dead.out, /process rank 1 with PID \d+ on node \S+ exited on signal 9/);
  assert.ok(dead.ms < 30_000, `took ${dead.ms} ms`);
  assert.doesNotMatch(dead.out, /student: 50 steps/);

  const alone = single('--run-dir', run, '--resume');
  assert.notEqual(alone.code, 0);
  assert.match(
    alone.out,
    /written by a job of 2 MPI rank\(s\); resume it with mpirun -np 2 \(this run has 1\)/,
  );
  const three = mpirun([{ np: 3, argv: train('--run-dir', run, '--resume') }]);
  assert.notEqual(three.code, 0);
  assert.match(
    three.out,
    /written by a job of 2 MPI rank\(s\); resume it with mpirun -np 2 \(this run has 3\)/,
  );

  const resumed = mpirun([{ np: 2, argv: train('--run-dir', run, '--resume') }]);
  assert.equal(resumed.code, 0, resumed.out);
  assert.match(resumed.out, /25 steps .* after resuming at step 25/);
  const d = checkpointParamDiff(ckpt(full, 50), ckpt(run, 50));
  assert.equal(d.maxRelInf, 0, JSON.stringify(d));
});

test('ranks started with different configs stop at start, naming the rank', (t) => {
  if (skip !== null) return t.skip(skip);
  const other = config('b', join(dir, 'prep'), 0.02);
  const run = join(dir, 'mismatch');
  const r = mpirun([
    { np: 1, argv: train('--run-dir', run) },
    { np: 1, argv: [process.execPath, CLI, 'train', '--config', other, '--quiet', '--run-dir', run] },
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /rank 1 has config hash [0-9a-f]{64} but rank 0 has [0-9a-f]{64}/);
  assert.doesNotMatch(r.out, /steps in/);
});
