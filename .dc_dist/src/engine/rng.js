/**
 * Seeded pseudo-random numbers: same seed ⇒ same sequence ⇒ bit-identical losses.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's "Small Fast Chaotic" generator from PractRand), 128 bits
 * of state, passes PractRand/BigCrush, and needs only 32-bit integer ops, which V8 keeps in
 * registers. The four state words are filled from the seed with splitmix32 (the 32-bit variant of
 * Vigna's splitmix64 finaliser) so that nearby seeds (1, 2, 3) give unrelated streams, and the first
 * 12 outputs are discarded, as the PractRand reference seeding does.
 */
export class Rng {
    seed;
    a = 0;
    b = 0;
    c = 0;
    d = 0;
    /** Second Box–Muller deviate, kept so `normal()` consumes one pair per two calls. */
    spare = 0;
    hasSpare = false;
    constructor(seed) {
        this.seed = seed;
        if (!Number.isFinite(seed))
            throw new Error(`Rng: seed must be a finite number, got ${seed}`);
        let s = seed >>> 0;
        // Fold the high bits of seeds ≥ 2^32 in, so e.g. 2^32 + 1 and 1 differ.
        s = (s ^ Math.floor(seed / 4294967296)) >>> 0;
        const next = () => {
            s = (s + 0x9e3779b9) | 0;
            let z = s;
            z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
            z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
            return (z ^ (z >>> 16)) >>> 0;
        };
        this.a = next();
        this.b = next();
        this.c = next();
        this.d = next();
        for (let i = 0; i < 12; i++)
            this.nextU32();
    }
    /** Uniform 32-bit unsigned integer (sfc32 step). */
    nextU32() {
        const t = (((this.a + this.b) | 0) + this.d) | 0;
        this.d = (this.d + 1) | 0;
        this.a = this.b ^ (this.b >>> 9);
        this.b = (this.c + (this.c << 3)) | 0;
        this.c = (this.c << 21) | (this.c >>> 11);
        this.c = (this.c + t) | 0;
        return t >>> 0;
    }
    /** Uniform in [0, 1) with 32 bits of resolution (never returns 1). */
    nextFloat() {
        return this.nextU32() / 4294967296;
    }
    /** Uniform in [lo, hi). */
    uniform(lo, hi) {
        return lo + (hi - lo) * this.nextFloat();
    }
    /** Standard normal deviate (Box–Muller, polar-free form; 1 − u keeps log's argument in (0, 1]). */
    normal() {
        if (this.hasSpare) {
            this.hasSpare = false;
            return this.spare;
        }
        const u = 1 - this.nextFloat();
        const v = this.nextFloat();
        const r = Math.sqrt(-2 * Math.log(u));
        const th = 2 * Math.PI * v;
        this.spare = r * Math.sin(th);
        this.hasSpare = true;
        return r * Math.cos(th);
    }
    /**
     * Uniform integer in [0, n), without modulo bias (Lemire's multiply-shift with rejection).
     * n must be an integer in [1, 2^32].
     */
    int(n) {
        if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
            throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
        }
        const threshold = 4294967296 % n;
        for (;;) {
            const x = this.nextU32();
            // The 64-bit product x·n: its high word is the result, its low word the rejection test.
            const prod = x * n;
            if (prod <= Number.MAX_SAFE_INTEGER) {
                const hi = Math.floor(prod / 4294967296);
                if (prod - hi * 4294967296 >= threshold)
                    return hi;
            }
            else {
                // Beyond 2^53 float64 is inexact, so use BigInt (only for n > 2^21).
                const big = BigInt(x) * BigInt(n);
                if (Number(big & 0xffffffffn) >= threshold)
                    return Number(big >> 32n);
            }
        }
    }
    /** Fisher–Yates shuffle in place; returns the same array. */
    shuffle(arr) {
        for (let i = arr.length - 1; i > 0; i--) {
            const j = this.int(i + 1);
            const tmp = arr[i];
            arr[i] = arr[j];
            arr[j] = tmp;
        }
        return arr;
    }
    /**
     * An independent stream named by `label`, derived from this generator's seed and the label only
     * (not from how many numbers this generator has produced), so adding a draw somewhere never
     * changes another component's stream: `rng.fork('dropout')` is the same at any point in time.
     */
    fork(label) {
        // FNV-1a over the label's UTF-16 code units, mixed with the seed.
        let h = 0x811c9dc5 ^ (this.seed >>> 0);
        for (let i = 0; i < label.length; i++) {
            h ^= label.charCodeAt(i);
            h = Math.imul(h, 0x01000193);
        }
        return new Rng((h ^ Math.imul((this.seed / 4294967296) >>> 0, 0x9e3779b1)) >>> 0);
    }
    /** The full generator state (for checkpoints); `setState` restores it exactly. */
    getState() {
        return Float64Array.of(this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0, this.hasSpare ? 1 : 0, this.spare);
    }
    setState(state) {
        if (state.length !== 6)
            throw new Error(`Rng.setState: expected 6 values, got ${state.length}`);
        this.a = state[0] | 0;
        this.b = state[1] | 0;
        this.c = state[2] | 0;
        this.d = state[3] | 0;
        this.hasSpare = state[4] === 1;
        this.spare = state[5];
    }
}
//# sourceMappingURL=rng.js.map