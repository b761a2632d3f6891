/**
 * Dense layers and the parameter registry of a model.
 *
 * `ParamStore` is the single list of a model's trainable state — dense parameters (Tensor) and
 * sparse embedding tables — keyed by unique names. Optimisers, gradient clipping, checkpoints and
 * the data-parallel trainer all walk it, so a layer is "part of the model" exactly when it has been
 * added to the store.
 */
import type { EmbeddingTable } from './embedding.js';
import type { Graph } from './graph.js';
import { type Initializer } from './init.js';
import type { Rng } from './rng.js';
import { Tensor } from './tensor.js';
/** Anything that owns dense parameters (layers); ParamStore.add registers all of them. */
export interface Module {
    parameters(): Tensor[];
}
export declare class ParamStore {
    private readonly dense;
    private readonly sparse;
    /** Registers a parameter tensor, a table or a module's parameters; returns its argument. */
    add<T extends Tensor | EmbeddingTable | Module>(item: T): T;
    private checkName;
    addParam(p: Tensor): Tensor;
    addTable(t: EmbeddingTable): EmbeddingTable;
    /** Dense parameters in registration order. */
    params(): Tensor[];
    /** Embedding tables in registration order. */
    tables(): EmbeddingTable[];
    get(name: string): Tensor | EmbeddingTable;
    has(name: string): boolean;
    /** Number of scalars over all parameters and tables. */
    count(): number;
    /** Clears dense gradients and the tables' sparse gradients. */
    zeroGrad(): void;
}
/** Creates a named, trainable parameter of the given shape filled by `init`. */
export declare function parameter(name: string, shape: readonly number[], init: Initializer, fanIn: number, fanOut: number, rng: Rng): Tensor;
/** y = x·W + b with W [in, out] (so a row-major x [B, in] multiplies without a transpose). */
export declare class Linear implements Module {
    readonly name: string;
    readonly inDim: number;
    readonly outDim: number;
    readonly W: Tensor;
    readonly b: Tensor;
    constructor(name: string, inDim: number, outDim: number, rng: Rng, init?: Initializer);
    parameters(): Tensor[];
    forward(g: Graph, x: Tensor): Tensor;
}
/** Layer normalisation over the feature axis (Ba, Kiros & Hinton, 2016): gain 1, bias 0 at start. */
export declare class LayerNorm implements Module {
    readonly name: string;
    readonly dim: number;
    readonly eps: number;
    readonly gamma: Tensor;
    readonly beta: Tensor;
    constructor(name: string, dim: number, eps?: number);
    parameters(): Tensor[];
    forward(g: Graph, x: Tensor): Tensor;
}
export type Activation = 'relu' | 'tanh' | 'none';
export interface MLPOptions {
    /** Between layers. */
    activation: Activation;
    /** After the last layer; default 'none' (towers and logit heads end linear). */
    finalActivation?: Activation;
    /** Dropout probability after each hidden activation (training only); default 0. */
    dropout?: number;
    /** Layer norm after each hidden linear layer, before the activation. */
    layerNorm?: boolean;
    /** Weight initialiser; default He-uniform for relu, Xavier-uniform otherwise. */
    init?: Initializer;
}
/**
 * A stack of Linear layers: dims = [in, h1, ..., out]. `forwardWithHidden` also returns each hidden
 * layer's post-activation output, which hint-based distillation (FitNets-style) matches.
 */
export declare class MLP implements Module {
    readonly name: string;
    readonly dims: readonly number[];
    readonly layers: Linear[];
    readonly norms: LayerNorm[];
    private readonly opts;
    constructor(name: string, dims: readonly number[], opts: MLPOptions, rng: Rng);
    get outDim(): number;
    parameters(): Tensor[];
    forward(g: Graph, x: Tensor): Tensor;
    /** The output and the hidden activations (one per hidden layer, after activation and dropout). */
    forwardWithHidden(g: Graph, x: Tensor): {
        out: Tensor;
        hidden: Tensor[];
    };
}
export declare function activate(g: Graph, x: Tensor, a: Activation): Tensor;
