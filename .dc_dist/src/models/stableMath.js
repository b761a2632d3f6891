const onesCache = new Map();
/** A constant tensor of ones (inputs are never written to, so one buffer per size is shared). */
export function ones(g, shape) {
    let n = 1;
    for (const d of shape)
        n *= d;
    let buf = onesCache.get(n);
    if (buf === undefined) {
        buf = new Float32Array(n).fill(1);
        onesCache.set(n, buf);
    }
    return g.input(buf, shape);
}
/** −|z| = z − 2·relu(z) (gradient exact at 0, see the header). */
export function negAbs(g, z) {
    return g.sub(z, g.scale(g.relu(z), 2));
}
/** log(1 + e^{−|z|}), the bounded part of softplus: in (0, log 2]. */
function log1pExpNegAbs(g, z) {
    const e = g.exp(negAbs(g, z));
    return g.log(g.add(e, ones(g, e.shape)));
}
/** softplus(z) = log(1 + e^z), stable for any z. */
export function softplus(g, z) {
    return g.add(g.relu(z), log1pExpNegAbs(g, z));
}
/** log σ(x) = −softplus(−x), stable for any x (≈ x for x ≪ 0, ≈ −e^{−x} for x ≫ 0). */
export function logSigmoid(g, x) {
    return g.scale(softplus(g, g.scale(x, -1)), -1);
}
/** log(e^x + e^y), stable for any x, y. */
export function logAddExp(g, x, y) {
    const d = g.sub(x, y);
    const max = g.add(y, g.relu(d));
    return g.add(max, log1pExpNegAbs(g, d));
}
//# sourceMappingURL=stableMath.js.map