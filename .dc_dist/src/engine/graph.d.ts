/**
 * Tape-based reverse-mode automatic differentiation (one forward/backward pass per Graph use).
 *
 * Every op computes its output eagerly and, if any input requires a gradient, pushes a backward
 * closure onto the tape; `backward(loss)` seeds d(loss)/d(loss) = 1 and runs the tape in reverse
 * (Griewank & Walther, "Evaluating Derivatives", ch. 3: the adjoint of each elementary operation,
 * accumulated). Gradients accumulate (+=) into `.grad`, so a tensor used twice sums both
 * contributions.
 *
 * Memory: op outputs and intermediate gradients are taken from an arena owned by the Graph,
 * keyed by length; `reset()` returns them all, so a training step that rebuilds the same graph
 * allocates no Float32Array after its first step (`arenaAllocations` counts real allocations).
 * Consequently a tensor produced by a Graph is only valid until the next `reset()`: copy out
 * what must outlive the step. Parameters (leaf tensors with requiresGrad, not produced by a
 * Graph) keep their own persistent `grad` buffer; the optimiser zeroes it. Embedding tables get
 * their compact sparse gradient (see embedding.ts).
 *
 * Shapes: rank 1 `[B]` or rank 2 `[B, D]`. Row-wise ops (softmax, l2Normalize, layerNorm) treat a
 * rank-1 tensor as a single row; losses treat a rank-1 tensor as a batch of B scalars.
 */
