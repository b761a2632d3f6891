/**
 * Weight initialisers. Each fills `w` in place given the layer's fan-in and fan-out:
 * - Xavier/Glorot (Glorot & Bengio, AISTATS 2010, eq. 16): Var(w) = 2 / (fanIn + fanOut), for
 *   tanh/linear layers; uniform on ±sqrt(6 / (fanIn + fanOut)) or normal with that variance.
 * - He/Kaiming (He et al., ICCV 2015, eq. 10): Var(w) = 2 / fanIn, for ReLU layers; uniform on
 *   ±sqrt(6 / fanIn) or normal with that variance.
 */
import type { Rng } from './rng.js';
export type Initializer = (w: Float32Array, fanIn: number, fanOut: number, rng: Rng) => void;
export declare const xavierUniform: Initializer;
export declare const xavierNormal: Initializer;
export declare const heUniform: Initializer;
export declare const heNormal: Initializer;
/** Normal(0, std²), independent of the fans (e.g. embeddings, commonly std 0.01–0.1). */
export declare function normal(std: number): Initializer;
/** Uniform on [−limit, limit), independent of the fans. */
export declare function uniform(limit: number): Initializer;
export declare const zeros: Initializer;
/** A constant fill (layer-norm gains start at 1). */
export declare function constant(value: number): Initializer;
