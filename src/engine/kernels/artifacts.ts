/**
 * Locates the build artifacts of the optional kernel providers (the assembled WebAssembly module and
 * the native addon) and of the optional MPI addon (src/engine/mpi.ts). They live at fixed places under the kdrec package root, so the same lookup
 * works whether this file runs from src/ (tsx, tests in development) or from dist/src/ (compiled).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

/** A provider's build artifact does not exist (not built on this machine): a normal state, not a fault. */
export class ProviderNotBuiltError extends Error {
  override name = 'ProviderNotBuiltError';
}

/** The directory holding kdrec's package.json, found by walking up from this module. */
export function packageRoot(): string {
  if (root !== null) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'kdrec') {
      root = dir;
      return dir;
    }
    const up = dirname(dir);
    if (up === dir)
      throw new Error(`kdrec: cannot find the kdrec package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The assembled WebAssembly kernels, written by scripts/build-wasm.mjs. */
export function wasmArtifactPath(): string {
  return join(packageRoot(), 'dist', 'src', 'engine', 'kernels', 'wasm', 'sgemm.wasm');
}

/** The native addon, written by scripts/build-native.mjs (node-gyp). */
export function nativeArtifactPath(): string {
  return join(packageRoot(), 'native', 'build', 'Release', 'kdrec_native.node');
}

/** The MPI addon, written by scripts/build-mpi.mjs (node-gyp). */
export function mpiArtifactPath(): string {
  return join(packageRoot(), 'native', 'mpi', 'build', 'Release', 'kdrec_mpi.node');
}
