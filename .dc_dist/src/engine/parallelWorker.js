/**
 * A data-parallel worker (rank ≥ 1) for parallel.ts: builds the model from its factory, adopts
 * rank 0's shared parameter memory, then loops: wait for a shard, forward + backward, publish the
 * shard-weighted gradients into shared buffers, signal done. See parallel.ts for the protocol.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Graph } from './graph.js';
import { CTRL_STRIDE, loadFactory, SHUTDOWN, StepRng, scaleGrads, } from './parallel.js';
const { init, errors } = workerData;
async function main() {
    const factory = await loadFactory(init.factory);
    const model = factory(init.factory.config);
    const params = model.store.params();
    const tables = model.store.tables();
    if (params.length !== init.params.length || tables.length !== init.tables.length) {
        throw new Error(`worker ${init.rank}: factory built ${params.length} parameters and ${tables.length} tables, rank 0 has ${init.params.length} and ${init.tables.length}`);
    }
    params.forEach((p, i) => {
        const data = new Float32Array(init.params[i]);
        if (data.length !== p.size)
            throw new Error(`worker ${init.rank}: parameter '${p.name}' has ${p.size} values, rank 0's has ${data.length}`);
        p.data = data;
        // The graph accumulates this rank's gradient straight into the shared buffer rank 0 reduces.
        p.grad = new Float32Array(init.buffers.denseGrads[i]);
    });
    tables.forEach((t, i) => {
        const data = new Float32Array(init.tables[i]);
        if (data.length !== t.weight.size)
            throw new Error(`worker ${init.rank}: table '${t.name}' size differs from rank 0's`);
        t.weight.data = data;
    });
    const cols = {};
    for (const [name, spec] of Object.entries(init.columns)) {
        cols[name] =
            spec.type === 'i32'
                ? new Int32Array(init.buffers.cols[name])
                : new Float32Array(init.buffers.cols[name]);
    }
    const sparseRows = init.buffers.sparseRows.map((b) => new Int32Array(b));
    const sparseGrads = init.buffers.sparseGrads.map((b) => new Float32Array(b));
    const sparseCounts = new Int32Array(init.buffers.sparseCounts);
    const lossOut = new Float64Array(init.buffers.loss);
    const ctrl = new Int32Array(init.ctrl);
    const c = (init.rank - 1) * CTRL_STRIDE;
    const dropout = new StepRng();
    const graph = new Graph({ training: true, rng: dropout });
    parentPort.postMessage({ ready: true });
    let seen = 0;
    for (;;) {
        Atomics.wait(ctrl, c, seen);
        const gen = Atomics.load(ctrl, c);
        if (gen === SHUTDOWN)
            return;
        seen = gen;
        lastGen = gen;
        dropout.at(init.seed, init.rank, gen);
        try {
            const rows = Atomics.load(ctrl, c + 1);
            const batch = { rows, cols: {} };
            for (const [name, spec] of Object.entries(init.columns))
                batch.cols[name] = cols[name].subarray(0, rows * spec.width);
            for (const p of params)
                p.grad.fill(0);
            graph.reset();
            const loss = model.loss(graph, batch);
            graph.backward(loss);
            lossOut[0] = loss.data[0];
            // Weight n_r / B makes the sum over ranks the gradient of the full-batch mean loss.
            scaleGrads(params, tables, rows / Atomics.load(ctrl, c + 2));
            tables.forEach((t, i) => {
                const sg = t.sparseGrad();
                sparseCounts[i] = sg.nRows;
                sparseRows[i].set(sg.rows.subarray(0, sg.nRows));
                sparseGrads[i].set(sg.grad.subarray(0, sg.nRows * t.dim));
                t.zeroGrad();
            });
            Atomics.store(ctrl, c + 4, 0);
        }
        catch (err) {
            errors.postMessage({ error: err instanceof Error ? err.message : String(err) });
            Atomics.store(ctrl, c + 4, 1);
        }
        Atomics.store(ctrl, c + 3, gen);
        Atomics.notify(ctrl, c + 3);
    }
}
// Anything escaping the step loop (it catches per-step errors itself) still reaches rank 0, which
// would otherwise wait on this worker's done flag for a step that never finishes.
let lastGen = 0;
function reportFatal(err) {
    errors.postMessage({ error: err instanceof Error ? err.message : String(err) });
    const ctrl = new Int32Array(init.ctrl);
    const c = (init.rank - 1) * CTRL_STRIDE;
    Atomics.store(ctrl, c + 4, 1);
    Atomics.store(ctrl, c + 3, Math.max(lastGen, Atomics.load(ctrl, c)));
    Atomics.notify(ctrl, c + 3);
}
process.on('uncaughtException', reportFatal);
main().catch((err) => {
    reportFatal(err);
    parentPort.postMessage({ ready: false, error: err instanceof Error ? err.message : String(err) });
});
//# sourceMappingURL=parallelWorker.js.map