/**
 * Weight initialisers. Each fills `w` in place given the layer's fan-in and fan-out:
 * - Xavier/Glorot (Glorot & Bengio, AISTATS 2010, eq. 16): Var(w) = 2 / (fanIn + fanOut), for
 *   tanh/linear layers; uniform on ±sqrt(6 / (fanIn + fanOut)) or normal with that variance.
 * - He/Kaiming (He et al., ICCV 2015, eq. 10): Var(w) = 2 / fanIn, for ReLU layers; uniform on
 *   ±sqrt(6 / fanIn) or normal with that variance.
 */
import type { Rng } from './rng.js';

export type Initializer = (w: Float32Array, fanIn: number, fanOut: number, rng: Rng) => void;

function checkFans(name: string, fanIn: number, fanOut: number): void {
  if (!(fanIn > 0 && fanOut > 0))
    throw new Error(`${name}: fanIn and fanOut must be > 0, got ${fanIn}, ${fanOut}`);
}

function fillUniform(w: Float32Array, limit: number, rng: Rng): void {
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng.nextFloat() - 1) * limit;
}

function fillNormal(w: Float32Array, std: number, rng: Rng): void {
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
}

export const xavierUniform: Initializer = (w, fanIn, fanOut, rng) => {
  checkFans('xavierUniform', fanIn, fanOut);
  fillUniform(w, Math.sqrt(6 / (fanIn + fanOut)), rng);
};

export const xavierNormal: Initializer = (w, fanIn, fanOut, rng) => {
  checkFans('xavierNormal', fanIn, fanOut);
  fillNormal(w, Math.sqrt(2 / (fanIn + fanOut)), rng);
};

export const heUniform: Initializer = (w, fanIn, fanOut, rng) => {
  checkFans('heUniform', fanIn, fanOut);
  fillUniform(w, Math.sqrt(6 / fanIn), rng);
};

export const heNormal: Initializer = (w, fanIn, fanOut, rng) => {
  checkFans('heNormal', fanIn, fanOut);
  fillNormal(w, Math.sqrt(2 / fanIn), rng);
};

/** Normal(0, std²), independent of the fans (e.g. embeddings, commonly std 0.01–0.1). */
export function normal(std: number): Initializer {
  if (!(std >= 0)) throw new Error(`normal: std must be ≥ 0, got ${std}`);
  return (w, _fanIn, _fanOut, rng) => fillNormal(w, std, rng);
}

/** Uniform on [−limit, limit), independent of the fans. */
export function uniform(limit: number): Initializer {
  if (!(limit >= 0)) throw new Error(`uniform: limit must be ≥ 0, got ${limit}`);
  return (w, _fanIn, _fanOut, rng) => fillUniform(w, limit, rng);
}

export const zeros: Initializer = (w) => {
  w.fill(0);
};

/** A constant fill (layer-norm gains start at 1). */
export function constant(value: number): Initializer {
  return (w) => {
    w.fill(value);
  };
}
