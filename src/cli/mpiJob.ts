import type { ShardSpec } from '../data/stream.js';
import { initMpi, type Mpi, mpiAvailable, mpiLaunch } from '../engine/mpi.js';

/**
 * Joins the MPI job this process was started in (`mpirun -np N kdrec …`, or the MPI Operator), or
 * returns null for a plain process. A one-rank job is finalised at once and treated as a plain run.
 * Started by a launcher without the MPI addon, the command stops: each of the N processes would
 * otherwise train the whole job alone and race on one run directory.
 */
export function joinMpiJob(command: string): Mpi | null {
  const launch = mpiLaunch();
  if (launch === null) return null;
  const a = mpiAvailable();
  if (!a.available) {
    throw new Error(
      `${command}: started by an MPI launcher (${launch.launcher}, rank ${launch.rank}) but the MPI addon ` +
        `is not available: ${a.reason}. Install libopenmpi-dev and run npm run build, or run without mpirun`,
    );
  }
  const mpi = initMpi();
  if (mpi.size === 1) {
    mpi.finalize();
    return null;
  }
  return mpi;
}

/** This rank's shard of a job's data: rows k ≡ rank mod size (src/data/stream.ts). */
export function rankShard(mpi: Mpi): ShardSpec {
  return { index: mpi.rank, count: mpi.size };
}

/**
 * The shard a data command reads: `--shard i/n` as given, else this rank's under mpirun (both at
 * once are refused: they would disagree), else the whole split.
 */
export function shardOfJob(mpi: Mpi | null, flag: ShardSpec | undefined): ShardSpec | undefined {
  if (mpi === null) return flag;
  if (flag !== undefined)
    throw new Error(
      `--shard ${flag.index}/${flag.count} under mpirun: each rank reads its own shard (rank/size); drop --shard`,
    );
  return rankShard(mpi);
}
