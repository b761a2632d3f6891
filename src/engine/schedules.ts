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

export function lrAt(lr: LearningRate, step: number): number {
  return typeof lr === 'number' ? lr : lr(step);
}

function checkPositiveInt(name: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: ${what} must be an integer ≥ 1, got ${v}`);
}

export function constant(lr: number): Schedule {
  return () => lr;
}

/** Linear warm-up from base/W to base over `warmupSteps`, then `after` (shifted so it starts at 0). */
export function linearWarmup(base: number, warmupSteps: number, after: Schedule = constant(base)): Schedule {
  checkPositiveInt('linearWarmup', 'warmupSteps', warmupSteps);
  return (step) => (step < warmupSteps ? (base * (step + 1)) / warmupSteps : after(step - warmupSteps));
}

/** Linear from `base` at step 0 to `endLr` at `totalSteps`, constant afterwards. */
export function linearDecay(base: number, totalSteps: number, endLr = 0): Schedule {
  checkPositiveInt('linearDecay', 'totalSteps', totalSteps);
  return (step) => (step >= totalSteps ? endLr : base + ((endLr - base) * step) / totalSteps);
}

/** Half-cosine from `base` at step 0 to `endLr` at `totalSteps`, constant afterwards. */
export function cosine(base: number, totalSteps: number, endLr = 0): Schedule {
  checkPositiveInt('cosine', 'totalSteps', totalSteps);
  return (step) =>
    step >= totalSteps ? endLr : endLr + 0.5 * (base - endLr) * (1 + Math.cos((Math.PI * step) / totalSteps));
}

/** Step decay: base · gamma^floor(step / stepSize). */
export function stepDecay(base: number, stepSize: number, gamma: number): Schedule {
  checkPositiveInt('stepDecay', 'stepSize', stepSize);
  return (step) => base * gamma ** Math.floor(step / stepSize);
}
