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

const onesCache = new Map<number, Float32Array>();

/** A constant tensor of ones (inputs are never written to, so one buffer per size is shared). */
export function ones(g: Graph, shape: readonly number[]): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  let buf = onesCache.get(n);
  if (buf === undefined) {
    buf = new Float32Array(n).fill(1);
    onesCache.set(n, buf);
  }
  return g.input(buf, shape);
}

/** −|z| = z − 2·relu(z) (gradient exact at 0, see the header). */
export function negAbs(g: Graph, z: Tensor): Tensor {
  return g.sub(z, g.scale(g.relu(z), 2));
}

/** log(1 + e^{−|z|}), the bounded part of softplus: in (0, log 2]. */
function log1pExpNegAbs(g: Graph, z: Tensor): Tensor {
  const e = g.exp(negAbs(g, z));
  return g.log(g.add(e, ones(g, e.shape)));
}

/** softplus(z) = log(1 + e^z), stable for any z. */
export function softplus(g: Graph, z: Tensor): Tensor {
  return g.add(g.relu(z), log1pExpNegAbs(g, z));
}

/** log σ(x) = −softplus(−x), stable for any x (≈ x for x ≪ 0, ≈ −e^{−x} for x ≫ 0). */
export function logSigmoid(g: Graph, x: Tensor): Tensor {
  return g.scale(softplus(g, g.scale(x, -1)), -1);
}

/** log(e^x + e^y), stable for any x, y. */
export function logAddExp(g: Graph, x: Tensor, y: Tensor): Tensor {
  const d = g.sub(x, y);
  const max = g.add(y, g.relu(d));
  return g.add(max, log1pExpNegAbs(g, d));
}
