/**
 * λ schedules for the distillation weight, and the two ways of mixing it into the student loss.
 *
 * Why a schedule at all: in joint (synchronous) training the teacher starts as random as the
 * student, and an under-fit teacher steering the student early hurts it. PFD (Xu et al., "Privileged
 * Features Distillation at Taobao Recommendations", KDD'20, §3.3) trains with λ = 0 for a warm-up
 * of k steps and a fixed λ afterwards; a linear ramp is the smooth variant of the same idea.
 *
 * Steps are counted from 0: `step` is the number of optimiser steps already taken when the loss of
 * the current batch is computed, so `step = 0` is the very first batch.
 */

export type LambdaSchedule =
  /** λ = value for every step. */
  | { kind: 'constant'; value: number }
  /** λ = 0 for step < startStep, then λ = value (PFD warm-up). */
  | { kind: 'step'; value: number; startStep: number }
  /** λ = 0 for step ≤ startStep, value·(step − startStep)/(endStep − startStep) in between, value from endStep on. */
  | { kind: 'linear'; value: number; startStep: number; endStep: number };

/**
 * How the hard-label loss and the distillation loss combine:
 * - `hard_plus_kd`: L = L_hard + λ·L_kd (PFD, eq. 3; Hinton et al. 2015 add the two terms).
 * - `convex`: L = (1 − λ)·L_hard + λ·L_kd (the interpolation form of Hinton et al. 2015 §2 and
 *   most recommender KD papers); requires λ ≤ 1.
 */
export type StudentObjective = 'hard_plus_kd' | 'convex';

export function validateLambdaSchedule(s: LambdaSchedule): void {
  if (!Number.isFinite(s.value) || s.value < 0) {
    throw new Error(`lambda schedule: value must be a finite number >= 0, got ${s.value}`);
  }
  if (s.kind === 'step' && (!Number.isInteger(s.startStep) || s.startStep < 0)) {
    throw new Error(`lambda schedule: startStep must be an integer >= 0, got ${s.startStep}`);
  }
  if (s.kind === 'linear') {
    if (!Number.isInteger(s.startStep) || s.startStep < 0) {
      throw new Error(`lambda schedule: startStep must be an integer >= 0, got ${s.startStep}`);
    }
    if (!Number.isInteger(s.endStep) || s.endStep <= s.startStep) {
      throw new Error(
        `lambda schedule: endStep must be an integer > startStep (${s.startStep}), got ${s.endStep}`,
      );
    }
  }
}

/** λ at optimiser step `step` (0-based). */
export function lambdaAt(s: LambdaSchedule, step: number): number {
  switch (s.kind) {
    case 'constant':
      return s.value;
    case 'step':
      return step < s.startStep ? 0 : s.value;
    case 'linear':
      if (step <= s.startStep) return 0;
      if (step >= s.endStep) return s.value;
      return (s.value * (step - s.startStep)) / (s.endStep - s.startStep);
  }
}

/**
 * The first step at which λ has reached its final value: model selection in joint modes must not
 * pick a checkpoint before it (issue 9 item 4), since before it the student is not yet distilled.
 */
export function warmupEndStep(s: LambdaSchedule): number {
  switch (s.kind) {
    case 'constant':
      return 0;
    case 'step':
      return s.startStep;
    case 'linear':
      return s.endStep;
  }
}

/** Coefficients (hard, kd) for one step; the trainer scales the two scalar losses by them. */
export function studentLossWeights(
  objective: StudentObjective,
  lambda: number,
): { hard: number; kd: number } {
  if (objective === 'convex') {
    if (lambda > 1) {
      throw new Error(`objective 'convex' needs lambda <= 1 (the hard loss gets 1 - lambda), got ${lambda}`);
    }
    return { hard: 1 - lambda, kd: lambda };
  }
  return { hard: 1, kd: lambda };
}
