import { availableParallelism } from 'node:os';

/**
 * Warns on stderr when data-parallel training asks for more threads than the machine has cores:
 * every step waits at its barriers for the slowest rank, and a rank that shares a core is the slowest
 * (BENCHMARKS.md, "Training engine").
 */
export function warnIfOversubscribed(threads: number): void {
  const cores = availableParallelism();
  if (threads > cores) {
    process.stderr.write(
      `kdrec: warning: threads ${threads} > ${cores} cores available; synchronous data-parallel ranks ` +
        `that share a core wait for each other at every step (compare with --threads ${cores})\n`,
    );
  }
}
