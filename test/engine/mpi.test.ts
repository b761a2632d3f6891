/**
 * MPI collectives and faults (issue 16), on 2 local ranks: each case starts
 * `mpirun --oversubscribe --allow-run-as-root -np 2 node dist/test/engine/mpiWorker.js <scenario>`
 * and checks mpirun's exit code, its output and how long it took (a dead rank must end the job
 * within seconds, not hang it). Skipped, with the reason, where mpirun or the addon is missing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MPI_TIMEOUT_EXIT_CODE, mpiAvailable, mpiLaunch, mpiTimeoutFromEnv } from '../../src/engine/mpi.js';
import { type MpirunResult, mpirunContexts, mpiSkipReason } from './mpiHarness.js';

const worker = fileURLToPath(new URL('./mpiWorker.js', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** Far above any case's run time (< 3 s here): reaching it means the job hung. */
const HANG_MS = 30_000;

const skipReason = mpiSkipReason();

function mpirun(scenario: string, program = [worker, scenario]): MpirunResult {
  return mpirunContexts([{ np: 2, argv: [process.execPath, ...program] }], HANG_MS);
}

test('mpiLaunch reads the launcher variables; a plain process is not launched', () => {
  assert.equal(mpiLaunch({}), null);
  assert.deepEqual(
    mpiLaunch({ OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '8', OMPI_COMM_WORLD_LOCAL_RANK: '1' }),
    { launcher: 'open-mpi', rank: 3, size: 8, localRank: 1 },
  );
  assert.deepEqual(mpiLaunch({ PMIX_RANK: '2' }), { launcher: 'pmix', rank: 2, size: null, localRank: null });
  assert.deepEqual(mpiLaunch({ PMI_RANK: '0', PMI_SIZE: '4' }), {
    launcher: 'pmi',
    rank: 0,
    size: 4,
    localRank: null,
  });
  assert.equal(mpiLaunch({ OMPI_COMM_WORLD_RANK: 'x' }), null);
});

test('KDREC_MPI_TIMEOUT: off by default, seconds, refused when not a number >= 0', () => {
  assert.equal(mpiTimeoutFromEnv({}), 0);
  assert.equal(mpiTimeoutFromEnv({ KDREC_MPI_TIMEOUT: '2.5' }), 2.5);
  assert.throws(
    () => mpiTimeoutFromEnv({ KDREC_MPI_TIMEOUT: '-1' }),
    /KDREC_MPI_TIMEOUT must be a number of seconds >= 0/,
  );
  assert.throws(() => mpiTimeoutFromEnv({ KDREC_MPI_TIMEOUT: 'ten' }), /got 'ten'/);
});

test('mpiAvailable says why when the addon is missing, and the library when it loads', (t) => {
  const a = mpiAvailable();
  if (!a.available) {
    assert.match(a.reason, /kdrec_mpi\.node|cannot load/);
    t.skip(`MPI addon unavailable: ${a.reason}`);
    return;
  }
  assert.match(a.library, /\S/);
  assert.match(a.standard, /^\d+\.\d+$/);
});

test('2 ranks: allreduce / allgather(v) / alltoall(v) / bcast on f32, i32, f64, helpers, argument errors', (t) => {
  if (skipReason !== null) return t.skip(skipReason);
  const r = mpirun('collectives');
  assert.equal(r.code, 0, r.out);
  for (const rank of [0, 1]) {
    assert.match(
      r.out,
      new RegExp(`rank ${rank}: ok, 18 collective checks, 22 argument errors \\(size 2, funneled\\)`),
    );
  }
});

test('2 ranks: a config hash that differs on rank 1 fails every rank, naming both ranks and hashes', (t) => {
  if (skipReason !== null) return t.skip(skipReason);
  const r = mpirun('mismatch');
  assert.notEqual(r.code, 0, r.out);
  assert.match(
    r.out,
    new RegExp(`rank 1 has config hash ${'cd'.repeat(32)} but rank 0 has ${'ab'.repeat(32)}`),
  );
  assert.match(r.out, /kdrec: rank [01] of 2: aborting the MPI job/);
  assert.doesNotMatch(r.out, /checkSameConfig passed/);
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
});

test('2 ranks: rank 1 calling process.exit(3) before a collective aborts the job with code 3, naming rank 1', (t) => {
  if (skipReason !== null) return t.skip(skipReason);
  const r = mpirun('exit3');
  assert.equal(r.code, 3, r.out);
  assert.match(r.out, /kdrec: rank 1 of 2: exiting \(code 3\) without finalize\(\); aborting the MPI job/);
  assert.doesNotMatch(r.out, /allreduce returned/);
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
});

test('2 ranks: rank 1 killed by SIGKILL while rank 0 waits in allreduce ends the job, naming rank 1', (t) => {
  if (skipReason !== null) return t.skip(skipReason);
  const r = mpirun('sigkill');
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /process rank 1 with PID \d+ on node \S+ exited on signal 9/);
  assert.doesNotMatch(r.out, /allreduce returned/);
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
});

for (const [scenario, what] of [
  ['throw', 'uncaught exception'],
  ['reject', 'unhandled promise rejection'],
] as const) {
  test(`2 ranks: an ${what} on rank 1 prints it with the rank and aborts the job`, (t) => {
    if (skipReason !== null) return t.skip(skipReason);
    const r = mpirun(scenario);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`kdrec: rank 1 of 2: ${what}: Error: rank 1 failed before the allreduce`));
    assert.match(r.out, /kdrec: rank 1 of 2: aborting the MPI job \(MPI_Abort, code 1\)/);
    assert.doesNotMatch(r.out, /allreduce returned/);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  });
}

test('2 ranks: the watchdog (1 s) ends a rank stuck in a barrier with code 124 while its peer sleeps', (t) => {
  if (skipReason !== null) return t.skip(skipReason);
  const r = mpirun('timeout');
  assert.equal(r.code, MPI_TIMEOUT_EXIT_CODE, r.out);
  assert.match(r.out, /kdrec: rank 0 of 2: MPI_Barrier has not returned after 1 s \(KDREC_MPI_TIMEOUT\)/);
  assert.doesNotMatch(r.out, /barrier returned/);
  // Rank 1 sleeps 8 s: finishing well before that means the watchdog, not rank 1, ended the job.
  assert.ok(r.ms < 6_000, `took ${r.ms} ms`);
});

test('kdrec doctor --json: MPI availability in a plain process (no MPI_Init), and rank/size under mpirun', (t) => {
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const plain = spawnSync(process.execPath, [cli, 'doctor', '--json'], { encoding: 'utf8', env });
  assert.equal(plain.status, 0, plain.stderr);
  const report = JSON.parse(plain.stdout) as {
    mpi: { available: boolean; reason?: string; library?: string; launch: unknown };
  };
  const a = mpiAvailable();
  assert.equal(report.mpi.available, a.available);
  assert.equal(report.mpi.launch, null);
  if (a.available) assert.equal(report.mpi.library, a.library);
  else assert.equal(report.mpi.reason, a.reason);

  if (skipReason !== null) return t.skip(skipReason);
  const r = mpirun('doctor', [cli, 'doctor', '--json']);
  assert.equal(r.code, 0, r.out);
  const ranks = r.out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map(
      (l) =>
        (JSON.parse(l) as { mpi: { launch: { rank: number; size: number; threadLevel: string } } }).mpi
          .launch,
    );
  assert.deepEqual(ranks.map((l) => l.rank).sort(), [0, 1], r.out);
  for (const l of ranks) {
    assert.equal(l.size, 2);
    assert.equal(l.threadLevel, 'funneled');
  }
});
