import type { ColumnarDataset } from '../data/batch.js';
import type { LoadedDataset, SplitName } from '../data/dataset.js';
import type { ExperimentConfig } from './config.js';
import type { TrainData } from './trainer.js';
export type SampleKind = 'exposure' | 'recall';
/**
 * Loads the dataset of a config. For `sim:DIR` with a `simulate` block, a missing DIR is first
 * simulated (so the example configs run on a fresh clone without a separate step).
 */
export declare function loadConfigDataset(cfg: ExperimentConfig, log?: (msg: string) => void): Promise<LoadedDataset>;
/** The sample set of one split; recall samples are seeded by (run seed, split). */
export declare function samplesOf(ds: LoadedDataset, cfg: ExperimentConfig, kind: SampleKind, split: SplitName): ColumnarDataset;
/** Which samples a run of this config trains its models on. */
export declare function trainingSampleKind(cfg: ExperimentConfig): SampleKind;
export interface PreparedRunData {
    dataset: LoadedDataset;
    data: TrainData;
    samples: SampleKind;
}
/**
 * Everything `train` needs for a config. `teacherScores` overrides `dataset.teacherScores` (the
 * CLI's --teacher-scores).
 */
export declare function prepareRunData(cfg: ExperimentConfig, opts?: {
    teacherScores?: string;
    log?: (msg: string) => void;
    dataset?: LoadedDataset;
}): Promise<PreparedRunData>;
