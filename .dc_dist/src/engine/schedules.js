export function lrAt(lr, step) {
    return typeof lr === 'number' ? lr : lr(step);
}
function checkPositiveInt(name, what, v) {
    if (!Number.isInteger(v) || v < 1)
        throw new Error(`${name}: ${what} must be an integer ≥ 1, got ${v}`);
}
export function constant(lr) {
    return () => lr;
}
/** Linear warm-up from base/W to base over `warmupSteps`, then `after` (shifted so it starts at 0). */
export function linearWarmup(base, warmupSteps, after = constant(base)) {
    checkPositiveInt('linearWarmup', 'warmupSteps', warmupSteps);
    return (step) => (step < warmupSteps ? (base * (step + 1)) / warmupSteps : after(step - warmupSteps));
}
/** Linear from `base` at step 0 to `endLr` at `totalSteps`, constant afterwards. */
export function linearDecay(base, totalSteps, endLr = 0) {
    checkPositiveInt('linearDecay', 'totalSteps', totalSteps);
    return (step) => (step >= totalSteps ? endLr : base + ((endLr - base) * step) / totalSteps);
}
/** Half-cosine from `base` at step 0 to `endLr` at `totalSteps`, constant afterwards. */
export function cosine(base, totalSteps, endLr = 0) {
    checkPositiveInt('cosine', 'totalSteps', totalSteps);
    return (step) => step >= totalSteps ? endLr : endLr + 0.5 * (base - endLr) * (1 + Math.cos((Math.PI * step) / totalSteps));
}
/** Step decay: base · gamma^floor(step / stepSize). */
export function stepDecay(base, stepSize, gamma) {
    checkPositiveInt('stepDecay', 'stepSize', stepSize);
    return (step) => base * gamma ** Math.floor(step / stepSize);
}
//# sourceMappingURL=schedules.js.map