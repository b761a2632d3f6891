import type { ColumnarDataset } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import { ParamStore } from '../engine/nn.js';
import { type Optimizer } from '../engine/optim.js';
import type { Model } from '../models/types.js';
import type { ExperimentConfig, Mode } from './config.js';
/** The data a run trains on: a fitted schema and column datasets. */
export interface TrainData {
    /** Fitted on the train split (table sizes, numeric stats). */
    schema: Schema;
    train: ColumnarDataset;
    valid?: ColumnarDataset;
}
/** (labels, scores) → AUC; pass `auc` from src/eval/metrics/auc.ts. */
export type AucFn = (labels: Float32Array, scores: Float32Array) => number;
export interface TrainProgress {
    step: number;
    totalSteps: number;
    epoch: number;
    lambda: number;
    samplesPerSec: number;
    etaSeconds: number;
    /** Latest value of each loss term (weighted as it enters the total), plus `total`. */
    losses: Record<string, number>;
}
/** Validation of one model output: AUC (when a scorer was given) and log loss. */
export interface OutputMetrics {
    label: string;
    auc?: number;
    logloss: number;
    rows: number;
}
/** One line of metrics.jsonl. */
export interface EvalRecord {
    step: number;
    epoch: number;
    lambda: number;
    /** Mean of each training loss term since the previous eval record. */
    train: Record<string, number>;
    valid: {
        teacher?: Record<string, OutputMetrics>;
        student?: Record<string, OutputMetrics>;
    };
    /** False while the λ warm-up has not ended (such steps are not selectable unless configured). */
    selectable: boolean;
    elapsedSeconds: number;
}
export interface FinalSummary {
    mode: Mode;
    steps: number;
    warmupEndStep: number;
    /** Eval step whose weights the returned models hold (the best selectable one), or null without validation. */
    selectedStep: number | null;
    selectedMetric: string;
    selected: EvalRecord | null;
    /** The teacher's validation AUC at the selected step is more than 1% below its best: the student learnt from an under-fit teacher. */
    teacherUnderfitAtSelection: boolean | null;
    last: EvalRecord | null;
    samplesPerSec: number;
    wallSeconds: number;
    runDir: string | null;
}
export interface TrainOptions {
    config: ExperimentConfig;
    data: TrainData;
    /** Run directory to write (config copy, checkpoints, metrics.jsonl, final.json); none when absent. */
    runDir?: string;
    /** The config file as written, copied into the run directory. */
    configSource?: {
        text: string;
        ext: string;
    };
    /** Continue from the latest checkpoint in runDir. */
    resume?: boolean;
    auc?: AucFn;
    onProgress?: (p: TrainProgress) => void;
    onEval?: (r: EvalRecord) => void;
    /**
     * The models, built from the config by `buildModels` (./models.ts) or loaded (a trained teacher).
     * `teacher` may be null in modes without a live teacher.
     */
    models: {
        teacher: Model | null;
        student: Model | null;
    };
}
export interface TrainResult {
    teacher: Model | null;
    student: Model | null;
    history: EvalRecord[];
    final: FinalSummary;
}
/** Which models a mode trains, and whether it distils. */
export declare function modeRoles(mode: Mode): {
    teacher: boolean;
    student: boolean;
    joint: boolean;
};
/** A store holding both models' parameters and every table once (shared tables are one object). */
export declare function combinedStore(models: readonly (Model | null)[], extra?: ParamStore): ParamStore;
/** Dense optimiser over the parameters, lazy sparse one over the tables, as the config says. */
export declare function buildOptimizers(store: ParamStore, cfg: ExperimentConfig['optimizer']): Record<string, Optimizer>;
/** Scores a model's outputs over a dataset in file order (no gradients). */
export declare function predictLogits(model: Model, data: ColumnarDataset, outputs: readonly string[], batchSize?: number): Record<string, Float32Array>;
export declare function train(opts: TrainOptions): TrainResult;
