/**
 * Optimisers. Dense: Adam (Kingma & Ba, ICLR 2015, Algorithm 1), AdamW (Loshchilov & Hutter,
 * ICLR 2019, Algorithm 2: decoupled weight decay), Adagrad (Duchi, Hazan & Singer, JMLR 2011).
 * Sparse, for embedding tables: lazy Adam and Adagrad that update only the rows a batch touched —
 * the moments of untouched rows are neither decayed nor applied, as in PyTorch's SparseAdam and
 * TensorFlow Addons' LazyAdam. The bias corrections use the optimiser's global step count (as both
 * of those do), not a per-row count.
 *
 * All arithmetic goes through the kernel seam (`adamRows` / `adagradRows`); a dense tensor of n
 * values is one "row" of width n. `step()` applies the accumulated gradients and then clears them
 * (dense `grad` zeroed, tables' sparse gradients reset), so a training step is
 * forward → backward → [clipGradNorm] → step for every optimiser.
 *
 * State (moments, accumulators, step count) is exposed by `state()` as live named buffers so that
 * checkpoints can save and restore it in place.
 */
import type { EmbeddingTable } from './embedding.js';
import { type LearningRate } from './schedules.js';
import type { Tensor } from './tensor.js';
export interface StateBuffer {
    shape: readonly number[];
    data: Float32Array;
}
export interface OptimizerState {
    /** Steps taken so far (the next step uses bias corrections for step + 1). */
    step: number;
    /** Named state buffers, e.g. 'm/user.0.W'; live references, restored in place by `setState`. */
    buffers: Record<string, StateBuffer>;
}
export interface Optimizer {
    /** Applies the accumulated gradients, then clears them. */
    step(): void;
    /** Learning rate the next step will use. */
    currentLr(): number;
    state(): OptimizerState;
    /** Sets the step count (the buffers are restored by writing into `state().buffers`). */
    setStepCount(step: number): void;
}
export interface AdamOptions {
    lr: LearningRate;
    beta1?: number;
    beta2?: number;
    eps?: number;
}
declare abstract class StepCounter {
    protected readonly kind: string;
    protected readonly lr: LearningRate;
    protected t: number;
    constructor(kind: string, lr: LearningRate);
    currentLr(): number;
    setStepCount(step: number): void;
}
/** Dense Adam; with weightDecay > 0 it is AdamW (decoupled decay: w −= lr·wd·w). */
export declare class Adam extends StepCounter implements Optimizer {
    private readonly params;
    protected readonly b1: number;
    protected readonly b2: number;
    protected readonly eps: number;
    protected weightDecay: number;
    private readonly m;
    private readonly v;
    constructor(params: Tensor[], opts: AdamOptions);
    step(): void;
    state(): OptimizerState;
}
export declare class AdamW extends Adam {
    constructor(params: Tensor[], opts: AdamOptions & {
        weightDecay?: number;
    });
}
export interface AdagradOptions {
    lr: LearningRate;
    eps?: number;
    /** Starting accumulator value (PyTorch 0, TensorFlow 0.1). */
    initialAccumulator?: number;
}
export declare class Adagrad extends StepCounter implements Optimizer {
    private readonly params;
    private readonly eps;
    private readonly acc;
    constructor(params: Tensor[], opts: AdagradOptions);
    step(): void;
    state(): OptimizerState;
}
/** Lazy Adam over embedding tables: only rows in `table.sparseGrad()` change. */
export declare class SparseAdam extends StepCounter implements Optimizer {
    private readonly tables;
    private readonly b1;
    private readonly b2;
    private readonly eps;
    private readonly m;
    private readonly v;
    constructor(tables: EmbeddingTable[], opts: AdamOptions);
    step(): void;
    state(): OptimizerState;
}
/** Sparse Adagrad over embedding tables: only touched rows' accumulators and weights change. */
export declare class SparseAdagrad extends StepCounter implements Optimizer {
    private readonly tables;
    private readonly eps;
    private readonly acc;
    constructor(tables: EmbeddingTable[], opts: AdagradOptions);
    step(): void;
    state(): OptimizerState;
}
/**
 * Scales all gradients (dense and the tables' compact sparse ones) so their global L2 norm is at
 * most maxNorm (Pascanu et al., ICML 2013, §3.2; same formula as torch.nn.utils.clip_grad_norm_:
 * factor maxNorm / (norm + 1e-6) when norm > maxNorm). Returns the norm before clipping.
 * A non-finite gradient throws, naming the parameter, instead of silently poisoning the weights.
 */
export declare function clipGradNorm(params: readonly Tensor[], tables: readonly EmbeddingTable[], maxNorm: number): number;
export {};
