import type { Kernels } from './types.js';
/** Loads the assembled module; throws an Error saying what is missing when it cannot. */
export declare function loadWasmKernels(): Kernels;
