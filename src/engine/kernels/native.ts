/**
 * The native kernel provider ('native', issue 8): an N-API addon (native/src/kdrec_native.c) that
 * sends sgemm to OpenBLAS's cblas_sgemm and runs the embedding kernels as compiled loops, operating
 * on the engine's Float32Arrays in place (no copies). Built by scripts/build-native.mjs; optional.
 *
 * BLAS threads: OpenBLAS starts with one worker per core. kdrec sets it to KDREC_BLAS_THREADS, or 1
 * by default: measured on the 2-core reference machine, a second BLAS thread does not pay for itself
 * in a whole training step at batch 1024 (BENCHMARKS.md, "Kernels"), and data-parallel workers
 * (`--threads N`) each calling a multi-threaded BLAS would oversubscribe the cores.
 *
 * CPU detection: Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not recognise some newer CPUs and
 * falls back to its generic SSE3 "Prescott" kernels, 4–5× slower (the AVX-512 Xeon VM of
 * BENCHMARKS.md: 36 vs 160 GFLOP/s). OpenBLAS reads OPENBLAS_CORETYPE when the library is loaded, so
 * unless the user set it, kdrec picks the best core type the CPU's flags (/proc/cpuinfo) support
 * before loading the addon. This only works in the thread that loads the library first; kdrec's
 * main thread selects kernels before starting workers.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { nativeArtifactPath, ProviderNotBuiltError } from './artifacts.js';
import { cpuFeatures } from './cpu.js';
import type { Kernels } from './types.js';

interface NativeAddon extends Omit<Kernels, 'name'> {
  setBlasThreads(n: number): void;
  blasInfo(): { config: string; corename: string; threads: number };
}

export interface NativeKernels extends Kernels {
  readonly name: 'native';
  /** Sets OpenBLAS's thread count for sgemm. */
  setBlasThreads(n: number): void;
  /** OpenBLAS's build configuration, the core type whose kernels it runs, and its thread count. */
  blasInfo(): { config: string; corename: string; threads: number };
  /** The OPENBLAS_CORETYPE kdrec chose from the CPU flags, or null if OpenBLAS detected it / the user set it. */
  readonly forcedCoreType: string | null;
}

/** The OpenBLAS core type to force for this CPU, or null to let OpenBLAS detect it. */
function openblasCoreType(flags: ReadonlySet<string>): string | null {
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd'].every((f) => flags.has(f)))
    return 'SkylakeX';
  if (flags.has('avx2') && flags.has('fma')) return 'Haswell';
  return null;
}

function blasThreadsFromEnv(): number {
  const raw = process.env['KDREC_BLAS_THREADS'];
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`KDREC_BLAS_THREADS must be a positive integer, got '${raw}'`);
  }
  return n;
}

/** Loads the addon; throws an Error saying what is missing when it cannot. */
export function loadNativeKernels(): NativeKernels {
  const path = nativeArtifactPath();
  if (!existsSync(path)) {
    throw new ProviderNotBuiltError(
      `${path} is missing: build it with \`node scripts/build-native.mjs\` (needs a C compiler and libopenblas-dev)`,
    );
  }
  const threads = blasThreadsFromEnv();
  let forcedCoreType: string | null = null;
  if (process.env['OPENBLAS_CORETYPE'] === undefined) {
    forcedCoreType = openblasCoreType(cpuFeatures());
    if (forcedCoreType !== null) process.env['OPENBLAS_CORETYPE'] = forcedCoreType;
  }
  const addon = createRequire(import.meta.url)(path) as NativeAddon;
  addon.setBlasThreads(threads);
  return {
    name: 'native',
    sgemm: addon.sgemm,
    gatherPool: addon.gatherPool,
    scatterAddRows: addon.scatterAddRows,
    adamRows: addon.adamRows,
    adagradRows: addon.adagradRows,
    biasAct: addon.biasAct,
    biasActBackward: addon.biasActBackward,
    copyBlock: addon.copyBlock,
    setBlasThreads: addon.setBlasThreads,
    blasInfo: addon.blasInfo,
    forcedCoreType,
  };
}
