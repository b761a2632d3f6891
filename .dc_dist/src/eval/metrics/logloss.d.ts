/**
 * Binary log loss (cross-entropy) of predicted probabilities:
 *   LogLoss = −(1/n) Σ_i [ y_i·log p_i + (1 − y_i)·log(1 − p_i) ],
 * with p clipped to [eps, 1 − eps] so one confident mistake gives a large finite loss instead of
 * Infinity (the convention of scikit-learn's log_loss). Labels may be soft targets in [0, 1].
 * Probabilities outside [0, 1] are rejected: they almost always mean logits were passed.
 */
import { type NumberArray } from './ranks.js';
export declare const DEFAULT_LOGLOSS_EPS = 1e-7;
export declare function logLoss(labels: NumberArray, probabilities: NumberArray, eps?: number): number;
/** Throws at the first value outside [0, 1] (or NaN), naming the array and index. */
export declare function checkProbabilities(what: string, name: string, a: ArrayLike<number>): void;