import type { EmbeddingTable } from './embedding.js';
import type { Kernels } from './kernels/types.js';
import { Tensor } from './tensor.js';
/** A seeded uniform source in [0, 1) (the engine's Rng satisfies it). */
export interface UniformSource {
    nextFloat(): number;
}
export interface GraphOptions {
    /** Training mode: dropout is active. In eval mode dropout is the identity. */
    training: boolean;
    /** Required for dropout in training mode, so masks are reproducible from the run's seed. */
    rng?: UniformSource;
    /** Kernel provider; defaults to the active one from kernels/index.ts. */
    kernels?: Kernels;
    /**
     * False records no tape (evaluation, serving, a frozen teacher's forward): outputs never require
     * grad and `backward` is unavailable. Default true.
     */
    grad?: boolean;
}
export interface KlDivOptions {
    /** Softening temperature T > 0 applied to both student and teacher logits. */
    temperature: number;
    /** True: logits are [B] and each row is the two-class distribution [1 − σ(x/T), σ(x/T)]. */
    binary: boolean;
    /**
     * Multiply the loss by T² (default true), as Hinton et al. 2015 ("Distilling the Knowledge in a
     * Neural Network", §2) recommend so the soft-target gradient (which scales as 1/T) keeps its
     * magnitude relative to a hard-label term when T changes.
     */
    t2Scale?: boolean;
}
export type PoolMode = 'sum' | 'mean';
export declare class Graph {
    readonly training: boolean;
    /** Whether ops record the backward tape (GraphOptions.grad). */
    readonly recordsGrad: boolean;
    private readonly rng;
    private readonly k;
    private readonly f32;
    private readonly i32;
    private readonly tape;
    /** Graph outputs given an arena gradient this step; reset() detaches them from the recycled buffers. */
    private readonly gradNodes;
    private backwardDone;
    constructor(options: GraphOptions);
    /** Number of typed arrays this Graph has really allocated (not recycled) since construction. */
    get arenaAllocations(): number;
    /** Number of recorded backward steps (for tests and diagnostics). */
    get tapeLength(): number;
    /** Forgets the tape and recycles every buffer; tensors produced before are invalid after this. */
    reset(): void;
    /** True iff every value of t is finite (the trainer uses it to stop on a NaN/Inf loss). */
    static isFinite(t: Tensor): boolean;
    /**
     * Runs the tape in reverse. `output` must be a one-value loss, unless `seed` (d(objective)/d(output),
     * same length as output) is given.
     */
    backward(output: Tensor, seed?: Float32Array): void;
    private out;
    /** The gradient buffer of t: arena-backed (zeroed) for graph outputs, persistent for parameters. */
    private gradOf;
    private record;
    /** Wraps data (no copy) as a constant input. */
    input(data: Float32Array, shape: readonly number[]): Tensor;
    /** Stop-gradient: same data (no copy), never receives gradient. */
    detach(a: Tensor): Tensor;
    /** Same data viewed with another shape of the same size (e.g. a [B] column as [B, 1]). */
    reshape(a: Tensor, shape: readonly number[]): Tensor;
    /** op(a)·op(b) with op(X) = X or Xᵀ; both rank 2. */
    matmul(a: Tensor, b: Tensor, transA?: boolean, transB?: boolean): Tensor;
    /** x·W + b with x [B, in], W [in, out], b [out]. */
    linear(x: Tensor, W: Tensor, b?: Tensor): Tensor;
    /** Row-wise dot product of two [B, D] tensors → [B]. */
    rowDot(a: Tensor, b: Tensor): Tensor;
    /** u·vᵀ for u [B, D], v [N, D] → [B, N]: every user against every item (in-batch negatives). */
    scoreMatrix(u: Tensor, v: Tensor): Tensor;
    add(a: Tensor, b: Tensor): Tensor;
    sub(a: Tensor, b: Tensor): Tensor;
    mul(a: Tensor, b: Tensor): Tensor;
    /**
     * Broadcast rules (b broadcasts over a; the output has a's shape):
     * equal shapes; b with one value (a scalar); a [B, D] with b [D] or [1, D] (a row, e.g. a bias);
     * a [B, D] with b [B, 1] or b [B] where B ≠ D (a column, e.g. a per-row gate). A rank-1 b whose
     * length equals both B and D is taken as a row: pass a column as [B, 1] (see `reshape`) when
     * B may equal D.
     */
    private broadcast;
    private binary;
    scale(a: Tensor, s: number): Tensor;
    relu(a: Tensor): Tensor;
    /** σ(x), evaluated without overflow: 1/(1+e^−x) for x ≥ 0, e^x/(1+e^x) for x < 0. */
    sigmoid(a: Tensor): Tensor;
    /** softplus(x) = log(1 + eˣ), evaluated as max(x, 0) + log1p(e^−|x|); d/dx = σ(x). */
    softplus(a: Tensor): Tensor;
    /** log σ(x) = −softplus(−x), finite for any x (keeps the −e^−x tail for x ≫ 0); d/dx = σ(−x). */
    logSigmoid(a: Tensor): Tensor;
    tanh(a: Tensor): Tensor;
    exp(a: Tensor): Tensor;
    /** Natural log; non-positive inputs give −Inf/NaN (caught by the trainer's finiteness check). */
    log(a: Tensor): Tensor;
    /** Softmax over the last axis, max-subtracted so large logits do not overflow. */
    softmax(a: Tensor): Tensor;
    /** log softmax over the last axis: x − max − log Σ exp(x − max). */
    logSoftmax(a: Tensor): Tensor;
    /** Rows scaled to unit L2 norm: x / max(‖x‖, eps) (as torch.nn.functional.normalize). */
    l2Normalize(a: Tensor, eps?: number): Tensor;
    /**
     * Layer normalisation over the last axis (Ba, Kiros & Hinton 2016, eq. 4):
     * y = γ ⊙ (x − μ)/sqrt(σ² + eps) + β with the biased variance, γ and β of shape [D].
     */
    layerNorm(a: Tensor, gamma: Tensor, beta: Tensor, eps?: number): Tensor;
    sum(a: Tensor, axis?: 0 | 1): Tensor;
    mean(a: Tensor, axis?: 0 | 1): Tensor;
    /**
     * axis undefined: all values → [1]; axis 0: over rows, [B, D] → [D] ([B] → [1]);
     * axis 1: over the feature axis, [B, D] → [B].
     */
    private reduce;
    /** Concatenates along the feature axis; a rank-1 [B] part counts as one column [B, 1]. */
    concat(parts: readonly Tensor[]): Tensor;
    /** Columns [start, end) of a [B, D] tensor → [B, end − start]. */
    slice(a: Tensor, start: number, end: number): Tensor;
    /**
     * Pooled lookup: bag b pools table rows ids[b·bagLen .. (b+1)·bagLen) (ids < 0 are padding; an
     * all-padding bag gives zeros) → [nBags, dim]. `ids` is read again by backward, so it must not
     * be modified before `backward()`. The gradient goes to the table's sparse gradient.
     */
    embeddingBag(table: EmbeddingTable, ids: Int32Array, nBags: number, bagLen: number, mode: PoolMode): Tensor;
    /**
     * Inverted dropout (Srivastava et al. 2014, scaled at train time so eval is the identity): each
     * value is kept with probability 1 − p and scaled by 1/(1 − p). Masks come from the Graph's rng.
     */
    dropout(a: Tensor, p: number): Tensor;
    /**
     * Binary cross-entropy on logits x with (soft) targets z ∈ [0, 1]. Derivation of the stable form
     * (as in tfjs-layers losses.ts / TensorFlow's sigmoid_cross_entropy_with_logits):
     *   ℓ = −z·log σ(x) − (1 − z)·log(1 − σ(x))
     *     = z·log(1 + e^−x) + (1 − z)·(x + log(1 + e^−x))
     *     = x − x·z + log(1 + e^−x)                       (fine for x ≥ 0)
     *   for x < 0, rewrite log(1 + e^−x) = −x + log(1 + e^x):  ℓ = −x·z + log(1 + e^x)
     *   together: ℓ = max(x, 0) − x·z + log(1 + e^−|x|), which never exponentiates a positive number.
     * dℓ/dx = σ(x) − z.
     */
    bceWithLogits(logits: Tensor, target: Tensor | Float32Array, weights?: Float32Array): Tensor;
    /**
     * Softmax cross-entropy ℓ_i = −Σ_c t_ic · log softmax(x_i)_c, with t either class indices
     * (Int32Array [B]) or probabilities (a [B, C] tensor). dℓ/dx_c = p_c · Σ_k t_k − t_c.
     */
    softmaxCrossEntropy(logits: Tensor, target: Tensor | Int32Array, weights?: Float32Array): Tensor;
    /**
     * Distillation loss KL(teacher ‖ student) on temperature-softened distributions (Hinton et al.
     * 2015): ℓ_i = Σ_c p_c (log p_c − log q_c), p = softmax(t/T), q = softmax(s/T) (rows of [B, C]),
     * or, when binary, p = [1 − σ(t/T), σ(t/T)] and q likewise from [B] logits. Multiplied by T²
     * unless t2Scale is false. dℓ/ds_c = (q_c − p_c)/T (times T²). The teacher is a constant.
     */
    klDiv(student: Tensor, teacher: Tensor, opts: KlDivOptions, weights?: Float32Array): Tensor;
    /**
     * Mean squared error: ℓ_i = (1/D) Σ_d (a − b)² per row, averaged over rows (so unweighted it is
     * the mean over all values, like torch's MSELoss). Both sides receive gradient.
     */
    mse(a: Tensor, b: Tensor, weights?: Float32Array): Tensor;
    /** Batch size of a [B] or [B, 1] logit column. */
    private columnLength;
    private targetColumn;
}
export declare function sigmoid(x: number): number;
