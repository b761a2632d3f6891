/**
 * MPI_Allreduce (sum, in place, Float32Array) through kdrec's MPI layer (issue 16): latency and
 * bandwidth per message size, median over repetitions. Run under mpirun, e.g.
 *
 *   npm run build && mpirun --oversubscribe -np 2 node dist/bench/mpiAllreduce.js --reps 50
 *
 * (add --allow-run-as-root as root). Each repetition is barrier → allreduce timed on every rank; a
 * repetition's time is the slowest rank's (an allreduce is done when every rank has the result), and
 * rank 0 prints the median of those. algbw = bytes / time; busbw = algbw · 2(n−1)/n, the bytes each
 * rank's link carries in a ring allreduce (NCCL's convention), comparable across rank counts.
 * --timeout S sets the collective watchdog, to measure its cost.
 */
import { initMpi } from '../src/engine/mpi.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const reps = arg('reps', 30);
const mpi = initMpi({ timeoutSeconds: arg('timeout', 0) });
const sizes = [1, 1024, 65_536, 1 << 20, 4 << 20];
const rows: string[] = [];
for (const n of sizes) {
  const buf = new Float32Array(n).fill(1);
  const times = new Float64Array(1);
  const samples: number[] = [];
  for (let r = -3; r < reps; r++) {
    buf.fill(1); // outside the timed region; every rank's result must then be `size` everywhere
    mpi.barrier();
    const t0 = process.hrtime.bigint();
    mpi.allreduce(buf);
    times[0] = Number(process.hrtime.bigint() - t0) / 1e9;
    if (buf[0] !== mpi.size || buf[n - 1] !== mpi.size)
      throw new Error(`allreduce of ${n} floats: wrong sum`);
    mpi.allreduce(times, 'max');
    if (r >= 0) samples.push(times[0]!);
  }
  samples.sort((a, b) => a - b);
  const med = samples[samples.length >> 1]!;
  const bytes = n * 4;
  const algbw = bytes / med / 1e9;
  const busbw = (algbw * 2 * (mpi.size - 1)) / mpi.size;
  rows.push(
    `| ${n.toLocaleString('en-US')} | ${(bytes / 1024).toLocaleString('en-US')} KiB | ${(med * 1e6).toFixed(1)} µs | ` +
      `${(samples[0]! * 1e6).toFixed(1)} µs | ${algbw.toFixed(2)} GB/s | ${busbw.toFixed(2)} GB/s |`,
  );
}
if (mpi.rank === 0) {
  console.log(
    `${mpi.library}; ${mpi.size} ranks on ${mpi.processorName}; ${reps} reps; watchdog ${mpi.timeoutSeconds || 'off'}`,
  );
  console.log('| floats | bytes | median | min | algbw | busbw |\n|---|---|---|---|---|---|');
  console.log(rows.join('\n'));
}
mpi.finalize();
