import type { Kernels } from './types.js';
export interface NativeKernels extends Kernels {
    readonly name: 'native';
    /** Sets OpenBLAS's thread count for sgemm. */
    setBlasThreads(n: number): void;
    /** OpenBLAS's build configuration, the core type whose kernels it runs, and its thread count. */
    blasInfo(): {
        config: string;
        corename: string;
        threads: number;
    };
}
/** Loads the addon; throws an Error saying what is missing when it cannot. */
export declare function loadNativeKernels(): NativeKernels;
