/**
 * The WebAssembly SIMD kernel provider ('wasm'): sgemm runs in a register-blocked f32x4 kernel
 * assembled from wasm/sgemm.wat (GotoBLAS-style packing, 4×8 micro-kernel; see that file): about
 * 30 GFLOP/s on the dssm-ref shapes against 2–3 for the TypeScript sgemm on the reference machine
 * (BENCHMARKS.md, "Kernels"). Node 20's V8 has no relaxed-SIMD FMA, so this is near the 128-bit
 * mul + add peak; the native provider (OpenBLAS, AVX-512 FMA) is ~5× faster again.
 *
 * Operands are copied into the module's linear memory and C is copied back: the engine's tensors
 * are ordinary Float32Arrays, and the copies are O(MK + KN + MN) against O(MNK) work. Memory grows
 * to the largest problem seen and is then reused, so steady-state calls allocate no buffers; views
 * are re-created after memory.grow (growing detaches the old ArrayBuffer).
 *
 * The embedding kernels (gatherPool, scatterAddRows, adamRows, adagradRows) and the elementwise ones
 * (biasAct, biasActBackward, copyBlock) are the TypeScript ones:
 * they touch a few rows of tables of up to 200,000 × 32 floats, and a WebAssembly version would
 * have to copy those rows in and out of linear memory, which is as much memory traffic as the
 * (memory-bound) loops themselves.
 *
 * The module is loaded synchronously (getKernels() is synchronous) from the binary that
 * scripts/build-wasm.mjs assembles at build time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ProviderNotBuiltError, wasmArtifactPath } from './artifacts.js';
import { jsKernels } from './js.js';
import type { Kernels } from './types.js';

interface SgemmExports {
  memory: WebAssembly.Memory;
  sgemm(
    transA: number,
    transB: number,
    M: number,
    N: number,
    K: number,
    alpha: number,
    pA: number,
    pB: number,
    beta: number,
    pC: number,
    pWork: number,
  ): void;
  workspaceBytes(M: number, N: number): number;
}

const PAGE = 65536;

/** Rounds a float count up to a multiple of 4 floats, so every region starts 16-byte aligned. */
function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Loads the assembled module; throws an Error saying what is missing when it cannot. */
export function loadWasmKernels(): Kernels {
  const path = wasmArtifactPath();
  if (!existsSync(path)) {
    throw new ProviderNotBuiltError(
      `${path} is missing: run \`npm run build\` (scripts/build-wasm.mjs assembles it)`,
    );
  }
  const module = new WebAssembly.Module(readFileSync(path));
  const ex = new WebAssembly.Instance(module, {}).exports as unknown as SgemmExports;
  const memory = ex.memory;
  let heap = new Float32Array(memory.buffer);

  function ensureBytes(bytes: number): void {
    const have = memory.buffer.byteLength;
    if (bytes <= have) return;
    memory.grow(Math.ceil((bytes - have) / PAGE));
    heap = new Float32Array(memory.buffer);
  }

  function sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    B: Float32Array,
    beta: number,
    C: Float32Array,
  ): void {
    const nA = M * K;
    const nB = K * N;
    const nC = M * N;
    if (A.length < nA || B.length < nB || C.length < nC) {
      throw new RangeError(
        `sgemm: ${M}×${K} · ${K}×${N} needs A ≥ ${nA}, B ≥ ${nB}, C ≥ ${nC} values; got ${A.length}, ${B.length}, ${C.length}`,
      );
    }
    if (nC === 0) return;
    const offA = 0;
    const offB = align4(offA + nA);
    const offC = align4(offB + nB);
    const offW = align4(offC + nC);
    ensureBytes(offW * 4 + ex.workspaceBytes(M, N));
    heap.set(A.length === nA ? A : A.subarray(0, nA), offA);
    heap.set(B.length === nB ? B : B.subarray(0, nB), offB);
    // beta = 0: C is write-only (the kernel zeroes its copy), so skip copying it in.
    if (beta !== 0) heap.set(C.length === nC ? C : C.subarray(0, nC), offC);
    ex.sgemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, alpha, offA * 4, offB * 4, beta, offC * 4, offW * 4);
    C.set(heap.subarray(offC, offC + nC));
  }

  return {
    name: 'wasm',
    sgemm,
    gatherPool: jsKernels.gatherPool,
    scatterAddRows: jsKernels.scatterAddRows,
    adamRows: jsKernels.adamRows,
    adagradRows: jsKernels.adagradRows,
    // Memory-bound elementwise passes: copying y into linear memory and back would cost more than
    // the SIMD loop saves, so the TypeScript loops run on the engine's arrays directly.
    biasAct: jsKernels.biasAct,
    biasActBackward: jsKernels.biasActBackward,
    copyBlock: jsKernels.copyBlock,
  };
}
