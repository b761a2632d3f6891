/**
 * Tensor: a shape plus a row-major Float32Array, with no hidden copies.
 *
 * Rank is 1 or 2 in practice (a batch of rows × a feature axis); the engine's ops are
 * specialised for that case because every model in kdrec is embeddings → MLPs → dot products.
 * `grad` is allocated lazily by the autograd tape, and for parameters it persists across steps
 * so the optimiser can read it (no per-step allocation).
 */
export declare class Tensor {
    data: Float32Array;
    readonly shape: readonly number[];
    /** True for parameters and anything computed from them; false for inputs and detached values. */
    requiresGrad: boolean;
    /** Optional name; parameters are named so checkpoints and error messages can refer to them. */
    name: string;
    /** Accumulated gradient, same length as data; null until a backward pass touches it. */
    grad: Float32Array | null;
    constructor(data: Float32Array, shape: readonly number[], 
    /** True for parameters and anything computed from them; false for inputs and detached values. */
    requiresGrad?: boolean, 
    /** Optional name; parameters are named so checkpoints and error messages can refer to them. */
    name?: string);
    get size(): number;
    /** Leading dimension (batch rows); 1 for a rank-1 tensor. */
    get rows(): number;
    /** Trailing dimension (features). */
    get cols(): number;
    static zeros(shape: readonly number[], requiresGrad?: boolean, name?: string): Tensor;
    static from(values: ArrayLike<number>, shape: readonly number[], requiresGrad?: boolean, name?: string): Tensor;
    /** Ensures `grad` exists (zeroed) and returns it. */
    ensureGrad(): Float32Array;
    zeroGrad(): void;
}
export declare function shapeSize(shape: readonly number[]): number;
export declare function shapeStr(t: Tensor): string;
