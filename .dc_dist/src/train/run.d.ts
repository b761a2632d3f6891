import type { LoadedDataset } from '../data/dataset.js';
import type { Schema } from '../data/schema.js';
import type { Model } from '../models/types.js';
import { type ExperimentConfig } from './config.js';
import { type PreparedRunData, type SampleKind } from './data.js';
import { type AucFn, type EvalRecord, type TrainProgress, type TrainResult } from './trainer.js';
export interface RunOptions {
    /** Run directory; default `<config.outDir>/<config.name>-<UTC timestamp>`. */
    runDir?: string;
    /** Write no run directory at all (library use, tests). */
    noRunDir?: boolean;
    resume?: boolean;
    /** The config file, copied into the run directory as written. */
    configFile?: string;
    teacherScores?: string;
    /** An already loaded dataset (the experiment runner loads once for many runs). */
    dataset?: LoadedDataset;
    auc?: AucFn;
    onProgress?: (p: TrainProgress) => void;
    onEval?: (r: EvalRecord) => void;
    log?: (msg: string) => void;
}
export interface RunResult extends TrainResult {
    prepared: PreparedRunData;
    runDir: string | null;
}
/** `kdrec teacher train`: the same config, training only its teacher (on exposures). */
export declare function teacherOnly(cfg: ExperimentConfig): ExperimentConfig;
export declare function runFromConfig(cfg: ExperimentConfig, opts?: RunOptions): Promise<RunResult>;
export interface LoadedRun {
    config: ExperimentConfig;
    teacher: Model | null;
    student: Model | null;
    /** The checkpoint the weights came from. */
    checkpoint: string;
}
/**
 * Rebuilds a finished run's models and loads its selected weights (`best.safetensors`, else the
 * latest checkpoint). The schema must be the one the run trained with (same dataset and split):
 * a mismatch in any table or layer shape is refused by the checkpoint loader, naming the tensor.
 */
export declare function loadRun(runDir: string, schema: Schema): LoadedRun;
export interface TeacherScoreResult {
    /** Rows scored (the training split's samples, which the student run will rebuild). */
    rows: number;
    columns: string[];
    /** Teacher logits (main output) and labels on the VALIDATION split's samples, for diagnostics. */
    diagnostic: {
        logits: Float32Array;
        labels: Float32Array;
        isRandomNegative: Uint8Array;
        userKey: Int32Array;
        itemKey: Int32Array;
        output: string;
        label: string;
    };
    samples: SampleKind;
}
/**
 * `kdrec teacher score`: scores the student's sample set of the training split with the run's
 * teacher and writes the logits file; also scores the validation split's samples so the caller can
 * report the teacher's AUC and calibration on random negatives it never saw as exposures.
 */
export declare function teacherScoreRun(runDir: string, opts: {
    samples: SampleKind;
    out: string;
    dataset?: LoadedDataset;
    log?: (msg: string) => void;
}): Promise<TeacherScoreResult>;
