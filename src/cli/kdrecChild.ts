/** Benchmarks run each phase as its own `kdrec` process, so each phase's peak RSS is its own. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** This CLI's entry point, for benchmarks that run each phase as its own process. */
export const KDREC_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * Runs `kdrec ARGS` (or, with `launcher`, `LAUNCHER... node kdrec ARGS`, e.g. mpirun) as a child
 * process and returns its stdout; a failure throws with the label and the child's stderr.
 */
export function runKdrec(
  label: string,
  args: string[],
  log?: (m: string) => void,
  launcher: string[] = [],
): string {
  const argv = [...launcher, process.execPath, KDREC_MAIN, ...args];
  log?.(`${label}: ${launcher.length > 0 ? `${launcher.join(' ')} ` : ''}kdrec ${args.join(' ')}`);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0)
    throw new Error(`${label} failed (exit ${r.status ?? r.signal}):\n${r.stderr}${r.error?.message ?? ''}`);
  return r.stdout;
}
