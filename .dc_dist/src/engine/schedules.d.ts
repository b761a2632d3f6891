/**
 * Learning-rate schedules: pure functions of the 0-based optimiser step (the step about to be
 * taken). Optimisers accept either a number (constant) or one of these.
 *
 * Conventions, chosen so that no step is wasted at lr = 0 and the boundaries are easy to state:
 * - linear warm-up over W steps: step s < W uses base·(s+1)/W, so step W−1 is the first at base;
 * - linear decay and cosine reach `endLr` at step `totalSteps` and stay there;
 * - cosine follows SGDR (Loshchilov & Hutter, ICLR 2017, eq. 5) without restarts.
 */
export type Schedule = (step: number) => number;
export type LearningRate = number | Schedule;
export declare function lrAt(lr: LearningRate, step: number): number;
export declare function constant(lr: number): Schedule;
/** Linear warm-up from base/W to base over `warmupSteps`, then `after` (shifted so it starts at 0). */
export declare function linearWarmup(base: number, warmupSteps: number, after?: Schedule): Schedule;
/** Linear from `base` at step 0 to `endLr` at `totalSteps`, constant afterwards. */
export declare function linearDecay(base: number, totalSteps: number, endLr?: number): Schedule;
/** Half-cosine from `base` at step 0 to `endLr` at `totalSteps`, constant afterwards. */
export declare function cosine(base: number, totalSteps: number, endLr?: number): Schedule;
/** Step decay: base · gamma^floor(step / stepSize). */
export declare function stepDecay(base: number, stepSize: number, gamma: number): Schedule;
