import type { EmbeddingTable } from './embedding.js';
import { Graph } from './graph.js';
import type { ParamStore } from './nn.js';
import { type Optimizer } from './optim.js';
import type { Tensor } from './tensor.js';
/** A batch as named flat columns; each column holds `rows × width` values, row-major. */
export interface ColumnBatch {
    rows: number;
    cols: Record<string, Int32Array | Float32Array>;
}
/** What a data-parallel rank trains: parameters and a loss over a (shard of a) batch. */
export interface Trainable {
    store: ParamStore;
    /** Scalar [1] loss, the MEAN over the batch's rows. */
    loss(g: Graph, batch: ColumnBatch): Tensor;
}
export type TrainableFactory = (config: unknown) => Trainable;
export interface FactoryRef {
    /** URL of the module (`import.meta.url` of the model file is the usual value). */
    moduleUrl: string;
    /** Name of the exported `TrainableFactory`. */
    exportName: string;
    /** Passed to the factory; must survive structured cloning. */
    config: unknown;
}
export interface ColumnSpec {
    type: 'i32' | 'f32';
    /** Values per row. */
    width: number;
}
export interface ParallelTrainerOptions {
    factory: FactoryRef;
    threads: number;
    /** Column layout of every batch, and the largest batch (rows) that will be passed to step(). */
    columns: Record<string, ColumnSpec>;
    maxRows: number;
    /** Builds rank 0's optimisers over the (shared) parameters. */
    makeOptimizers: (store: ParamStore) => Record<string, Optimizer>;
    /** Seeds the dropout streams: rank r at step s draws from stepRng(seed, r, s). */
    seed: number;
    /** Clip the reduced gradient to this global L2 norm (none when undefined). */
    maxGradNorm?: number;
}
export declare function loadFactory(ref: FactoryRef): Promise<TrainableFactory>;
/** Control block layout, per worker: [generation, shard rows, batch rows, done generation, failed]. */
export declare const CTRL_STRIDE = 5;
export declare const SHUTDOWN = -1;
export declare function shareFloat32(a: Float32Array): Float32Array;
/** Buffers one worker shares with rank 0 (all SharedArrayBuffer-backed). */
export interface WorkerBuffers {
    /** Input columns, maxShardRows × width each. */
    cols: Record<string, SharedArrayBuffer>;
    /** One per dense parameter (in store order): the worker's gradient accumulates here directly. */
    denseGrads: SharedArrayBuffer[];
    /** One per table: touched row ids (capacity = vocab) and the compact gradient (vocab × dim). */
    sparseRows: SharedArrayBuffer[];
    sparseGrads: SharedArrayBuffer[];
    /** [nRows per table] */
    sparseCounts: SharedArrayBuffer;
    /** Shard loss (float64). */
    loss: SharedArrayBuffer;
}
export interface WorkerInit {
    rank: number;
    factory: FactoryRef;
    seed: number;
    columns: Record<string, ColumnSpec>;
    ctrl: SharedArrayBuffer;
    params: SharedArrayBuffer[];
    tables: SharedArrayBuffer[];
    buffers: WorkerBuffers;
}
/** Shard r of B rows over N ranks: contiguous, the first B mod N shards one row longer. */
export declare function shardRange(B: number, N: number, r: number): [number, number];
/** Multiplies a rank's own gradients (dense and sparse) by its shard weight. */
export declare function scaleGrads(params: readonly Tensor[], tables: readonly EmbeddingTable[], f: number): void;
export declare class ParallelTrainer {
    readonly model: Trainable;
    readonly threads: number;
    private readonly opts;
    private readonly workers;
    private readonly errorPorts;
    private readonly ctrl;
    private readonly wbufs;
    private readonly graph;
    private gen;
    private readonly dropout;
    private closed;
    readonly optimizers: Record<string, Optimizer>;
    private constructor();
    static create(opts: ParallelTrainerOptions): Promise<ParallelTrainer>;
    private startWorkers;
    /** Steps taken (the next step is number stepCount + 1). */
    get stepCount(): number;
    /**
     * Sets the step counter after restoring a checkpoint. Dropout masks are a function of (seed,
     * rank, step), so a resumed run draws the same masks as an uninterrupted one.
     */
    setStepCount(step: number): void;
    /**
     * One synchronous data-parallel step on `batch`: returns the full-batch mean loss. Throws (naming
     * the step) if the loss is NaN or Inf, before any parameter is changed.
     */
    step(batch: ColumnBatch): number;
    private waitFor;
    close(): Promise<void>;
}
/** Checks that every declared column is present with the declared type and rows × width values. */
export declare function checkBatch(batch: ColumnBatch, columns: Record<string, ColumnSpec>): void;
/**
 * The dropout stream of one rank at one step: new Rng(seed).fork(`rank${r}/step${s}`), behind a
 * fixed object so the rank's Graph (which holds its rng for life) can keep its buffer arena.
 */
export declare class StepRng {
    private rng;
    at(seed: number, rank: number, step: number): void;
    nextFloat(): number;
}
/** A row range of a (checked) batch as views (no copy). */
export declare function sliceBatch(batch: ColumnBatch, columns: Record<string, ColumnSpec>, s: number, e: number): ColumnBatch;
