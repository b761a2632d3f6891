/**
 * Forward + backward time of a dense MLP on the autograd Graph (issue 2 engine benchmark):
 * x [1024, 128] → 256 → 128 → 64 with relu, loss = mse against a fixed target, Graph reused
 * with reset() as a trainer does. Prints one JSON line per kernel provider run.
 *
 *   npx tsx bench/graphMlp.ts [--batch 1024] [--steps 20] [--warmup 3]
 *
 * The active kernel provider is chosen as usual (KDREC_KERNELS=js|wasm|native).
 */
import { Graph } from '../src/engine/graph.js';
import { getKernels } from '../src/engine/kernels/index.js';
import { Tensor } from '../src/engine/tensor.js';
function arg(name, dflt) {
    const i = process.argv.indexOf(`--${name}`);
    if (i < 0)
        return dflt;
    const v = Number(process.argv[i + 1]);
    if (!Number.isInteger(v) || v <= 0)
        throw new Error(`--${name}: expected a positive integer, got '${process.argv[i + 1]}'`);
    return v;
}
const batch = arg('batch', 1024);
const steps = arg('steps', 20);
const warmup = arg('warmup', 3);
const dims = [128, 256, 128, 64];
let seed = 12345;
function uniform(n, scale) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        out[i] = ((seed / 4294967296) * 2 - 1) * scale;
    }
    return out;
}
const layers = dims.slice(1).map((out, i) => {
    const inp = dims[i];
    return {
        W: new Tensor(uniform(inp * out, Math.sqrt(6 / (inp + out))), [inp, out], true, `W${i}`),
        b: new Tensor(new Float32Array(out), [out], true, `b${i}`),
    };
});
const x = uniform(batch * dims[0], 1);
const target = uniform(batch * dims[dims.length - 1], 1);
const g = new Graph({ training: true });
function step() {
    g.reset();
    let h = g.input(x, [batch, dims[0]]);
    layers.forEach((l, i) => {
        h = g.linear(h, l.W, l.b);
        if (i < layers.length - 1)
            h = g.relu(h);
    });
    const loss = g.mse(h, g.input(target, [batch, dims[dims.length - 1]]));
    g.backward(loss);
    for (const l of layers) {
        l.W.zeroGrad();
        l.b.zeroGrad();
    }
    return loss.data[0];
}
for (let i = 0; i < warmup; i++)
    step();
const times = [];
for (let i = 0; i < steps; i++) {
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const macs = dims.slice(1).reduce((s, out, i) => s + dims[i] * out, 0) * batch * 3;
console.log(JSON.stringify({
    bench: 'graph-mlp',
    kernels: getKernels().name,
    batch,
    dims,
    steps,
    msPerStepMedian: Number(median.toFixed(2)),
    msPerStepMin: Number(times[0].toFixed(2)),
    gflops: Number(((2 * macs) / (median * 1e6)).toFixed(2)),
    arenaAllocations: g.arenaAllocations,
}));
//# sourceMappingURL=graphMlp.js.map