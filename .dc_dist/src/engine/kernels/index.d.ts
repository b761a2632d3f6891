import type { Kernels } from './types.js';
export type { Kernels } from './types.js';
export declare const PROVIDER_NAMES: readonly ['js', 'wasm', 'native'];
export type ProviderName = (typeof PROVIDER_NAMES)[number];
export declare function getKernels(): Kernels;
/** Overrides the active provider (tests use this to compare providers). */
export declare function setKernels(k: Kernels): void;
/**
 * Loads one provider by name, caching the result; returns null (and remembers why) when it cannot
 * be loaded. Never throws for a missing or broken provider.
 */
export declare function loadProvider(name: ProviderName): Kernels | null;
/** The reason the named provider failed to load, if it did. */
export declare function providerLoadError(name: ProviderName): string | undefined;
export interface KernelsInfo {
    /** Active provider name. */
    name: string;
    /** How it was chosen (env var, auto, fallback). */
    selection: string;
    /** BLAS library, core type and thread count (native provider only). */
    blas?: string;
    blasCore?: string;
    blasThreads?: number;
    /** SIMD-relevant CPU flags present on this machine (empty when unknown). */
    cpuFeatures: string[];
    /** Each provider's availability: 'ok' or the reason it did not load. */
    providers: Record<ProviderName, string>;
}
/** What `kdrec doctor` prints: the active provider, its BLAS, and the CPU features. */
export declare function kernelsInfo(): KernelsInfo;
