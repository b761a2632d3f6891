/**
 * `kdrec doctor`: reports the compute environment: which kernel provider is active and why, the
 * BLAS library and its thread count (native provider), each provider's availability, and the CPU's
 * SIMD features (issue 8).
 */

import { cpus } from 'node:os';
import type { Command } from 'commander';
import { kernelsInfo } from '../../engine/kernels/index.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'Print the active kernel provider (js, wasm or native) and why it was chosen, the BLAS library and ' +
        'thread count, whether each provider loads (and why not), and the CPU features. ' +
        'KDREC_KERNELS=js|wasm|native forces a provider; KDREC_BLAS_THREADS sets OpenBLAS threads.',
    )
    .option('--json', 'print one JSON object instead of text')
    .addHelpText(
      'after',
      '\nExamples:\n  kdrec doctor\n  KDREC_KERNELS=wasm kdrec doctor --json\n  KDREC_BLAS_THREADS=2 kdrec doctor',
    )
    .action((o: { json?: boolean }) => {
      const info = kernelsInfo();
      const cpuList = cpus();
      const machine = {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpu: cpuList[0]?.model.trim() ?? 'unknown',
        cores: cpuList.length,
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ ...machine, kernels: info })}\n`);
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
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
