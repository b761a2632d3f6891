/**
 * Binary log loss (cross-entropy) of predicted probabilities:
 *   LogLoss = −(1/n) Σ_i [ y_i·log p_i + (1 − y_i)·log(1 − p_i) ],
 * with p clipped to [eps, 1 − eps] so one confident mistake gives a large finite loss instead of
 * Infinity (the convention of scikit-learn's log_loss). Labels may be soft targets in [0, 1].
 * Probabilities outside [0, 1] are rejected: they almost always mean logits were passed.
 */
import { checkSameLength, type NumberArray } from './ranks.js';

export const DEFAULT_LOGLOSS_EPS = 1e-7;

export function logLoss(labels: NumberArray, probabilities: NumberArray, eps = DEFAULT_LOGLOSS_EPS): number {
  checkSameLength('logLoss', 'labels', labels, 'probabilities', probabilities);
  if (labels.length === 0) throw new Error('logLoss: no rows');
  if (!(eps > 0 && eps < 0.5)) throw new Error(`logLoss: eps must be in (0, 0.5), got ${eps}`);
  checkProbabilities('logLoss', 'labels', labels);
  checkProbabilities('logLoss', 'probabilities', probabilities);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    const p = Math.min(1 - eps, Math.max(eps, probabilities[i]!));
    sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
  }
  return sum / labels.length;
}

/** Throws at the first value outside [0, 1] (or NaN), naming the array and index. */
export function checkProbabilities(what: string, name: string, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (!(v >= 0 && v <= 1)) {
      throw new Error(
        `${what}: ${name}[${i}] is ${v}; expected a probability in [0, 1] (were logits passed?)`,
      );
    }
  }
}
