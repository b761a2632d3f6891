import { type NumberArray } from './ranks.js';
export interface ReliabilityBin {
    /** Bin bounds on the predicted probability, [lo, hi) (the last bin includes hi = 1). */
    lo: number;
    hi: number;
    count: number;
    /** NaN for an empty bin. */
    meanPredicted: number;
    observedRate: number;
}
export interface CalibrationResult {
    /** Σ predicted / Σ observed. */
    ratio: number;
    meanPredicted: number;
    observedRate: number;
    /** Expected calibration error over the non-empty bins. */
    ece: number;
    bins: ReliabilityBin[];
}
export interface CalibrationOptions {
    /** Number of bins (default 10). */
    bins?: number;
    /**
     * 'uniform': equal-width bins on [0, 1] (default). 'quantile': equal-count bins, better when
     * predictions crowd near 0, as click probabilities do.
     */
    strategy?: 'uniform' | 'quantile';
}
export declare function calibration(labels: NumberArray, probabilities: NumberArray, options?: CalibrationOptions): CalibrationResult;
