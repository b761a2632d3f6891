/**
 * Kernel micro-benchmark: GFLOP/s of sgemm per provider on the dssm-ref shapes at batch 1024 (every
 * transpose case a training step uses), the dense-layer time of one whole dssm-ref step, and the
 * embedding kernels' time. Medians of several runs; the machine may be shared, so treat small
 * differences as noise.
 *
 *   npx tsx bench/kernels.ts [--reps 7] [--json]
 *
 * Providers that are not built are listed as skipped. The native provider is run with 1 and 2
 * OpenBLAS threads.
 */
import { loadProvider, providerLoadError } from '../src/engine/kernels/index.js';
import { Rng } from '../src/engine/rng.js';
const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1] ?? 7) || 7;
const asJson = args.includes('--json');
const BATCH = 1024;
/** The sgemms of one dssm-ref training step: per tower layer (in → out), forward X·W,
 * backward dX = dY·Wᵀ (skipped for the first layer, whose input is the embeddings… which do
 * need it: the embedding gradient flows through it) and dW = Xᵀ·dY. */
function dssmRefShapes() {
    const towers = [
        { name: 'user', dims: [4 * 32, 256, 128, 64] },
        { name: 'item', dims: [3 * 32, 256, 128, 64] },
    ];
    const out = [];
    for (const t of towers) {
        for (let l = 0; l + 1 < t.dims.length; l++) {
            const i = t.dims[l];
            const o = t.dims[l + 1];
            out.push({
                label: `${t.name} fwd X·W ${BATCH}x${i}·${i}x${o}`,
                transA: false,
                transB: false,
                M: BATCH,
                N: o,
                K: i,
            });
            out.push({
                label: `${t.name} bwd dY·Wᵀ ${BATCH}x${o}·(${i}x${o})ᵀ`,
                transA: false,
                transB: true,
                M: BATCH,
                N: i,
                K: o,
            });
            out.push({
                label: `${t.name} bwd Xᵀ·dY (${BATCH}x${i})ᵀ·${BATCH}x${o}`,
                transA: true,
                transB: false,
                M: i,
                N: o,
                K: BATCH,
            });
        }
    }
    return out;
}
function randomArray(rng, n) {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++)
        a[i] = rng.uniform(-1, 1);
    return a;
}
function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}
/** Median milliseconds of `fn` over `reps` runs after one warm-up run. */
function timeMs(fn, runs = reps) {
    fn();
    const ts = [];
    for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        fn();
        ts.push(performance.now() - t0);
    }
    return median(ts);
}
const rng = new Rng(1);
const headline = {
    label: `A·B ${BATCH}x128·128x256`,
    transA: false,
    transB: false,
    M: BATCH,
    N: 256,
    K: 128,
};
const shapes = [headline, ...dssmRefShapes()];
const data = shapes.map((s) => ({
    A: randomArray(rng, s.M * s.K),
    B: randomArray(rng, s.K * s.N),
    C: new Float32Array(s.M * s.N),
}));
const rows = [];
const stepRows = [];
const embRows = [];
const variants = [];
for (const name of ['js', 'wasm', 'native']) {
    const k = loadProvider(name);
    if (k === null) {
        process.stderr.write(`skipped ${name}: ${providerLoadError(name)}\n`);
        continue;
    }
    if (name === 'native') {
        const nk = k;
        // Each variant sets its thread count right before it runs (see below).
        variants.push({ label: 'native(1 blas thread)', k: nk });
        variants.push({ label: 'native(2 blas threads)', k: nk });
    }
    else
        variants.push({ label: name, k });
}
for (const { label, k } of variants) {
    if (k.name === 'native')
        k.setBlasThreads(label.includes('2 blas') ? 2 : 1);
    // The TypeScript sgemm is ~100× slower than native; fewer runs keep the script short.
    const runs = k.name === 'js' ? Math.min(reps, 5) : reps;
    let stepMs = 0;
    shapes.forEach((s, i) => {
        const d = data[i];
        const ms = timeMs(() => k.sgemm(s.transA, s.transB, s.M, s.N, s.K, 1, d.A, d.B, 0, d.C), runs);
        rows.push({ provider: label, shape: s.label, gflops: (2 * s.M * s.N * s.K) / ms / 1e6, ms });
        if (i > 0)
            stepMs += ms;
    });
    stepRows.push({
        provider: label,
        denseMsPerStep: stepMs,
        denseSamplesPerSecBound: (BATCH / stepMs) * 1000,
    });
    // Embedding kernels at dssm-ref scale: item_id table 200,000 × 32, one id per row of the batch,
    // and Adam on 1,024 touched rows.
    const dim = 32;
    const vocab = 200_000;
    const table = randomArray(rng, vocab * dim);
    const ids = new Int32Array(BATCH);
    for (let i = 0; i < BATCH; i++)
        ids[i] = rng.nextU32() % vocab;
    const out = new Float32Array(BATCH * dim);
    const slotOf = Int32Array.from(ids.keys());
    const rowGrad = new Float32Array(BATCH * dim);
    const m = new Float32Array(vocab * dim);
    const v = new Float32Array(vocab * dim);
    embRows.push({
        provider: label,
        kernel: 'gatherPool 1024 ids from 200000x32',
        ms: timeMs(() => k.gatherPool(table, dim, ids, BATCH, 1, 0, out)),
    });
    embRows.push({
        provider: label,
        kernel: 'scatterAddRows 1024 rows x32',
        ms: timeMs(() => k.scatterAddRows(out, dim, ids, slotOf, BATCH, 1, 0, rowGrad)),
    });
    embRows.push({
        provider: label,
        kernel: 'adamRows 1024 rows x32',
        ms: timeMs(() => k.adamRows(table, m, v, rowGrad, ids, BATCH, dim, 1e-3, 0.9, 0.999, 1e-8, 0.1, 0.001, 0)),
    });
}
if (asJson) {
    process.stdout.write(`${JSON.stringify({ reps, sgemm: rows, denseStep: stepRows, embedding: embRows })}\n`);
}
else {
    const providers = variants.map((v) => v.label);
    console.log(`sgemm GFLOP/s (median of ${reps}; batch ${BATCH})`);
    console.log(['shape'.padEnd(44), ...providers.map((p) => p.padStart(24))].join(''));
    for (const s of shapes) {
        const cells = providers.map((p) => {
            const r = rows.find((x) => x.provider === p && x.shape === s.label);
            return r.gflops.toFixed(1).padStart(24);
        });
        console.log([s.label.padEnd(44), ...cells].join(''));
    }
    console.log('\ndssm-ref dense layers, one training step (18 sgemms):');
    for (const r of stepRows) {
        console.log(`  ${r.provider.padEnd(24)} ${r.denseMsPerStep.toFixed(2)} ms/step  → ≤ ${Math.round(r.denseSamplesPerSecBound)} samples/s from sgemm alone`);
    }
    console.log('\nembedding kernels (ms, median):');
    for (const r of embRows)
        console.log(`  ${r.provider.padEnd(24)} ${r.kernel.padEnd(40)} ${r.ms.toFixed(3)}`);
}
//# sourceMappingURL=kernels.js.map