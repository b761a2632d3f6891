import type { ParamStore } from './nn.js';
import type { Optimizer } from './optim.js';
import type { Rng } from './rng.js';
export declare const CHECKPOINT_FORMAT = "kdrec-checkpoint-1";
export interface CheckpointContents {
    store: ParamStore;
    optimizers?: Record<string, Optimizer>;
    /** Training step (e.g. batches seen); returned by loadCheckpoint. */
    step: number;
    /** Generators whose state must survive a resume (data shuffling, dropout). */
    rngs?: Record<string, Rng>;
    metadata?: Record<string, string>;
}
export interface LoadedCheckpoint {
    step: number;
    metadata: Record<string, string>;
}
/** Hash of the sorted (name, shape) list of parameters and tables: identifies the architecture. */
export declare function modelSignature(store: ParamStore): string;
/** The kdrec version from package.json, found by walking up from this file (src or dist layout). */
export declare function kdrecVersion(): string;
export declare function saveCheckpoint(path: string, c: CheckpointContents): void;
/**
 * Restores a checkpoint into an existing model and optimisers, in place (so parameters living in
 * SharedArrayBuffers stay shared). Refuses any mismatch before changing anything: a missing or
 * unexpected tensor, or a shape difference, naming the tensor and both shapes.
 * `weightsOnly` loads parameters and tables and ignores the file's optimiser and RNG state (e.g. to
 * evaluate or serve a model from a training checkpoint); the model's tensors must still all match.
 */
export declare function loadCheckpoint(path: string, store: ParamStore, optimizers?: Record<string, Optimizer>, rngs?: Record<string, Rng>, options?: {
    weightsOnly?: boolean;
}): LoadedCheckpoint;
