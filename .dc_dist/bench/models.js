/**
 * Training-step throughput of every model in src/models on the simulator's schema: forward, hard
 * loss, backward, Adam (dense) + lazy SparseAdam (tables), as a trainer runs them. Simulates a world
 * into a temporary directory (or reads `--data sim:DIR`), then times `--steps` steps per model after
 * `--warmup` steps and repeats `--runs` times; prints one JSON line per model with the median
 * samples/s and the spread.
 *
 *   npx tsx bench/models.ts [--batch 1024] [--steps 30] [--warmup 3] [--runs 5] [--data sim:DIR]
 *
 * The active kernel provider is chosen as usual (KDREC_KERNELS=js|wasm|native).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/loaders/index.js';
import { simulate } from '../src/data/simulator.js';
import { Graph } from '../src/engine/graph.js';
import { getKernels } from '../src/engine/kernels/index.js';
import { Adam, SparseAdam } from '../src/engine/optim.js';
import { Rng } from '../src/engine/rng.js';
import { createModel, TableRegistry } from '../src/models/index.js';
const { values } = parseArgs({
    options: {
        batch: { type: 'string', default: '1024' },
        steps: { type: 'string', default: '30' },
        warmup: { type: 'string', default: '3' },
        runs: { type: 'string', default: '5' },
        data: { type: 'string' },
    },
});
function int(name, v) {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0)
        throw new Error(`--${name}: expected a positive integer, got '${v}'`);
    return n;
}
const batchSize = int('batch', values.batch);
const steps = int('steps', values.steps);
const warmup = int('warmup', values.warmup);
const runs = int('runs', values.runs);
let tmp = null;
let spec = values.data;
if (spec === undefined) {
    tmp = mkdtempSync(join(tmpdir(), 'kdrec-bench-models-'));
    await simulate({ out: tmp, users: 5000, items: 10000, days: 3, seed: 42 });
    spec = `sim:${tmp}`;
}
const ds = await loadDataset(spec);
const train = ds.splits.train;
if (train.size < batchSize)
    throw new Error(`${spec}: train split has ${train.size} rows, fewer than --batch ${batchSize}`);
const SPECS = [
    { type: 'ranking-dnn' },
    { type: 'mmoe-esmm' },
    { type: 'two-tower' },
    { type: 'fm' },
    { type: 'prerank-mlp' },
];
const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
for (const s of SPECS) {
    const rates = [];
    let params = 0;
    for (let r = 0; r < runs; r++) {
        const model = createModel(s, ds.schema, new TableRegistry(), new Rng(r + 1), { labels: ds.labels });
        params = model.store.count();
        const dense = new Adam(model.store.params(), { lr: 1e-3 });
        const sparse = new SparseAdam(model.store.tables(), { lr: 1e-3 });
        const g = new Graph({ training: true, rng: new Rng(99) });
        const it = train.batches({ batchSize, rng: new Rng(7), dropLast: true });
        let t0 = 0;
        for (let step = 0; step < warmup + steps; step++) {
            if (step === warmup)
                t0 = performance.now();
            const next = it.next();
            if (next.done)
                throw new Error(`${spec}: ran out of batches; lower --steps or --batch`);
            const batch = next.value;
            g.reset();
            const loss = model.hardLoss(g, model.forward(g, batch), batch).total;
            g.backward(loss);
            dense.step();
            sparse.step();
        }
        rates.push((steps * batchSize) / ((performance.now() - t0) / 1000));
    }
    console.log(JSON.stringify({
        model: s.type,
        batch: batchSize,
        steps,
        runs,
        kernels: getKernels().name,
        params,
        samplesPerSecMedian: Math.round(median(rates)),
        samplesPerSecMin: Math.round(Math.min(...rates)),
        samplesPerSecMax: Math.round(Math.max(...rates)),
    }));
}
if (tmp)
    rmSync(tmp, { recursive: true, force: true });
//# sourceMappingURL=models.js.map