/** The directory holding kdrec's package.json, found by walking up from this module. */
export declare function packageRoot(): string;
/** The assembled WebAssembly kernels, written by scripts/build-wasm.mjs. */
export declare function wasmArtifactPath(): string;
/** The native addon, written by scripts/build-native.mjs (node-gyp). */
export declare function nativeArtifactPath(): string;
