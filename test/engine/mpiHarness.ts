/**
 * What every test that starts `mpirun` shares: why it must skip here (no Open MPI mpirun, or no
 * addon), the environment its ranks get, and a bounded mpirun run with one or more app contexts
 * (`-np 1 cmd : -np 1 cmd` gives ranks their own arguments). A hung job is stopped with SIGTERM,
 * which mpirun passes on to its ranks (a SIGKILLed mpirun would leave them spinning).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mpiAvailable } from '../../src/engine/mpi.js';

/** null when mpirun (Open MPI, whose messages the tests read) and the MPI addon are usable. */
export function mpiSkipReason(): string | null {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0)
    return 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)';
  if (!/Open MPI/i.test(`${r.stdout}${r.stderr}`))
    return 'mpirun is not Open MPI (these tests read its messages)';
  const a = mpiAvailable();
  return a.available ? null : `MPI addon unavailable: ${a.reason}`;
}

/** The caller's environment without the test runner's variables and kdrec's test/fault switches. */
export function rankEnv(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  for (const k of ['NODE_TEST_CONTEXT', 'KDREC_MPI_TIMEOUT', 'KDREC_TRACE_SAMPLES', 'KDREC_TRACE_KILL_AT'])
    delete e[k];
  return e;
}

export interface MpirunResult {
  code: number | null;
  out: string;
  ms: number;
}

/** Runs mpirun (oversubscribed, allowed as root) over the app contexts; asserts it did not hang. */
export function mpirunContexts(
  contexts: { np: number; argv: string[] }[],
  hangMs = 60_000,
  env: NodeJS.ProcessEnv = rankEnv(),
): MpirunResult {
  const args = ['--oversubscribe', '--allow-run-as-root'];
  contexts.forEach((c, i) => {
    if (i > 0) args.push(':');
    args.push('-np', String(c.np), ...c.argv);
  });
  const t0 = Date.now();
  const r = spawnSync('mpirun', args, { encoding: 'utf8', env, timeout: hangMs, killSignal: 'SIGTERM' });
  const ms = Date.now() - t0;
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  assert.ok(ms < hangMs, `mpirun ${args.join(' ')} hung (stopped after ${hangMs} ms):\n${out}`);
  return { code: r.status, out, ms };
}
