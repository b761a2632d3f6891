export declare function cpuFeatures(): ReadonlySet<string>;
/** The SIMD-relevant subset, in a fixed order, for display. */
export declare const DISPLAY_FEATURES: readonly ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'neon', 'asimd', 'sve'];
