function checkFans(name, fanIn, fanOut) {
    if (!(fanIn > 0 && fanOut > 0))
        throw new Error(`${name}: fanIn and fanOut must be > 0, got ${fanIn}, ${fanOut}`);
}
function fillUniform(w, limit, rng) {
    for (let i = 0; i < w.length; i++)
        w[i] = (2 * rng.nextFloat() - 1) * limit;
}
function fillNormal(w, std, rng) {
    for (let i = 0; i < w.length; i++)
        w[i] = rng.normal() * std;
}
export const xavierUniform = (w, fanIn, fanOut, rng) => {
    checkFans('xavierUniform', fanIn, fanOut);
    fillUniform(w, Math.sqrt(6 / (fanIn + fanOut)), rng);
};
export const xavierNormal = (w, fanIn, fanOut, rng) => {
    checkFans('xavierNormal', fanIn, fanOut);
    fillNormal(w, Math.sqrt(2 / (fanIn + fanOut)), rng);
};
export const heUniform = (w, fanIn, fanOut, rng) => {
    checkFans('heUniform', fanIn, fanOut);
    fillUniform(w, Math.sqrt(6 / fanIn), rng);
};
export const heNormal = (w, fanIn, fanOut, rng) => {
    checkFans('heNormal', fanIn, fanOut);
    fillNormal(w, Math.sqrt(2 / fanIn), rng);
};
/** Normal(0, std²), independent of the fans (e.g. embeddings, commonly std 0.01–0.1). */
export function normal(std) {
    if (!(std >= 0))
        throw new Error(`normal: std must be ≥ 0, got ${std}`);
    return (w, _fanIn, _fanOut, rng) => fillNormal(w, std, rng);
}
/** Uniform on [−limit, limit), independent of the fans. */
export function uniform(limit) {
    if (!(limit >= 0))
        throw new Error(`uniform: limit must be ≥ 0, got ${limit}`);
    return (w, _fanIn, _fanOut, rng) => fillUniform(w, limit, rng);
}
export const zeros = (w) => {
    w.fill(0);
};
/** A constant fill (layer-norm gains start at 1). */
export function constant(value) {
    return (w) => {
        w.fill(value);
    };
}
//# sourceMappingURL=init.js.map