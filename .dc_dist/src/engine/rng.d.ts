/**
 * Seeded pseudo-random numbers: same seed ⇒ same sequence ⇒ bit-identical losses.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's "Small Fast Chaotic" generator from PractRand), 128 bits
 * of state, passes PractRand/BigCrush, and needs only 32-bit integer ops, which V8 keeps in
 * registers. The four state words are filled from the seed with splitmix32 (the 32-bit variant of
 * Vigna's splitmix64 finaliser) so that nearby seeds (1, 2, 3) give unrelated streams, and the first
 * 12 outputs are discarded, as the PractRand reference seeding does.
 */
export declare class Rng {
    readonly seed: number;
    private a;
    private b;
    private c;
    private d;
    /** Second Box–Muller deviate, kept so `normal()` consumes one pair per two calls. */
    private spare;
    private hasSpare;
    constructor(seed: number);
    /** Uniform 32-bit unsigned integer (sfc32 step). */
    nextU32(): number;
    /** Uniform in [0, 1) with 32 bits of resolution (never returns 1). */
    nextFloat(): number;
    /** Uniform in [lo, hi). */
    uniform(lo: number, hi: number): number;
    /** Standard normal deviate (Box–Muller, polar-free form; 1 − u keeps log's argument in (0, 1]). */
    normal(): number;
    /**
     * Uniform integer in [0, n), without modulo bias (Lemire's multiply-shift with rejection).
     * n must be an integer in [1, 2^32].
     */
    int(n: number): number;
    /** Fisher–Yates shuffle in place; returns the same array. */
    shuffle<T, A extends {
        length: number;
        [i: number]: T;
    }>(arr: A): A;
    /**
     * An independent stream named by `label`, derived from this generator's seed and the label only
     * (not from how many numbers this generator has produced), so adding a draw somewhere never
     * changes another component's stream: `rng.fork('dropout')` is the same at any point in time.
     */
    fork(label: string): Rng;
    /** The full generator state (for checkpoints); `setState` restores it exactly. */
    getState(): Float64Array;
    setState(state: ArrayLike<number>): void;
}
