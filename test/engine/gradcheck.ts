/**
 * Finite-difference gradient checking for the autograd Graph.
 *
 * `gradcheck(build, params)` builds an output y = build(g) (any shape), defines the objective
 * L = Σ_i r_i · y_i with fixed pseudo-random r_i, evaluated in float64 from y's values, and
 * compares the analytic gradient (g.backward(y, r)) with the central difference
 * (L(x + h) − L(x − h)) / ((x + h) − (x − h)) for every parameter value.
 *
 * Why this is sound with a float32 graph: the objective sum and the difference quotient are
 * computed in float64, so the only float32 error is the rounding of each y_i (relative 6e-8) and of
 * the perturbed input. The perturbed input is rounded to float32, so the denominator uses the
 * step actually taken, not h. With h = 1e-2 the rounding term is ≈ 6e-8·Σ|r·y| / h ≈ 1e-5 while the
 * truncation error of the central difference is O(h²·f''') ≈ 1e-4 for well-conditioned inputs of
 * magnitude ~1, so a tolerance of 1e-2 relative (+1e-3 absolute) is far below the error of a wrong
 * sign, a missing factor of 2 or a dropped term, all of which give relative errors ≥ 0.5.
 */
import assert from 'node:assert/strict';
import type { EmbeddingTable } from '../../src/engine/embedding.js';
import { Graph, type UniformSource } from '../../src/engine/graph.js';
import { Tensor } from '../../src/engine/tensor.js';

/** xorshift32 uniform source in [0, 1): deterministic, for fixtures and dropout in tests. */
export class TestRng implements UniformSource {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  nextU32(): number {
    let s = this.s;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    this.s = s;
    return s;
  }
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }
}

/** Values uniform in [lo, hi), deterministic from seed. */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = new TestRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.nextFloat();
  return out;
}

/** A parameter-like leaf tensor (requiresGrad) with random values. */
export function param(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  return new Tensor(randomValues(n, seed, lo, hi), shape, true, `p${seed}`);
}

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-2). */
  h?: number;
  rtol?: number;
  atol?: number;
  /** Embedding tables whose weights are also checked (against their sparse gradient). */
  tables?: EmbeddingTable[];
  /** Graph training flag (default true). */
  training?: boolean;
  /** Seed of the Graph's rng, re-created identically for every evaluation (dropout). */
  rngSeed?: number;
}

export interface GradcheckResult {
  /** Number of values compared. */
  checked: number;
  /** Largest |analytic| seen: lets a test assert the check was not vacuous. */
  maxAbsGrad: number;
}

export function gradcheck(
  build: (g: Graph) => Tensor,
  params: Tensor[],
  opts: GradcheckOptions = {},
): GradcheckResult {
  const h = opts.h ?? 1e-2;
  const rtol = opts.rtol ?? 1e-2;
  const atol = opts.atol ?? 1e-3;
  const tables = opts.tables ?? [];
  const training = opts.training ?? true;
  const rngSeed = opts.rngSeed ?? 1234;
  const newGraph = (): Graph => new Graph({ training, rng: new TestRng(rngSeed) });

  // Analytic pass.
  for (const p of params) p.grad = null;
  for (const t of tables) t.zeroGrad();
  const g = newGraph();
  const y = build(g);
  const r = randomValues(y.size, 99, -1, 1);
  g.backward(y, r);
  const objective = (): number => {
    const out = build(newGraph()).data;
    let s = 0;
    for (let i = 0; i < out.length; i++) s += r[i] * out[i];
    return s;
  };

  let checked = 0;
  let maxAbsGrad = 0;
  const compare = (values: Float32Array, analytic: (i: number) => number, what: string): void => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      values[i] = v + h;
      const up = values[i];
      const lp = objective();
      values[i] = v - h;
      const down = values[i];
      const lm = objective();
      values[i] = v;
      const numeric = (lp - lm) / (up - down);
      const a = analytic(i);
      maxAbsGrad = Math.max(maxAbsGrad, Math.abs(a));
      const err = Math.abs(a - numeric);
      if (!(err <= atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)))) {
        assert.fail(`${what}[${i}]: analytic ${a}, finite difference ${numeric} (|err| ${err})`);
      }
      checked++;
    }
  };

  params.forEach((p, k) => {
    const grad = p.grad;
    compare(p.data, (i) => (grad === null ? 0 : grad[i]), `param ${k} ${p.name} [${p.shape.join(', ')}]`);
  });
  for (const t of tables) {
    const dense = new Float64Array(t.vocab * t.dim);
    const sg = t.sparseGrad();
    for (let rr = 0; rr < sg.nRows; rr++) {
      for (let d = 0; d < t.dim; d++) dense[sg.rows[rr] * t.dim + d] += sg.grad[rr * t.dim + d];
    }
    compare(t.weight.data, (i) => dense[i], `table '${t.name}'`);
  }
  return { checked, maxAbsGrad };
}
