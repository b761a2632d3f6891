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
{
    kind: 'constant';
    value: number;
}
/** λ = 0 for step < startStep, then λ = value (PFD warm-up). */
 | {
    kind: 'step';
    value: number;
    startStep: number;
}
/** λ = 0 for step ≤ startStep, value·(step − startStep)/(endStep − startStep) in between, value from endStep on. */
 | {
    kind: 'linear';
    value: number;
    startStep: number;
    endStep: number;
};
/**
 * How the hard-label loss and the distillation loss combine:
 * - `hard_plus_kd`: L = L_hard + λ·L_kd (PFD, eq. 3; Hinton et al. 2015 add the two terms).
 * - `convex`: L = (1 − λ)·L_hard + λ·L_kd (the interpolation form of Hinton et al. 2015 §2 and
 *   most recommender KD papers); requires λ ≤ 1.
 */
export type StudentObjective = 'hard_plus_kd' | 'convex';
export declare function validateLambdaSchedule(s: LambdaSchedule): void;
/** λ at optimiser step `step` (0-based). */
export declare function lambdaAt(s: LambdaSchedule, step: number): number;
/**
 * The first step at which λ has reached its final value: model selection in joint modes must not
 * pick a checkpoint before it (issue 9 item 4), since before it the student is not yet distilled.
 */
export declare function warmupEndStep(s: LambdaSchedule): number;
/** Coefficients (hard, kd) for one step; the trainer scales the two scalar losses by them. */
export declare function studentLossWeights(objective: StudentObjective, lambda: number): {
    hard: number;
    kd: number;
};
