/**
 * `kdrec doctor`: reports the compute environment: which kernel provider is active and why, the
 * BLAS library and its thread count (native provider), each provider's availability, and the CPU's
 * SIMD features (issue 8); whether MPI is available (and why not), its library version, and, when
 * started by mpirun, this process's rank and size (issue 16).
 */

import { cpus } from 'node:os';
import type { Command } from 'commander';
import { kernelsInfo } from '../../engine/kernels/index.js';
import { initMpi, mpiAvailable, mpiLaunch } from '../../engine/mpi.js';

/** What doctor reports about MPI (also its --json `mpi` field). */
export interface MpiReport {
  available: boolean;
  /** Why MPI is unavailable (the addon is not built, or does not load). */
  reason?: string;
  /** MPI_Get_library_version's first line, and the MPI standard version. */
  library?: string;
  standard?: string;
  /** Null for a plain process; under mpirun, this rank as MPI reports it (MPI is initialised to check). */
  launch: null | {
    launcher: string;
    rank: number;
    size: number | null;
    processorName?: string;
    threadLevel?: string;
  };
}

/**
 * Under a launcher, MPI is initialised and finalised here, so doctor proves that MPI_Init works in
 * a Node process (e.g. `mpirun -np 2 kdrec doctor`) rather than only that the addon loads. A plain
 * process does not call MPI_Init.
 */
export function mpiReport(): MpiReport {
  const a = mpiAvailable();
  const launch = mpiLaunch();
  if (!a.available) {
    return {
      available: false,
      reason: a.reason,
      launch: launch && { launcher: launch.launcher, rank: launch.rank, size: launch.size },
    };
  }
  const report: MpiReport = { available: true, library: a.library, standard: a.standard, launch: null };
  if (launch !== null) {
    const mpi = initMpi();
    report.launch = {
      launcher: launch.launcher,
      rank: mpi.rank,
      size: mpi.size,
      processorName: mpi.processorName,
      threadLevel: mpi.threadLevel,
    };
    mpi.finalize();
  }
  return report;
}

function mpiLines(m: MpiReport): string[] {
  const lines = [
    `mpi:          ${m.available ? `${m.library} (MPI ${m.standard})` : `unavailable: ${m.reason}`}`,
  ];
  if (m.launch === null) {
    lines.push('mpi rank:     — (not started by mpirun)');
  } else {
    const l = m.launch;
    const where =
      l.processorName !== undefined ? ` on ${l.processorName}, thread level ${l.threadLevel}` : '';
    lines.push(`mpi rank:     ${l.rank} of ${l.size ?? '?'} (${l.launcher}${where})`);
  }
  return lines;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'Print the active kernel provider (js, wasm or native) and why it was chosen, the BLAS library and ' +
        'thread count, whether each provider loads (and why not), and the CPU features. ' +
        'Also whether MPI is available (and why not) and its library version; under mpirun ' +
        '(`mpirun -np 2 kdrec doctor`) each rank initialises MPI and reports its rank and size. ' +
        'KDREC_KERNELS=js|wasm|native forces a provider; KDREC_BLAS_THREADS sets OpenBLAS threads.',
    )
    .option('--json', 'print one JSON object instead of text')
    .addHelpText(
      'after',
      '\nExamples:\n  kdrec doctor\n  KDREC_KERNELS=wasm kdrec doctor --json\n  KDREC_BLAS_THREADS=2 kdrec doctor\n' +
        '  mpirun -np 2 kdrec doctor --json',
    )
    .action((o: { json?: boolean }) => {
      const info = kernelsInfo();
      const mpi = mpiReport();
      const cpuList = cpus();
      const machine = {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpu: cpuList[0]?.model.trim() ?? 'unknown',
        cores: cpuList.length,
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ ...machine, kernels: info, mpi })}\n`);
        return;
      }
      const lines = [
        `kernels:      ${info.name} (${info.selection})`,
        `blas:         ${info.blas ?? '— (only the native provider uses a BLAS)'}`,
      ];
      if (info.blasCore !== undefined)
        lines.push(`blas core:    ${info.blasCore}${info.blasCoreNote ? ` (${info.blasCoreNote})` : ''}`);
      if (info.blasThreads !== undefined) lines.push(`blas threads: ${info.blasThreads}`);
      for (const [name, status] of Object.entries(info.providers)) {
        lines.push(`provider ${name.padEnd(6)} ${status === 'ok' ? 'ok' : `unavailable: ${status}`}`);
      }
      lines.push(
        `cpu:          ${machine.cpu} × ${machine.cores}`,
        `cpu features: ${info.cpuFeatures.length > 0 ? info.cpuFeatures.join(' ') : 'unknown (no /proc/cpuinfo)'}`,
        `node:         ${machine.node} (${machine.platform})`,
        ...mpiLines(mpi),
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
