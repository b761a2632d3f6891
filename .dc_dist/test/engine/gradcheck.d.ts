import type { EmbeddingTable } from '../../src/engine/embedding.js';
import { Graph, type UniformSource } from '../../src/engine/graph.js';
import { Tensor } from '../../src/engine/tensor.js';
/** xorshift32 uniform source in [0, 1): deterministic, for fixtures and dropout in tests. */
export declare class TestRng implements UniformSource {
    private s;
    constructor(seed: number);
    nextU32(): number;
    nextFloat(): number;
}
/** Values uniform in [lo, hi), deterministic from seed. */
export declare function randomValues(n: number, seed: number, lo?: number, hi?: number): Float32Array;
/** A parameter-like leaf tensor (requiresGrad) with random values. */
export declare function param(shape: number[], seed: number, lo?: number, hi?: number): Tensor;
export interface GradcheckOptions {
    /** Finite-difference step (default 1e-2). */
    h?: number;
    rtol?: number;
    atol?: number;
    /** Embedding tables whose weights are also checked (against their sparse gradient). */
    tables?: EmbeddingTable[];
    /** Graph training flag (default true). */
    training?: boolean;
    /** Seed of the Graph's rng, re-created identically for every evaluation (dropout). */
    rngSeed?: number;
}
export interface GradcheckResult {
    /** Number of values compared. */
    checked: number;
    /** Largest |analytic| seen: lets a test assert the check was not vacuous. */
    maxAbsGrad: number;
}
export declare function gradcheck(build: (g: Graph) => Tensor, params: Tensor[], opts?: GradcheckOptions): GradcheckResult;
