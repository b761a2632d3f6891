/**
 * Numerically stable log-probability building blocks composed from the engine's Graph ops, so they
 * are differentiable without the engine having to grow dedicated ops.
 *
 * softplus(z) = log(1 + e^z) = relu(z) + log(1 + e^{−|z|})   (never exponentiates a positive number)
 * logσ(x)     = −softplus(−x)
 * logaddexp(x, y) = max(x, y) + log(1 + e^{−|x−y|}),  max(x, y) = y + relu(x − y)
 *
 * −|z| is written z − 2·relu(z). With the engine's relu'(0) = 0 that gives d(−|z|)/dz = 1 at z = 0,
 * so softplus'(0) = 0 + σ(0)·1 = ½ and logaddexp's partials at x = y are ½ and ½ — the true
 * gradients, also at the kink (writing |z| as relu(z) + relu(−z) would give 0 there).
 */
import type { Graph } from '../engine/graph.js';
import type { Tensor } from '../engine/tensor.js';
/** A constant tensor of ones (inputs are never written to, so one buffer per size is shared). */
export declare function ones(g: Graph, shape: readonly number[]): Tensor;
/** −|z| = z − 2·relu(z) (gradient exact at 0, see the header). */
export declare function negAbs(g: Graph, z: Tensor): Tensor;
/** softplus(z) = log(1 + e^z), stable for any z. */
export declare function softplus(g: Graph, z: Tensor): Tensor;
/** log σ(x) = −softplus(−x), stable for any x (≈ x for x ≪ 0, ≈ −e^{−x} for x ≫ 0). */
export declare function logSigmoid(g: Graph, x: Tensor): Tensor;
/** log(e^x + e^y), stable for any x, y. */
export declare function logAddExp(g: Graph, x: Tensor, y: Tensor): Tensor;
